"""The Bot API session: a method without files goes as one JSON body.

aiogram's session posts every method as form data: it prepares each field, JSON-encodes
the nested ones (the keyboard, the link-preview options) one by one and URL-encodes the
lot. In the outbound benchmark at 1000 msg/s that was about a sixth of the sender's CPU,
which is what bounds the rate there. The Bot API takes `application/json` as well, with
the same fields as JSON values; this session sends that, encoded once. A method with a
file (a /mydata export) still goes as multipart form data, the only way to upload.

Most replies carry a keyboard that many other replies carry too (handlers.replies builds
each distinct one once, frozen). A frozen object is prepared for the body once and
reused: preparing the keyboard again, field by field, was the larger part of building a
reply's request. aiogram's own keyboards may be changed after they are built, so any
object that is not frozen is prepared every time it is sent.

A text message, the bulk of what Rapport sends (replies and the outbox), has a shorter way
still (`send_message_id`): its body is built straight from the chat, the text, the
keyboard and the bot's defaults, and only the sent message's id is read back, without
aiogram's method object or response model. Those are built only to raise aiogram's own
error for a refusal, and the whole aiogram way is taken while request middlewares are
registered on the session.

An answer is read with a response model (`Response[Message]`, ...) that the session keeps
for each kind of result. aiogram asks pydantic for it on every call, and pydantic keeps
such classes only weakly: the look-up cost a reply's send more than the validation, and
after a garbage collection the class was built again (about 10 ms).
"""

from collections.abc import Iterator
from http import HTTPStatus
from itertools import chain
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError
from aiogram.methods import Response, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, TelegramObject
from aiohttp import ClientError, ClientTimeout, FormData
from aiohttp.payload import JsonPayload

# Distinct objects whose prepared form is kept; past that the store starts afresh.
PREPARED_KEPT = 1024


class JsonSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (id of the bot, id of the object) -> (bot, object, prepared form). Holding the
        # bot and the object keeps their ids from being reused by other objects.
        self._prepared: dict[tuple[int, int], tuple[Bot, TelegramObject, Any]] = {}
        self._response_models: dict[Any, type[Response[Any]]] = {}
        # id of the bot -> (bot, sendMessage's fields that default to the bot's defaults,
        # prepared: link_preview_options and the like).
        self._message_defaults: dict[int, tuple[Bot, dict[str, Any]]] = {}

    async def send_message_id(
        self,
        bot: Bot,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> int:
        """sendMessage; the id of the sent message. Raises what `bot(SendMessage(...))`
        would for a refusal or a network error."""

        def method() -> SendMessage:
            return SendMessage(chat_id=chat_id, text=text, reply_markup=reply_markup)

        if len(self.middleware):  # they expect aiogram's method object: the long way
            sent = await bot(method())
            return sent.message_id
        body: dict[str, Any] = {"chat_id": chat_id, "text": text, **self._defaults_of(bot)}
        if reply_markup is not None:
            body["reply_markup"] = self._prepared_value(reply_markup, bot, {})
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method="sendMessage")
        try:
            payload = JsonPayload(body, dumps=self.json_dumps)
            timeout = ClientTimeout(total=self.timeout)
            async with session.post(url, data=payload, timeout=timeout) as response:
                status, content = response.status, await response.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method(), "Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(method(), f"{type(error).__name__}: {error}") from error
        if HTTPStatus.OK <= status <= HTTPStatus.IM_USED:
            message_id = _message_id(self.json_loads, content)
            if message_id is not None:
                return message_id
        # A refusal, or an answer without a message: aiogram's check raises what it means.
        super().check_response(bot, method(), status, content)
        raise ClientDecodeError("No message id in the answer", ValueError(content), content)

    def _defaults_of(self, bot: Bot) -> dict[str, Any]:
        kept = self._message_defaults.get(id(bot))
        if kept is None:
            defaults = {}
            for name, field in SendMessage.model_fields.items():
                if isinstance(field.default, Default):
                    value = self.prepare_value(field.default, bot=bot, files={}, _dumps_json=False)
                    if value:
                        defaults[name] = value
            kept = self._message_defaults[id(bot)] = (bot, defaults)
        return kept[1]

    def _prepared_value(self, value: Any, bot: Bot, files: dict[str, Any]) -> Any:
        if isinstance(value, TelegramObject) and value.model_config.get("frozen"):
            return self._prepare_frozen(value, bot, files)
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    # aiohttp posts either kind of body; aiogram's annotation names only the form.
    def build_form_data(  # type: ignore[override]
        self, bot: Bot, method: TelegramMethod[Any]
    ) -> FormData | JsonPayload:
        files: dict[str, Any] = {}
        body = {}
        for key, value in _values(method):
            prepared = self._prepared_value(value, bot, files)
            if prepared:  # what the form leaves out too: unset, empty, False
                body[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return JsonPayload(body, dumps=self.json_dumps)

    def _prepare_frozen(self, value: TelegramObject, bot: Bot, files: dict[str, Any]) -> Any:
        key = (id(bot), id(value))
        kept = self._prepared.get(key)
        if kept is not None:
            return kept[2]
        found: dict[str, Any] = {}
        prepared = self.prepare_value(value, bot=bot, files=found, _dumps_json=False)
        if found:  # an upload is never reused
            files.update(found)
            return prepared
        if len(self._prepared) >= PREPARED_KEPT:
            self._prepared.clear()
        self._prepared[key] = (bot, value, prepared)
        return prepared

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                response = self._response_model(method).model_validate(
                    self.json_loads(content), context={"bot": bot}
                )
            except ValueError:  # not JSON, or not a response: aiogram's check names it
                response = None
            if response is not None and response.ok:
                return response
        # An error, or an answer that does not parse: aiogram's check raises what it means.
        return super().check_response(bot, method, status_code, content)

    def _response_model(self, method: TelegramMethod[Any]) -> type[Response[Any]]:
        returning = method.__returning__
        model = self._response_models.get(returning)
        if model is None:
            model = self._response_models[returning] = Response[returning]  # type: ignore[valid-type]
        return model


def _message_id(json_loads: Any, content: str) -> int | None:
    """The message id of a successful answer to sendMessage; None if it is not one."""
    try:
        answer = json_loads(content)
    except ValueError:
        return None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        return None
    result = answer.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return message_id if isinstance(message_id, int) else None


def _values(method: TelegramMethod[Any]) -> Iterator[tuple[str, Any]]:
    """The method's fields (extras too) that hold a value, as they are: what model_dump
    gives without converting each nested object into a dict that prepare_value then walks
    again (most of a sendMessage's twenty fields are None)."""
    for key, value in chain(method.__dict__.items(), (method.__pydantic_extra__ or {}).items()):
        if value is not None:
            yield key, value

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
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import Response, TelegramMethod
from aiogram.types import TelegramObject
from aiohttp import FormData
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

    # aiohttp posts either kind of body; aiogram's annotation names only the form.
    def build_form_data(  # type: ignore[override]
        self, bot: Bot, method: TelegramMethod[Any]
    ) -> FormData | JsonPayload:
        files: dict[str, Any] = {}
        body = {}
        for key, value in _values(method):
            if isinstance(value, TelegramObject) and value.model_config.get("frozen"):
                prepared = self._prepare_frozen(value, bot, files)
            else:
                prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
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


def _values(method: TelegramMethod[Any]) -> Iterator[tuple[str, Any]]:
    """The method's fields (extras too) that hold a value, as they are: what model_dump
    gives without converting each nested object into a dict that prepare_value then walks
    again (most of a sendMessage's twenty fields are None)."""
    for key, value in chain(method.__dict__.items(), (method.__pydantic_extra__ or {}).items()):
        if value is not None:
            yield key, value

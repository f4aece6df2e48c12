"""The bot's session posts a method as one JSON body, and Telegram (here the sandbox) sees
the same message it would from aiogram's form data; a file still goes as a form."""

from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import FormData
from aiohttp.payload import JsonPayload

from bot.session import JsonSession
from handlers.replies import SendText, SentMessage, keyboard
from sandbox.client import SandboxClient
from tests.bot.conftest import TOKEN


def _bot(session: AiohttpSession) -> Bot:
    return Bot(TOKEN, session=session, default=DefaultBotProperties(link_preview_is_disabled=True))


def _as_seen(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in {"message_id", "date"}}


async def test_a_message_arrives_the_same_as_from_the_form(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    fan = await sandbox.create_user(first_name="Ann")
    api = TelegramAPIServer.from_base(sandbox_url)
    method = SendMessage(
        chat_id=fan["id"],
        text="Hello, Ann! See https://example.com/bags",
        reply_markup=keyboard([[("Yes, happy to", "d:yes"), ("No", "d:no")]]),
        disable_notification=True,
    )
    for session in (AiohttpSession(api=api), JsonSession(api=api)):
        bot = _bot(session)
        try:
            await bot(method)
        finally:
            await bot.session.close()
    form, json = [m.message for m in await sandbox.messages(fan["id"])]
    assert _as_seen(json) == _as_seen(form)
    assert json["text"] == "Hello, Ann! See https://example.com/bags"
    assert json["reply_markup"]["inline_keyboard"][0][1] == {"text": "No", "callback_data": "d:no"}


async def test_json_for_plain_methods_and_a_form_for_a_file(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    document = SendDocument(chat_id=1, document=BufferedInputFile(b'{"a": 1}', "mydata.json"))
    try:
        assert isinstance(
            session.build_form_data(bot, SendMessage(chat_id=1, text="hi")), JsonPayload
        )
        assert isinstance(session.build_form_data(bot, document), FormData)
        fan = await sandbox.create_user(first_name="Bo")
        await bot.send_document(fan["id"], BufferedInputFile(b'{"a": 1}', "mydata.json"))
    finally:
        await bot.session.close()
    [sent] = await sandbox.messages(fan["id"])
    assert sent.message["document"]["file_name"] == "mydata.json"


async def test_a_shared_keyboard_is_prepared_once_and_each_message_keeps_its_own(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    prepared: list[Any] = []
    prepare = session.prepare_value

    def counting(value: Any, **kwargs: Any) -> Any:
        if isinstance(value, InlineKeyboardMarkup):
            prepared.append(value)
        return prepare(value, **kwargs)

    session.prepare_value = counting  # type: ignore[method-assign]
    yes_no = keyboard([[("Yes", "d:yes"), ("No", "d:no")]])
    ok_only = keyboard([[("Ok", "d:ok")]])
    fan = await sandbox.create_user(first_name="Cy")
    try:
        await bot(SendMessage(chat_id=fan["id"], text="one", reply_markup=yes_no))
        await bot(SendMessage(chat_id=fan["id"], text="two", reply_markup=yes_no))
        await bot(SendMessage(chat_id=fan["id"], text="three", reply_markup=keyboard([])))
        await bot(
            SendMessage(chat_id=fan["id"], text="four", reply_markup=keyboard([[("Ok", "d:ok")]]))
        )
    finally:
        await bot.session.close()
    assert prepared == [yes_no, ok_only]

    sent = [m for m in await sandbox.messages(fan["id"]) if m.direction == "from_bot"]
    assert [m.text for m in sent] == ["one", "two", "three", "four"]
    assert [[[b["text"] for b in row] for row in m.buttons] for m in sent] == [
        [["Yes", "No"]],
        [["Yes", "No"]],
        [],
        [["Ok"]],
    ]


async def test_refusals_and_answers_that_do_not_parse_raise_what_they_mean(
    sandbox_url: str,
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    method = SendMessage(chat_id=1, text="hi")
    try:
        answer = '{"ok": true, "result": {"message_id": 5, "date": 0, "chat": {"id": 1}}}'
        sent = session.check_response(bot, SendText(chat_id=1, text="hi"), 200, answer)
        with pytest.raises(ClientDecodeError):  # a Message was expected
            session.check_response(bot, method, 200, '{"ok": true, "result": true}')
        with pytest.raises(ClientDecodeError):
            session.check_response(bot, method, 200, "<html>bad gateway</html>")
        with pytest.raises(TelegramRetryAfter) as retry:
            session.check_response(
                bot,
                method,
                429,
                '{"ok": false, "error_code": 429, "description": "Too Many Requests",'
                ' "parameters": {"retry_after": 7}}',
            )
        with pytest.raises(TelegramForbiddenError):
            session.check_response(
                bot, method, 403, '{"ok": false, "description": "bot was blocked by the user"}'
            )
    finally:
        await bot.session.close()
    assert isinstance(sent.result, SentMessage)
    assert sent.result.message_id == 5
    assert retry.value.retry_after == 7


async def test_a_keyboard_that_may_change_is_prepared_every_time(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="d:yes")]]
    )
    fan = await sandbox.create_user(first_name="Di")
    try:
        await bot(SendMessage(chat_id=fan["id"], text="one", reply_markup=markup))
        markup.inline_keyboard[0].append(InlineKeyboardButton(text="No", callback_data="d:no"))
        await bot(SendMessage(chat_id=fan["id"], text="two", reply_markup=markup))
    finally:
        await bot.session.close()
    sent = [m for m in await sandbox.messages(fan["id"]) if m.direction == "from_bot"]
    assert [[[b["text"] for b in row] for row in m.buttons] for m in sent] == [
        [["Yes"]],
        [["Yes", "No"]],
    ]


async def test_a_text_by_the_short_way_arrives_as_aiogram_would_send_it(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    """`send_message_id` builds no method object, yet Telegram sees the same message:
    the bot's defaults (no link preview) and the keyboard included."""
    fan = await sandbox.create_user(first_name="Eve")
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    markup = keyboard([[("Yes, happy to", "d:yes"), ("No", "d:no")]])
    text = "Hello, Eve! See https://example.com/bags"
    try:
        await bot(SendMessage(chat_id=fan["id"], text=text, reply_markup=markup))
        message_id = await session.send_message_id(bot, fan["id"], text, markup)
        plain_id = await session.send_message_id(bot, fan["id"], "no buttons")
    finally:
        await bot.session.close()
    long_way, short_way, plain = [m.message for m in await sandbox.messages(fan["id"])]
    assert _as_seen(short_way) == _as_seen(long_way)
    assert "link_preview_options" in short_way or "link_preview_options" not in long_way
    assert (short_way["message_id"], plain["message_id"]) == (message_id, plain_id)
    assert "reply_markup" not in plain


async def test_the_short_way_raises_what_aiogram_raises(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    fan = await sandbox.create_user(first_name="Flo")
    await sandbox.block(fan["id"])
    try:
        with pytest.raises(TelegramForbiddenError) as refused:
            await session.send_message_id(bot, fan["id"], "hi")
        with pytest.raises(TelegramBadRequest):
            await session.send_message_id(bot, fan["id"], "")  # an empty text
        closed = JsonSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9"))
        with pytest.raises(TelegramNetworkError):
            await closed.send_message_id(_bot(closed), fan["id"], "hi")
        await closed.close()
    finally:
        await bot.session.close()
    assert isinstance(refused.value.method, SendMessage)
    assert refused.value.method.text == "hi"


async def test_with_request_middlewares_the_short_way_goes_through_them(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    session = JsonSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = _bot(session)
    seen: list[str] = []

    async def middleware(make_request: Any, bot: Bot, method: Any) -> Any:
        seen.append(type(method).__name__)
        return await make_request(bot, method)

    session.middleware(middleware)
    fan = await sandbox.create_user(first_name="Gus")
    try:
        message_id = await session.send_message_id(bot, fan["id"], "hi")
    finally:
        await bot.session.close()
    assert seen == ["SendMessage"]
    [sent] = await sandbox.messages(fan["id"])
    assert sent.message["message_id"] == message_id

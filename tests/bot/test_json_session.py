"""The bot's session posts a method as one JSON body, and Telegram (here the sandbox) sees
the same message it would from aiogram's form data; a file still goes as a form."""

from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile
from aiohttp import FormData
from aiohttp.payload import JsonPayload

from bot.session import JsonSession
from handlers.replies import keyboard
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

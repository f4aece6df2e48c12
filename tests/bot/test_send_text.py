"""Replies and outbox sends go out as a full sendMessage and read back only the id."""

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from handlers.replies import send_text
from sandbox.client import SandboxClient
from tests.bot.conftest import TOKEN


async def test_a_text_with_buttons_arrives_whole_and_its_id_comes_back(
    sandbox: SandboxClient, sandbox_url: str
) -> None:
    fan = await sandbox.create_user(first_name="Ann")
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url)))
    try:
        buttons = [[("Yes, happy to", "d:yes"), ("No, thanks", "d:no")]]
        first = await send_text(bot, fan["id"], "Hello, Ann!", buttons)
        second = await send_text(bot, fan["id"], "Still there?", [])
    finally:
        await bot.session.close()
    sent = [m for m in await sandbox.messages(fan["id"]) if m.direction == "from_bot"]
    assert [m.message_id for m in sent] == [first, second]
    assert first != second
    assert sent[0].text == "Hello, Ann!"
    assert [[b["text"] for b in row] for row in sent[0].buttons] == [
        ["Yes, happy to", "No, thanks"]
    ]
    assert sent[1].text == "Still there?"
    assert sent[1].buttons == []

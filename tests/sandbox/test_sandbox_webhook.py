"""Webhook delivery to a small aiohttp receiver, including failures and restarts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from sandbox.client import SandboxClient


class Receiver:
    """Records POSTed updates; can fail on purpose, be stopped and started again."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.fail_next = 0
        self.reply: dict[str, Any] | None = None
        self.port = _free_port()
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        update = await request.json()
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        self.received.append(update)
        self.arrived.set()
        if self.reply is not None:
            return web.json_response(self.reply)
        return web.Response()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, count: int, seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


async def test_delivery_with_secret_and_conflict(
    bot: Bot, sb: SandboxClient, fan: int, receiver: Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t-Token_1")
    await sb.send_text(fan, "hi hook")
    await receiver.wait_for(1)

    update = receiver.received[0]
    assert update["message"]["text"] == "hi hook"
    assert receiver.secrets == ["s3cr3t-Token_1"]
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates(timeout=0)
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0

    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_failed_delivery_is_retried(
    bot: Bot, sb: SandboxClient, fan: int, receiver: Receiver
) -> None:
    receiver.fail_next = 2
    await bot.set_webhook(receiver.url)
    await sb.send_text(fan, "retry me")
    await receiver.wait_for(1)
    assert len(receiver.secrets) == 3  # two refusals, then the same update accepted
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None
    assert "500" in info.last_error_message


async def test_delivery_survives_receiver_restart(
    bot: Bot, sb: SandboxClient, fan: int, receiver: Receiver
) -> None:
    await bot.set_webhook(receiver.url)
    await sb.send_text(fan, "m1")
    await receiver.wait_for(1)

    await receiver.stop()
    await sb.send_text(fan, "m2")
    await sb.send_text(fan, "m3")
    await asyncio.sleep(0.3)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 2
    assert info.last_error_message == "Connection refused"

    await receiver.start()
    await receiver.wait_for(3, seconds=6)
    texts = [u["message"]["text"] for u in receiver.received]
    assert texts == ["m1", "m2", "m3"]
    ids = [u["update_id"] for u in receiver.received]
    assert ids == sorted(ids)


async def test_webhook_reply_executes_method(
    bot: Bot, sb: SandboxClient, fan: int, receiver: Receiver
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": fan, "text": "answered inline"}
    await bot.set_webhook(receiver.url)
    sent = await sb.send_text(fan, "ping")
    replies = await sb.wait_for_messages(fan, 1, since_message_id=sent.message_id)
    assert replies[0].text == "answered inline"


async def test_drop_pending_updates(bot: Bot, sb: SandboxClient, fan: int) -> None:
    await sb.send_text(fan, "old")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == []


async def test_aiogram_webhook_handler_end_to_end(bot: Bot, sb: SandboxClient, fan: int) -> None:
    """aiogram's SimpleRequestHandler checks the secret and answers with a multipart
    method call, which the sandbox must execute.
    """
    from aiogram import Dispatcher
    from aiogram.methods import SendMessage
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="hook-secret").register(app, path="/tg")
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/tg", secret_token="hook-secret")
        said = await sb.send_text(fan, "über")
        replies = await sb.wait_for_messages(fan, 1, since_message_id=said.message_id)
        assert replies[0].text == "echo: über"
        assert (await sb.webhook_info())["failures"] == 0
    finally:
        await bot.delete_webhook()
        await runner.cleanup()

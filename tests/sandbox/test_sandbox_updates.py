"""getUpdates semantics, and a real aiogram Dispatcher polling the sandbox."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from sandbox.client import SandboxClient


async def test_offset_confirms_and_unconfirmed_repeat(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    await sb.send_text(fan, "one")
    await sb.send_text(fan, "two")

    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in first] == [u.update_id for u in again]
    assert first[1].update_id == first[0].update_id + 1
    assert [u.message.text for u in first if u.message] == ["one", "two"]

    limited = await bot.get_updates(offset=first[0].update_id + 1, limit=5, timeout=0)
    assert [u.update_id for u in limited] == [first[1].update_id]
    assert (await sb.updates())["confirmed"] == 1

    assert await bot.get_updates(offset=first[1].update_id + 1, timeout=0) == []
    counts = await sb.updates()
    assert counts["pending"] == 0
    assert counts["confirmed"] == 2


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.3)
    assert not poll.done()
    await sb.send_text(fan, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    assert time.monotonic() - started < 3


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 3


async def test_allowed_updates_filters_later_updates(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    sent = await bot.send_message(
        fan,
        "pick",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},  # type: ignore[arg-type]
    )
    assert await bot.get_updates(allowed_updates=["callback_query"], timeout=0) == []
    await sb.send_text(fan, "ignored")
    await sb.press_button(fan, sent.message_id, data="a")
    updates = await bot.get_updates(timeout=0)
    assert [u.callback_query is not None for u in updates] == [True]


async def test_newer_poll_terminates_older_one(bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, 5)


async def test_dispatcher_polling_end_to_end(bot: Bot, sb: SandboxClient, fan: int) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart(deep_link=True))
    async def on_start(message: Message, command: CommandObject) -> None:
        await message.answer(f"Welcome from {command.args}")

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text}")

    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        start = await sb.send_start(fan, "spring")
        replies = await sb.wait_for_messages(fan, 1, timeout=5, since_message_id=start.message_id)
        assert replies[0].text == "Welcome from spring"
        said = await sb.send_text(fan, "hello")
        replies = await sb.wait_for_messages(fan, 1, timeout=5, since_message_id=said.message_id)
        assert replies[0].text == "You said: hello"
    finally:
        await dp.stop_polling()
        await polling


async def test_wait_for_messages_times_out_with_what_arrived(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    await bot.send_message(fan, "only one")
    with pytest.raises(TimeoutError) as raised:
        await sb.wait_for_messages(fan, 2, timeout=0.3)
    assert "only one" in str(raised.value)

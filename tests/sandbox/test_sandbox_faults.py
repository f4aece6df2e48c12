"""Rate limits, 429 storms, server errors, dropped connections and statistics."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from sandbox.client import SandboxClient, SandboxError


async def test_private_chat_limit_answers_429(bot: Bot, sb: SandboxClient, fan: int) -> None:
    await sb.set_faults(chat_limits=True)
    await bot.send_message(fan, "first")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(fan, "second")
    assert raised.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in str(raised.value)
    # getUpdates is never rate limited.
    assert await bot.get_updates(timeout=0) == []
    stats = await sb.stats()
    assert stats["too_many_requests"] == 1
    assert stats["sent_messages"] == 1
    assert stats["calls"]["sendMessage"] == 2


async def test_stats_say_when_each_429_came_and_when_the_sandbox_itself_stalled(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    before = time.time()
    await sb.set_faults(chat_limits=True)
    await bot.send_message(fan, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(fan, "second")
    # The sandbox serves from this test's event loop: blocking it is a stall of the sandbox.
    time.sleep(0.2)  # noqa: ASYNC251
    await asyncio.sleep(0.05)
    stats = await sb.stats()
    [refused_at] = stats["too_many_requests_at"]
    assert before <= refused_at <= time.time()
    assert [late for _, late in stats["stalls"] if late >= 0.15], stats["stalls"]
    await sb.reset_stats()
    assert (await sb.stats())["stalls"] == []  # only the stalls since the stats began


async def test_group_limit_is_per_minute(bot: Bot, sb: SandboxClient) -> None:
    group = await sb.create_group("Staff", bot_status="administrator")
    await sb.set_faults(chat_limits=True, group_burst=2)
    await bot.send_message(group["chat"]["id"], "a")
    await bot.send_message(group["chat"]["id"], "b")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(group["chat"]["id"], "c")
    assert raised.value.retry_after == 3  # 20 per minute refills one every 3 s


async def test_global_limit(bot: Bot, sb: SandboxClient) -> None:
    fans = [(await sb.create_user(first_name=f"F{i}"))["id"] for i in range(3)]
    await sb.set_faults(global_limit=True, global_per_second=2, global_burst=2)
    await bot.send_message(fans[0], "a")
    await bot.send_message(fans[1], "b")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(fans[2], "c")


async def test_forced_storm(bot: Bot, sb: SandboxClient, fan: int) -> None:
    await sb.set_faults(storm_remaining=2, storm_retry_after=7)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as raised:
            await bot.send_message(fan, "x")
        assert raised.value.retry_after == 7
    assert (await bot.send_message(fan, "through")).text == "through"
    assert (await sb.faults())["storm_remaining"] == 0


async def test_server_errors_and_dropped_connections(
    bot: Bot, sb: SandboxClient, fan: int
) -> None:
    await sb.set_faults(error_rate=1.0, error_methods=["sendMessage"])
    with pytest.raises(TelegramServerError):
        await bot.send_message(fan, "x")
    assert (await bot.get_me()).is_bot  # other methods unaffected
    await sb.set_faults(error_rate=0.0, drop_rate=1.0)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(fan, "x")
    stats = await sb.stats()
    assert stats["server_errors"] == 1
    assert stats["dropped_connections"] == 1
    await sb.clear_faults()
    assert (await bot.send_message(fan, "ok")).text == "ok"


async def test_latency(bot: Bot, sb: SandboxClient) -> None:
    import time

    await sb.set_faults(latency_ms=200)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.19


async def test_bad_fault_setting_is_refused(sb: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="unknown fault setting"):
        await sb.set_faults(nonsense=True)


async def test_silent_block_list(bot: Bot, sb: SandboxClient, fan: int) -> None:
    from aiogram.exceptions import TelegramForbiddenError

    await sb.set_faults(blocked_user_ids=[fan])
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(fan, "x")
    assert (await sb.updates())["pending"] == 0

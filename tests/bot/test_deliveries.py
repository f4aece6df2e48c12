"""Replies go out in the background, in order per chat, bounded in number."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.deliveries import ChatDeliveries


def _send(
    log: list[str], name: str, seconds: float = 0.0, fail: bool = False
) -> Callable[[], Awaitable[None]]:
    async def send() -> None:
        await asyncio.sleep(seconds)
        if fail:
            raise RuntimeError(name)
        log.append(name)

    return send


async def test_a_chat_hears_its_replies_in_order_and_other_chats_do_not_wait() -> None:
    deliveries = ChatDeliveries(limit=10)
    log: list[str] = []
    await deliveries.start(1, _send(log, "fan 1, first", seconds=0.1))
    await deliveries.start(1, _send(log, "fan 1, second"))
    await deliveries.start(2, _send(log, "fan 2, first"))
    await deliveries.start(None, _send(log, "no chat"))
    await deliveries.wait()
    assert log.index("fan 1, first") < log.index("fan 1, second")
    assert log.index("fan 2, first") < log.index("fan 1, first")
    assert log.index("no chat") < log.index("fan 1, first")
    assert deliveries.in_flight == 0


async def test_no_more_than_the_limit_wait_to_go_out() -> None:
    deliveries = ChatDeliveries(limit=2)
    release = asyncio.Event()
    log: list[str] = []

    async def held() -> None:
        await release.wait()
        log.append("held")

    await deliveries.start(1, held)
    await deliveries.start(2, held)
    third = asyncio.create_task(deliveries.start(3, _send(log, "third")))
    await asyncio.sleep(0.05)
    assert not third.done()  # the processor waits for room instead of piling up replies
    release.set()
    await third
    await deliveries.wait()
    assert sorted(log) == ["held", "held", "third"]


async def test_a_failing_send_is_logged_and_the_chat_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliveries = ChatDeliveries(limit=10)
    log: list[str] = []
    with caplog.at_level(logging.ERROR, logger="bot.deliveries"):
        await deliveries.start(1, _send(log, "broken", fail=True))
        await deliveries.start(1, _send(log, "next"))
        await deliveries.wait()
    assert log == ["next"]
    assert "sending replies failed" in caplog.text


async def test_waiting_cancelled_cancels_the_sends_and_frees_their_room() -> None:
    deliveries = ChatDeliveries(limit=2)
    log: list[str] = []
    await deliveries.start(1, _send(log, "slow", seconds=30))
    await deliveries.start(2, _send(log, "also slow", seconds=30))
    waiter = asyncio.create_task(deliveries.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert deliveries.in_flight == 0
    assert log == []
    await asyncio.wait_for(
        deliveries.start(
            3,
            _send(log, "a"),
        ),
        1,
    )
    await asyncio.wait_for(deliveries.start(4, _send(log, "b")), 1)
    await deliveries.wait()
    assert sorted(log) == ["a", "b"]


async def test_sends_cancelled_before_they_began_give_their_room_back() -> None:
    deliveries = ChatDeliveries(limit=2)
    log: list[str] = []
    await deliveries.start(1, _send(log, "never"))
    await deliveries.start(2, _send(log, "never either"))
    deliveries.cancel()  # before either task ran a step
    await asyncio.sleep(0.01)
    await asyncio.wait_for(deliveries.start(3, _send(log, "after")), 1)
    await deliveries.wait()
    assert log == ["after"]

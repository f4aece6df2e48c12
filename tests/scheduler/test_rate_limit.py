"""The sender's rate limiter: the global rate, one chat's spacing, and no burst after a stall."""

import asyncio
import time

from scheduler.rate_limit import RateLimiter


async def _let_go_times(limiter: RateLimiter, chats: list[int]) -> list[float]:
    """When each acquire returned, in the order they returned."""
    times: list[float] = []

    async def send(chat_id: int) -> None:
        await limiter.acquire(chat_id)
        times.append(time.monotonic())

    await asyncio.gather(*(send(chat_id) for chat_id in chats))
    return sorted(times)


def _most_within(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_messages_go_at_the_configured_rate() -> None:
    times = await _let_go_times(RateLimiter(100, per_chat_interval=0.0), list(range(21)))
    assert times[-1] - times[0] >= 0.19  # 20 intervals of 10 ms


async def test_one_chat_waits_its_own_interval_without_holding_up_the_others() -> None:
    limiter = RateLimiter(1000, per_chat_interval=0.2)
    times = await _let_go_times(limiter, [7, 7, 1, 2, 3])
    assert times[-1] - times[0] >= 0.2  # the second message to chat 7
    assert times[3] - times[0] < 0.1  # chats 1, 2 and 3 did not wait for it


async def test_an_event_loop_stall_does_not_let_the_waiting_messages_out_at_once() -> None:
    rate = 50.0
    limiter = RateLimiter(rate, per_chat_interval=0.0)

    async def stall() -> None:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - a blocked event loop is what this test is about

    times, _ = await asyncio.gather(_let_go_times(limiter, list(range(12))), stall())
    # Before, every message whose planned slot passed during the stall went at its end,
    # together: Telegram's bucket answers such a burst with 429s.
    assert _most_within(times, 0.9 / rate) <= 2


def test_a_burst_of_429s_slows_down_once_and_a_later_one_again() -> None:
    now = [100.0]
    limiter = RateLimiter(30, clock=lambda: now[0])
    for _ in range(10):  # the sends in flight when the first 429 came, answered together
        limiter.too_many_requests(retry_after=2)
    assert limiter.rate == limiter.ceiling * 0.8
    now[0] += 1.0
    limiter.too_many_requests(retry_after=2)  # still paused: the same burst
    assert limiter.rate == limiter.ceiling * 0.8
    now[0] += 5.0  # the pause is over and a send is refused again
    limiter.too_many_requests(retry_after=2)
    assert limiter.rate == limiter.ceiling * 0.8 * 0.8


def test_the_planned_rate_stays_just_under_the_configured_one() -> None:
    limiter = RateLimiter(30)
    assert 0.97 * 30 <= limiter.rate < 30
    limiter.too_many_requests(retry_after=0)
    for _ in range(1000):
        limiter.succeeded()
    assert limiter.rate == limiter.ceiling

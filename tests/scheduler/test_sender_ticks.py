"""A sender tick begins batches for its budget (the tick due meanwhile waits for it), and
keeps about LEAD_SECONDS of sends queued, so the rate limiter never runs dry between ticks.

The claim and rendering are replaced by steps that advance a fake monotonic clock, so the
budget is checked exactly, whatever else the machine is doing.
"""

import asyncio
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import pytest

from handlers.replies import Replies, Reply
from scheduler import jobs
from scheduler import sender as sender_module
from scheduler.rate_limit import RateLimiter
from scheduler.sender import LEAD_SECONDS, Delivery, OutboxSender, _Batch


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class SenderWithoutDatabase(OutboxSender):
    async def _refresh_statistics(self) -> None:
        return None  # no database to look at


class TimedSender(SenderWithoutDatabase):
    """Every batch is full and takes `preparing` fake seconds to claim and render."""

    def __init__(self, clock: FakeMonotonic, preparing: float) -> None:
        super().__init__(None, None, None, lambda: None, None, batch_size=10)  # type: ignore[arg-type]
        self.fake = clock
        self.preparing = preparing
        self.prepared = 0

    async def _claim(self, except_fans: Collection[int]) -> list[int]:
        return list(range(self.batch_size))

    async def _prepare(self, row_ids: Sequence[int], now: datetime) -> _Batch:
        self.fake.now += self.preparing
        self.prepared += 1
        return _Batch()

    async def _send(self, batch: _Batch) -> None:
        return None


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(sender_module, "time", fake)
    return fake


async def test_a_tick_begins_batches_for_its_budget_and_ends_within_one_more(
    fake_time: FakeMonotonic,
) -> None:
    sender = TimedSender(fake_time, preparing=0.3)
    for tick in range(1, 4):
        started = fake_time.now
        await sender.tick(max_seconds=0.8)
        # Begun at 0, 0.3 and 0.6: the third ends at 0.9, while the next tick waits.
        assert fake_time.now - started == pytest.approx(0.9)
        assert sender.prepared == 3 * tick


def test_the_next_tick_waits_for_a_tick_that_runs_over() -> None:
    # Allowed a second instance, APScheduler starts the tick due meanwhile (it waits for
    # the sender's lock) instead of skipping it with a warning.
    sender = type("Sender", (), {"tick": None, "recover": None})()
    now = datetime.now(UTC)
    scheduler = jobs.create_scheduler(None, sender, None, lambda: now, None)  # type: ignore[arg-type]
    job = scheduler.get_job("outbox-sender")
    assert job is not None
    assert job.max_instances == jobs.SENDER_INSTANCES == 2


async def test_a_batch_slower_than_a_whole_tick_still_goes(fake_time: FakeMonotonic) -> None:
    # No tick would ever have the time: waiting for one would stop the sending for good.
    sender = TimedSender(fake_time, preparing=1.5)
    await sender.tick(max_seconds=0.8)
    await sender.tick(max_seconds=0.8)
    assert sender.prepared == 2


class QueuedSender(SenderWithoutDatabase):
    """Every batch holds `batch_size` one-text deliveries that go out only when released."""

    def __init__(self, rate: float) -> None:
        limiter = RateLimiter(rate)
        super().__init__(None, None, None, lambda: None, limiter, batch_size=10)  # type: ignore[arg-type]
        self.prepared: list[_Batch] = []
        self.released = asyncio.Event()

    async def _claim(self, except_fans: Collection[int]) -> list[int]:
        return list(range(self.batch_size))

    async def _prepare(self, row_ids: Sequence[int], now: datetime) -> _Batch:
        first = len(self.prepared) * self.batch_size
        batch = _Batch(
            [
                Delivery(row_id, row_id, row_id, Replies([Reply(row_id, row_id, "hello")]))
                for row_id in range(first, first + len(row_ids))
            ]
        )
        self.prepared.append(batch)
        return batch

    async def _send(self, batch: _Batch) -> None:
        await self.released.wait()


def went_out(batch: _Batch) -> None:
    for delivery in batch.deliveries:
        delivery.sent, delivery.outcome = 1, "sent"


async def test_a_tick_claims_ahead_until_about_a_second_of_sends_is_queued() -> None:
    sender = QueuedSender(rate=100)
    rate = sender.limiter.rate  # planned a little under the configured rate
    per_batch = sender.batch_size / rate
    # Claimed while no more than LEAD_SECONDS are queued: one batch past it, and no more.
    expected = int(LEAD_SECONDS / per_batch) + 1
    await sender.tick(max_seconds=0.2)
    assert len(sender.prepared) == expected
    # Half of it went out: the next tick tops the queue up again, to the same depth.
    for batch in sender.prepared[: expected // 2]:
        went_out(batch)
    await sender.tick(max_seconds=0.2)
    assert len(sender.prepared) == expected + expected // 2
    sender.released.set()
    await sender.wait_idle()


async def test_at_a_slow_rate_one_batch_is_queued_at_a_time() -> None:
    sender = QueuedSender(rate=5)  # a batch of 10 lasts two seconds
    await sender.tick(max_seconds=0.2)
    assert len(sender.prepared) == 1
    await sender.tick(max_seconds=0.2)
    assert len(sender.prepared) == 1  # still two seconds queued
    for delivery in sender.prepared[0].deliveries[:-4]:
        delivery.sent, delivery.outcome = 1, "sent"
    await sender.tick(max_seconds=0.2)  # four left: under a second's worth at 4.9/s
    assert len(sender.prepared) == 2
    sender.released.set()
    await sender.wait_idle()

"""A sender tick keeps to its budget, so APScheduler never skips the next one.

The claim and rendering are replaced by steps that advance a fake monotonic clock, so the
budget is checked exactly, whatever else the machine is doing.
"""

from collections.abc import Collection, Sequence
from datetime import datetime

import pytest

from scheduler import sender as sender_module
from scheduler.sender import OutboxSender, _Batch


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class TimedSender(OutboxSender):
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


async def test_a_tick_does_not_begin_a_batch_it_has_no_time_to_prepare(
    fake_time: FakeMonotonic,
) -> None:
    sender = TimedSender(fake_time, preparing=0.3)
    for _ in range(5):
        started = fake_time.now
        await sender.tick(max_seconds=0.8)
        # 0.3 + 0.3 fits in 0.8; a third batch would end at 0.9, in the next tick's time.
        assert fake_time.now - started <= 0.8
    assert sender.prepared >= 5


async def test_a_batch_slower_than_a_whole_tick_still_goes(fake_time: FakeMonotonic) -> None:
    # No tick would ever have the time: waiting for one would stop the sending for good.
    sender = TimedSender(fake_time, preparing=1.5)
    await sender.tick(max_seconds=0.8)
    await sender.tick(max_seconds=0.8)
    assert sender.prepared == 2

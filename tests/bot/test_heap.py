"""A started bot keeps its start-up heap out of the collector's scans (bot/heap.py)."""

import gc
import weakref
from collections.abc import Awaitable, Callable

import pytest

from bot.app import App
from bot.heap import freeze_startup_objects


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_started_bot_has_frozen_its_start_up_objects(
    start_bot: Callable[..., Awaitable[App]], mode: str
) -> None:
    gc.unfreeze()
    await start_bot(mode)
    # aiogram's types and methods, SQLAlchemy and the compiled brand are far more than this.
    assert gc.get_freeze_count() > 50_000


def test_start_up_garbage_is_collected_not_frozen() -> None:
    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle  # type: ignore[attr-defined]
    alive = Node()
    gone, kept = weakref.ref(cycle), weakref.ref(alive)
    del cycle
    try:
        assert freeze_startup_objects() > 0
        assert gone() is None  # garbage: collected first, not kept for ever
        assert kept() is alive
    finally:
        gc.unfreeze()

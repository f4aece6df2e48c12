"""Filters checked on the event loop.

aiogram calls a plain function or a magic filter (`F.data == ...`) given as a filter in a
worker thread (`asyncio.to_thread`); only coroutine functions and `Filter` objects are
awaited in place. Rapport's filters are a few attribute reads, and the hop to a thread
and back cost more than they do: the inbound benchmark's profile showed a fan's plain
message waiting on the thread pool for the router-level command check. Every filter
Rapport registers is therefore a coroutine function or an `OnLoop`.
"""

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class OnLoop(Filter):
    """A magic filter resolved on the event loop: `OnLoop(F.data == "resume")`."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"OnLoop({self.magic!r})"

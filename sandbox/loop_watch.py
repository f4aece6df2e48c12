"""The sandbox's own stalls: moments its event loop could not answer on time.

Telegram counts a bot's sends as they arrive. The sandbox can only count them when its
event loop gets to them: if the loop stalls (the process waits for a core, or one request
takes long), the requests that arrived meanwhile are counted together, and its token
bucket answers the bunch with 429 although the bot spaced them. The watch records such
stalls, so a benchmark can tell the 429s that followed one from those the bot caused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator

from aiohttp import web

WATCH_EVERY = 0.01  # seconds between the watch's wake-ups
STALL_SECONDS = 0.05  # a wake-up this late is a stall
STALLS_KEPT = 10_000


class LoopWatch:
    def __init__(
        self, every: float = WATCH_EVERY, threshold: float = STALL_SECONDS, kept: int = STALLS_KEPT
    ) -> None:
        self.every = every
        self.threshold = threshold
        # (wall-clock time the loop came back, seconds it was late), oldest first
        self.stalls: deque[tuple[float, float]] = deque(maxlen=kept)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.every
            await asyncio.sleep(self.every)
            late = loop.time() - due
            if late >= self.threshold:
                self.stalls.append((time.time(), late))

    def since(self, started: float) -> list[list[float]]:
        """The stalls that ended after `started` (wall clock), as [ended_at, seconds]."""
        return [[ended, round(late, 4)] for ended, late in self.stalls if ended >= started]


LOOP_WATCH_KEY = web.AppKey("loop_watch", LoopWatch)


async def watching(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: the watch runs while the app is served."""
    task = asyncio.create_task(app[LOOP_WATCH_KEY].run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

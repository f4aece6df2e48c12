"""Replies go out in the background, in order per chat, while the next updates are handled.

The processor commits a group of updates and then sends their replies. Waiting for those
sends before handling the next round left the bot idle for a Telegram round trip per
round (the inbound benchmark saw the bot busy 85 % of the time on PostgreSQL, where bare
aiogram, which sends from a task per update, is busy all of it). Here a send starts as a
task and the processor goes on; a chat's next replies wait for its previous ones, so a
fan still reads them in the order the bot wrote them.

How many sends may wait is bounded: under a backlog the processor waits for room
instead of piling up replies in memory.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

logger = logging.getLogger(__name__)

Send = Callable[[], Awaitable[object]]


class ChatDeliveries:
    def __init__(self, limit: int) -> None:
        self._room = asyncio.Semaphore(limit)
        self._running: set[asyncio.Task[None]] = set()
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def start(self, chat_id: int | None, send: Send) -> None:
        """Start `send` after the chat's earlier sends; waits while too many are in flight.

        A send without a chat (None) waits for nothing.
        """
        await self._room.acquire()
        previous = self._last_of_chat.get(chat_id) if chat_id is not None else None
        task = asyncio.create_task(self._after(previous, send))
        self._running.add(task)
        if chat_id is not None:
            self._last_of_chat[chat_id] = task
        task.add_done_callback(lambda done: self._finished(chat_id, done))

    async def wait(self) -> None:
        """Until every send started so far has finished; cancelled, it cancels them."""
        try:
            while self._running:
                await asyncio.wait(set(self._running))
        except asyncio.CancelledError:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Cancel every send still going."""
        for task in self._running:
            task.cancel()

    async def _after(self, previous: asyncio.Task[None] | None, send: Send) -> None:
        try:
            if previous is not None:
                # Its outcome is its own (it logs what failed); only its end matters here.
                with suppress(Exception):
                    await asyncio.shield(previous)
            await send()
        except Exception:
            # A failing send must not stop the others; the replies' own failures are
            # recorded by `send` itself, so this is a fault of the code.
            logger.exception("sending replies failed")

    def _finished(self, chat_id: int | None, task: asyncio.Task[None]) -> None:
        # Here, not in _after: a task cancelled before it ran never enters _after.
        self._room.release()
        self._running.discard(task)
        if chat_id is not None and self._last_of_chat.get(chat_id) is task:
            del self._last_of_chat[chat_id]

"""The per-bot update queue with getUpdates semantics, and a tiny change notifier."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import deque
from collections.abc import Iterable

from sandbox.models import JSON

# Update kinds a bot receives when allowed_updates is empty or was never set.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class Notifier:
    """Wakes every waiter whenever something changed; waiters re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Wait for the next change, or until ``seconds`` pass."""
        event = self._event
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()


class UpdateQueue:
    """Updates waiting to be confirmed, in update_id order.

    ``allowed_updates`` filters at creation time, as Telegram does: a change applies to
    updates created afterwards, not to the ones already waiting.
    """

    def __init__(self) -> None:
        self._pending: deque[JSON] = deque()
        self._next_id = 1
        self.allowed: frozenset[str] | None = None
        self.confirmed = 0
        self.dropped = 0
        self.changed = Notifier()

    @property
    def next_update_id(self) -> int:
        return self._next_id

    def set_allowed(self, kinds: Iterable[str] | None) -> None:
        """Store allowed_updates; ``None`` keeps the previous setting, like Telegram."""
        if kinds is not None:
            self.allowed = frozenset(kinds) or None

    def wants(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in OPT_IN_UPDATES
        return kind in self.allowed

    def push(self, kind: str, payload: JSON) -> JSON | None:
        """Queue an update of ``kind``; returns it, or None when allowed_updates drops it."""
        if not self.wants(kind):
            return None
        update = {"update_id": self._next_id, kind: copy.deepcopy(payload)}
        self._next_id += 1
        self._pending.append(update)
        self.changed.notify()
        return update

    def confirm(self, offset: int | None) -> None:
        """Forget updates with update_id < offset; a negative offset keeps the last -offset."""
        if offset is None:
            return
        if offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
                self.confirmed += 1
            return
        while self._pending and self._pending[0]["update_id"] < offset:
            self._pending.popleft()
            self.confirmed += 1

    def drop_all(self) -> None:
        self.dropped += len(self._pending)
        self._pending.clear()

    def peek(self, limit: int) -> list[JSON]:
        return [copy.deepcopy(u) for u, _ in zip(self._pending, range(limit), strict=False)]

    def first(self) -> JSON | None:
        return copy.deepcopy(self._pending[0]) if self._pending else None

    def __len__(self) -> int:
        return len(self._pending)

    def counts(self) -> JSON:
        return {
            "pending": len(self._pending),
            "confirmed": self.confirmed,
            "dropped": self.dropped,
            "next_update_id": self._next_id,
            "allowed_updates": sorted(self.allowed) if self.allowed is not None else None,
        }

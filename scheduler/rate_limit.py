"""Telegram's sending limits, kept on our side so that Telegram rarely has to say 429.

A global token bucket (default 30 messages a second, up to 1000 for paid broadcasts) and
one message a second per chat. A 429 pauses everything for exactly its retry_after and
lowers the rate for a while; it climbs back while sends succeed.
"""

import asyncio
import time
from collections.abc import Callable

# After a 429 the rate drops by this factor, and recovers by RECOVERY per success.
SLOW_DOWN = 0.8
RECOVERY = 1.002
MIN_RATE = 1.0
# Telegram's one second per chat plus a margin: two sends spaced exactly 1 s apart here can
# arrive less than 1 s apart (event-loop and network jitter) and be answered 429.
PER_CHAT_INTERVAL = 1.1
# Chats not written to for this long are forgotten (bounded memory on big broadcasts).
CHAT_MEMORY_SECONDS = 5.0


class RateLimiter:
    def __init__(
        self,
        rate_per_second: float,
        *,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.configured_rate = rate_per_second
        self.rate = rate_per_second
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._last_send = -float("inf")  # when the latest message was let go
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}
        self._global_turn = asyncio.Lock()  # FIFO: one message waits for the global slot at a time

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out."""
        # The chat's own slot first, so a chat written to a moment ago waits without
        # holding up the messages to everyone else. The slot is reserved at once.
        now = self._clock()
        chat_slot = max(now, self._chat_next.get(chat_id, 0.0))
        self._chat_next[chat_id] = chat_slot + self.per_chat_interval
        self._forget_old_chats(now)
        if chat_slot > now:
            await asyncio.sleep(chat_slot - now)
        # Then the global slot, spaced from the previous message as it really went: slots
        # planned ahead let every message whose slot passed during an event-loop stall
        # (a batch being prepared, a busy CPU) go at once, and Telegram answered that
        # burst with 429s.
        async with self._global_turn:
            now = self._clock()
            interval = 1.0 / self.rate
            slot = max(now, self._last_send + interval, self._paused_until)
            if slot > now:
                await asyncio.sleep(slot - now)
            woke = self._clock()
            # A wake-up a little late keeps the planned spacing (sleep overshoots; that
            # must not lower the rate); one late by more than an interval starts afresh.
            self._last_send = slot if woke - slot < interval else woke
        self._chat_next[chat_id] = max(self._chat_next[chat_id], woke + self.per_chat_interval)

    def too_many_requests(self, retry_after: float) -> None:
        """Telegram said 429: pause everything for retry_after, then go slower."""
        self._paused_until = max(self._paused_until, self._clock() + retry_after)
        self.rate = max(MIN_RATE, self.rate * SLOW_DOWN)

    def succeeded(self) -> None:
        self.rate = min(self.configured_rate, self.rate * RECOVERY)

    def _forget_old_chats(self, now: float) -> None:
        if len(self._chat_next) > 10_000:
            horizon = now - CHAT_MEMORY_SECONDS
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > horizon}

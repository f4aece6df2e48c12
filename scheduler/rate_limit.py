"""Telegram's sending limits, kept on our side so that Telegram rarely has to say 429.

A global token bucket (default 30 messages a second, up to 1000 for paid broadcasts) and
one message a second per chat; the global rate is planned 2 % under the configured one
(GLOBAL_MARGIN). A 429 pauses everything for exactly its retry_after and
lowers the rate for a while; it climbs back while sends succeed.
"""

import asyncio
import time
from collections.abc import Callable

# After a 429 the rate drops by this factor, and recovers by RECOVERY per success.
SLOW_DOWN = 0.8
RECOVERY = 1.002
MIN_RATE = 1.0
# The global rate is planned this much under the configured one. Telegram's limit (like
# the sandbox's) is a token bucket with a small burst: sending exactly at its rate never
# refills it, so once jitter has bunched a few sends the bucket stays nearly empty and
# the next bunch is answered 429 (about three a minute in the 100k broadcast on a quiet
# machine). 2 % under it, the bucket refills between bunches.
GLOBAL_MARGIN = 0.98
# Telegram's one second per chat plus a margin: two sends spaced exactly 1 s apart here can
# arrive less than 1 s apart (event-loop and network jitter) and be answered 429.
PER_CHAT_INTERVAL = 1.1
# Woken this much after its slot, a message takes a new one (see acquire): the burst
# that may still leave at once is at most this long's worth of the rate.
LATE_WAKE_SECONDS = 0.05
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
        # The fastest it plans: the configured rate less the margin.
        self.ceiling = rate_per_second * GLOBAL_MARGIN
        self.rate = self.ceiling
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._next_slot = clock()
        self._paused_until = 0.0
        self._chat_next: dict[int, float] = {}

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` may go out."""
        chat_free = self._chat_next.get(chat_id, 0.0)
        for replanned in (False, True):
            # No await between reading and moving the slots: no other task runs in between.
            now = self._clock()
            global_slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = global_slot + 1.0 / self.rate
            # A chat written to a moment ago waits for its own slot without holding up
            # the messages to everyone else.
            slot = max(global_slot, chat_free)
            self._chat_next[chat_id] = slot + self.per_chat_interval
            self._forget_old_chats(now)
            delay = slot - now
            if delay > 0:
                await asyncio.sleep(delay)
            # Woken much later than planned, the event loop was stalled (a batch being
            # prepared, a busy CPU): every message whose slot passed meanwhile wakes now,
            # and going together they would be a burst Telegram answers with 429s. So a
            # late one takes a fresh slot, after those already planned; once only, so a
            # loop that stays slow still sends.
            if replanned or self._clock() - slot <= LATE_WAKE_SECONDS:
                return

    def too_many_requests(self, retry_after: float) -> None:
        """Telegram said 429: pause everything for retry_after, then go slower.

        Slower once per pause: the sends already in flight when the first 429 came are
        answered 429 too, and each lowering the rate again took it from 30/s to 1/s
        after one burst, eight minutes to climb back (seen in the 100k broadcast)."""
        now = self._clock()
        if now >= self._paused_until:
            self.rate = max(MIN_RATE, self.rate * SLOW_DOWN)
        self._paused_until = max(self._paused_until, now + retry_after)

    def succeeded(self) -> None:
        self.rate = min(self.ceiling, self.rate * RECOVERY)

    def _forget_old_chats(self, now: float) -> None:
        if len(self._chat_next) > 10_000:
            horizon = now - CHAT_MEMORY_SECONDS
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > horizon}

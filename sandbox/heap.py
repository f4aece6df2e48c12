"""Keeping the sandbox's growing history out of the garbage collector's way.

The sandbox keeps every message it was sent (the chat page and the tests read them back),
so its heap grows all through a broadcast, and each full collection walked all of it with
the event loop stopped: about 3 ms per thousand stored messages, every 1,300 or so
messages (measured: 180 ms at 60,000). At 30 msg/s its bucket holds three sends, so a
pause of 100 ms or more bunched the sends that waited in its sockets into a burst it
answered with 429s, though the bot had spaced them (the 100,000-fan broadcast's 429s).
Telegram does not stall so. After each full collection, its survivors (live by
definition: the garbage was just collected) are frozen, so the next one scans only what
arrived since.
"""

import gc
from typing import Any

_freezing = False


def freeze_after_full_collections() -> None:
    """For a sandbox in its own process (`python -m sandbox`): the test processes that run
    one in their own event loop keep Python's collector as it is."""
    global _freezing
    if not _freezing:
        gc.callbacks.append(_freeze_survivors)
        _freezing = True


def thaw() -> None:
    """A reset dropped the history: let the collector see the old one again to free it."""
    if _freezing:
        gc.unfreeze()


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()

"""Long polling that confirms an update to Telegram only after it is stored in the inbox.

getUpdates confirms every update below `offset`. The offset moves past a batch only once
the batch is committed, so a crash at any point leaves Telegram with the unstored updates
and the inbox skips the ones it already has (same update_id).
"""

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import TelegramMethod
from aiogram.utils.backoff import Backoff, BackoffConfig
from sqlalchemy.exc import SQLAlchemyError

from bot.processor import InboxProcessor
from storage.clock import Clock
from storage.database import Database
from storage.repositories import inbox

logger = logging.getLogger(__name__)

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=10.0, factor=1.5, jitter=0.1)
BACKLOG_WAIT_SECONDS = 0.2
MAX_UPDATES_PER_CALL = 100  # Telegram's limit for getUpdates


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates returning the updates as JSON objects.

    Parsing happens later, one update at a time, so one malformed update cannot block
    the batch it came in.
    """

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class Poller:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        processor: InboxProcessor,
        clock: Clock,
        *,
        allowed_updates: list[str],
        timeout: int,
        max_backlog: int,
    ) -> None:
        self.database = database
        self.bot = bot
        self.processor = processor
        self.clock = clock
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.max_backlog = max_backlog
        self.offset: int | None = None
        self._backoff = Backoff(BACKOFF)

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            room = await self._room_in_inbox()
            if room <= 0:
                await asyncio.sleep(BACKLOG_WAIT_SECONDS)
                continue
            payloads = await self._fetch(min(room, MAX_UPDATES_PER_CALL))
            if payloads is not None and await self._store(payloads):
                self._backoff.reset()

    async def _fetch(self, limit: int) -> list[dict[str, Any]] | None:
        method = GetRawUpdates(
            offset=self.offset,
            limit=limit,
            timeout=self.timeout,
            allowed_updates=self.allowed_updates,
        )
        try:
            return await self.bot(method, request_timeout=self.timeout + 10)
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)
        except (TelegramNetworkError, TelegramServerError) as error:
            delay = self._backoff.next_delay
            logger.warning("getUpdates failed (%s); retrying in %.1f s", error, delay)
            await self._backoff.asleep()
        return None

    async def _store(self, payloads: list[dict[str, Any]]) -> bool:
        updates = [p for p in payloads if isinstance(p.get("update_id"), int)]
        if len(updates) < len(payloads):
            logger.error("skipped %s updates without an update_id", len(payloads) - len(updates))
        try:
            async with self.database.session() as session:
                await inbox.store(session, updates, self.clock())
                await session.commit()
        except SQLAlchemyError as error:
            # The offset stays: Telegram hands the same updates over again.
            logger.error("could not store updates, retrying: %s", error)
            await self._backoff.asleep()
            return False
        if updates:
            self.offset = max(update["update_id"] for update in updates) + 1
            self.processor.wake()
        return True

    async def _room_in_inbox(self) -> int:
        """How many more updates the inbox may take; the rest of a backlog waits at Telegram."""
        try:
            async with self.database.read_session() as session:
                return self.max_backlog - await inbox.count_pending(session)
        except SQLAlchemyError:
            return MAX_UPDATES_PER_CALL  # storing will fail and back off, with the offset kept

"""Handles stored updates: each one through the Dispatcher in its own transaction, once.

An update arrives in the inbox (storage.repositories.inbox) from the poller or the webhook.
The processor claims it, feeds it to the Dispatcher with a session, marks it done in the
same transaction and commits; only then are the replies sent. A crash before the commit
leaves the update pending, to be handled again from scratch after a restart.
"""

import asyncio
import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from handlers.replies import DeliveryFailure, Replies, send_replies
from storage import lifecycle
from storage.clock import Clock
from storage.database import Database
from storage.models import EventKind, InboxState
from storage.repositories import events, fans, inbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
IDLE_WAIT_SECONDS = 1.0
# After the database failed, wait this long before trying again.
DATABASE_RETRY_SECONDS = 2.0


@dataclass
class ProcessorStats:
    handled: int = 0
    failed_attempts: int = 0
    set_aside: int = 0  # updates given up on after MAX_ATTEMPTS or unparseable
    undelivered_replies: int = 0


class InboxProcessor:
    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher,
        bot: Bot,
        clock: Clock,
        *,
        concurrency: int,
    ) -> None:
        self.database = database
        self.dispatcher = dispatcher
        self.bot = bot
        self.clock = clock
        self.stats = ProcessorStats()
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """New updates are in the inbox."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current batch, then return from run()."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except SQLAlchemyError as error:
                logger.error("inbox unreachable, retrying: %s", error)
                await asyncio.sleep(DATABASE_RETRY_SECONDS)
                continue
            if handled == 0 and not self._stopping:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_WAIT_SECONDS)

    async def run_once(self) -> int:
        """Handle one batch of pending updates; how many were handled."""
        async with self.database.read_session() as session:
            batch = await inbox.pending(session, BATCH_SIZE)
        outcomes = await asyncio.gather(*(self._handle_in_order(ids) for ids in _by_chat(batch)))
        return sum(outcomes)

    async def _handle_in_order(self, update_ids: list[int]) -> int:
        """One chat's updates, one after another; stop at the first that cannot go now."""
        handled = 0
        for update_id in update_ids:
            if self._stopping:
                break
            async with self._limit:
                if not await self.handle(update_id):
                    break
            handled += 1
        return handled

    async def handle(self, update_id: int) -> bool:
        """Handle one update; False if it was not its turn or handling failed."""
        replies = Replies()
        now = self.clock()
        try:
            async with self.database.session() as session:
                row = await inbox.claim(session, update_id)
                if row is None:
                    return False
                try:
                    update = Update.model_validate(
                        without_nul(row.payload), context={"bot": self.bot}
                    )
                except ValidationError as error:
                    # Retrying cannot help a malformed update: set it aside at once.
                    inbox.set_aside(row, f"unparseable update: {error}", now)
                    await session.commit()
                    self.stats.set_aside += 1
                    logger.error("update %s set aside: unparseable", update_id)
                    return True
                await self.dispatcher.feed_update(
                    self.bot, update, session=session, replies=replies, now=now
                )
                inbox.mark_done(row, now)
                await session.commit()
        except Exception as error:
            # A failing handler must never stop the processor: count it and retry later.
            logger.exception("update %s failed", update_id)
            await self._record_failure(update_id, f"{type(error).__name__}: {error}")
            return False
        self.stats.handled += 1
        await self._deliver(replies)
        return True

    async def _deliver(self, replies: Replies) -> None:
        failures = await send_replies(self.bot, replies)
        if failures:
            self.stats.undelivered_replies += len(failures)
            await self._record_delivery_failures(failures)

    async def _record_delivery_failures(self, failures: Iterable[DeliveryFailure]) -> None:
        now = self.clock()
        try:
            async with self.database.session() as session:
                for failure in failures:
                    fan = await fans.get(session, failure.reply.fan_id)
                    if fan is None:
                        continue
                    await events.record(
                        session,
                        fan.id,
                        EventKind.DELIVERY_FAILED,
                        now,
                        data={"error": failure.error},
                    )
                    if failure.blocked:
                        await lifecycle.blocked(session, fan, now)
                await session.commit()
        except SQLAlchemyError:
            logger.exception("could not record %s undelivered replies", len(list(failures)))

    async def _record_failure(self, update_id: int, error: str) -> None:
        self.stats.failed_attempts += 1
        try:
            async with self.database.session() as session:
                state = await inbox.record_failure(session, update_id, error, self.clock())
                await session.commit()
        except SQLAlchemyError:
            logger.exception("could not record the failure of update %s", update_id)
            await asyncio.sleep(DATABASE_RETRY_SECONDS)
            return
        if state == InboxState.FAILED:
            self.stats.set_aside += 1
            logger.error("update %s set aside after repeated failures", update_id)


def without_nul(value: Any) -> Any:
    """The payload with NUL characters taken out of every string.

    PostgreSQL's text cannot hold U+0000; JSON can. A fan's name or text with one would
    fail its update on every retry, so the character is dropped before anything is stored.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def _by_chat(batch: Iterable[tuple[int, int | None]]) -> list[list[int]]:
    """Group update ids by chat, keeping their order; chat-less updates go alone."""
    groups: dict[int, list[int]] = {}
    alone: list[list[int]] = []
    for update_id, chat_id in batch:
        if chat_id is None:
            alone.append([update_id])
        else:
            groups.setdefault(chat_id, []).append(update_id)
    return [*groups.values(), *alone]

"""Handles stored updates through the Dispatcher, each exactly once.

An update arrives in the inbox (storage.repositories.inbox) from the poller or the webhook.
The processor claims it, feeds it to the Dispatcher with a session, marks it done in the
same transaction and commits; only then are the replies sent. A crash before the commit
leaves the update pending, to be handled again from scratch after a restart.

Under a backlog, updates of different chats share a transaction (a group, at most one
update per chat): one BEGIN, one claim and one COMMIT for the group instead of one each,
which the inbound benchmark's profile showed to be a fifth of an update's cost on SQLite,
where every transaction also waits for the single write turn. If anything in a group
fails, the group is rolled back and its updates are handled again one per transaction,
so one bad update costs the others nothing but time. With no backlog a group is one
update, and nothing waits for company.

The replies of a committed group go out in the background (bot.deliveries), in order per
chat, while the next round is handled.
"""

import asyncio
import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import pairwise
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deliveries import ChatDeliveries
from handlers.fan_context import fan_sender
from handlers.inbound_batch import InboundBatch
from handlers.replies import DeliveryFailure, Replies, send_replies
from scheduler.rules.events import EventRuleQueue
from storage import lifecycle
from storage.clock import Clock
from storage.database import Database
from storage.models import EventKind, InboxState
from storage.repositories import events, fans, inbox
from storage.repositories.fans import FoundFan

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# Updates (of different chats) handled in one transaction at most, on PostgreSQL, where
# the groups of a round run side by side on the pool's connections. Their replies wait
# for the group's commit, so this bounds the latency a backlog adds as well as the work a
# failing update makes the others redo. On SQLite the groups of a round would only queue
# for the one write turn, each paying its own BEGIN, claim, look-ups, writes and COMMIT,
# so a round goes as one group (at most BATCH_SIZE). In the inbound benchmark's backlog of
# 50 chats, against three groups of 17: a tenth fewer instructions per update, and a fifth
# to a quarter less CPU (the SQLite thread is woken half as often).
GROUP_SIZE = 20
IDLE_WAIT_SECONDS = 1.0
# After the database failed, wait this long before trying again.
DATABASE_RETRY_SECONDS = 2.0
# Updates whose replies may still be going out while the next ones are handled.
DELIVERIES_IN_FLIGHT = 2 * BATCH_SIZE

# (chat, update_id): the chat is None for an update that has none.
Pending = tuple[int | None, int]
_T = TypeVar("_T")


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
        self._deliveries = ChatDeliveries(DELIVERIES_IN_FLIGHT)
        self._group_size = BATCH_SIZE if database.is_sqlite else GROUP_SIZE

    def wake(self) -> None:
        """New updates are in the inbox."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current batch, then return from run()."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    handled = await self._handle_batch()
                except SQLAlchemyError as error:
                    logger.error("inbox unreachable, retrying: %s", error)
                    await asyncio.sleep(DATABASE_RETRY_SECONDS)
                    continue
                if handled == 0 and not self._stopping:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), IDLE_WAIT_SECONDS)
        except asyncio.CancelledError:
            # Stopped in a hurry: replies not sent yet are lost, as in a crash after the
            # commit (never sent twice).
            self._deliveries.cancel()
            raise
        await self._deliveries.wait()

    async def run_once(self) -> int:
        """Handle one batch of pending updates and send their replies; how many were
        handled."""
        handled = await self._handle_batch()
        await self._deliveries.wait()
        return handled

    async def _handle_batch(self) -> int:
        """Handle one batch of pending updates; their replies may still be going out."""
        async with self.database.read_session() as session:
            batch = await inbox.pending(session, BATCH_SIZE)
        chats = _by_chat(batch)
        stuck: set[int] = set()  # chats whose update could not go: their later ones wait
        handled = 0
        # Round n holds the n-th pending update of every chat, so a chat's updates (and
        # their replies) keep their order while different chats share transactions.
        for turn in range(max((len(updates) for updates in chats), default=0)):
            if self._stopping:
                break
            round_ = [
                (chat, updates[turn])
                for chat, updates in enumerate(chats)
                if turn < len(updates) and chat not in stuck
            ]
            groups = _split(round_, self._group_size)
            outcomes = await asyncio.gather(
                *(self._handle_group([pending for _, pending in group]) for group in groups)
            )
            for group, done in zip(groups, outcomes, strict=True):
                stuck.update(chat for chat, (_, update_id) in group if update_id not in done)
                handled += len(done)
        return handled

    async def _handle_group(self, updates: list[Pending]) -> set[int]:
        """Handle updates of different chats together; the ids that were handled."""
        async with self._limit:
            if len(updates) > 1:
                done = await self._handle_together(updates)
                if done is not None:
                    return done
            # Alone, or the group failed: one transaction each, failures recorded.
            return {update_id for chat, update_id in updates if await self.handle(update_id, chat)}

    async def _handle_together(self, updates: list[Pending]) -> set[int] | None:
        """All in one transaction; None if anything failed (and nothing was kept)."""
        now = self.clock()
        chat_of = {update_id: chat for chat, update_id in updates}
        done: list[int] = []  # handled or set aside
        handled: list[tuple[int | None, Replies]] = []
        try:
            async with self.database.session() as session:
                claimed = [
                    (row, await self._parse(session, row, now))
                    for row in await inbox.claim_many(session, list(chat_of))
                ]
                found = await _find_fans(session, [update for _, update in claimed])
                # No SAVEPOINT per rule firing: a failing rule fails the group, and its
                # updates are handled again one by one, each with its rules guarded.
                batch = InboundBatch(event_rules=EventRuleQueue(guard=False))
                if found is not None:
                    await batch.preload(session, [row[0].id for row in found.values() if row])
                fed: list[int] = []
                for row, update in claimed:
                    done.append(row.update_id)
                    if update is None:
                        continue
                    replies = Replies(record_timeline=False)
                    await self._dispatch(session, update, replies, now, batch, found)
                    handled.append((chat_of[row.update_id], replies))
                    fed.append(row.update_id)
                # The group's events and hits in a statement each; each event rule once.
                await batch.write(session)
                # The group's replies go on the timelines in one statement.
                await events.record_many(
                    session,
                    [entry for _, replies in handled for entry in replies.timeline_entries(now)],
                )
                await inbox.mark_done(session, fed, now)
                await session.commit()
        except Exception as error:
            # Replies were only queued and the transaction is rolled back: handling each
            # update again on its own repeats nothing the fan would see.
            # The type only: an error's text can quote what a fan wrote.
            logger.warning(
                "a group of %s updates failed (%s); handling them one by one",
                len(updates),
                type(error).__name__,
            )
            return None
        self.stats.handled += len(handled)
        for chat, replies in handled:
            await self._deliveries.start(chat, partial(self._deliver, replies))
        return set(done)

    async def _parse(
        self, session: AsyncSession, row: inbox.Claimed, now: datetime
    ) -> Update | None:
        """The stored update; None if it is malformed (then it is set aside)."""
        try:
            return Update.model_validate(without_nul(row.payload), context={"bot": self.bot})
        except ValidationError as error:
            # Retrying cannot help a malformed update: set it aside at once.
            await inbox.set_aside(session, row.update_id, f"unparseable update: {error}", now)
            self.stats.set_aside += 1
            logger.error("update %s set aside: unparseable", row.update_id)
            return None

    async def _dispatch(
        self,
        session: AsyncSession,
        update: Update,
        replies: Replies,
        now: datetime,
        batch: InboundBatch,
        found_fans: dict[int, FoundFan | None] | None = None,
    ) -> None:
        """One parsed update through the Dispatcher; the caller writes the `batch` and
        marks it done."""
        await self.dispatcher.feed_update(
            self.bot,
            update,
            session=session,
            replies=replies,
            now=now,
            inbound_batch=batch,
            found_fans=found_fans,
        )

    async def handle(self, update_id: int, chat_id: int | None = None) -> bool:
        """Handle one update in its own transaction; False if it was not its turn or failed.

        Its replies go out after those of the chat's earlier updates, maybe after this
        returns.
        """
        replies = Replies(record_timeline=False)
        now = self.clock()
        try:
            async with self.database.session() as session:
                row = await inbox.claim(session, update_id)
                if row is None:
                    return False
                update = await self._parse(session, row, now)
                fed = update is not None
                if update is not None:
                    batch = InboundBatch()
                    await self._dispatch(session, update, replies, now, batch)
                    await batch.write(session)
                    await events.record_many(session, replies.timeline_entries(now))
                    await inbox.mark_done(session, [update_id], now)
                await session.commit()
        except Exception as error:
            # A failing handler must never stop the processor: count it and retry later.
            logger.exception("update %s failed", update_id)
            await self._record_failure(update_id, f"{type(error).__name__}: {error}")
            return False
        if fed:
            self.stats.handled += 1
            await self._deliveries.start(chat_id, partial(self._deliver, replies))
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


async def _find_fans(
    session: AsyncSession, updates: list[Update | None]
) -> dict[int, FoundFan | None] | None:
    """The group's fans in one statement instead of one per update.

    Only for a group of fans' own messages: a staff command in the same group could change
    a fan (a handoff taken) between this look-up and that fan's update.
    """
    senders = [fan_sender(update) if update is not None else None for update in updates]
    if len(senders) < 2 or None in senders:
        return None
    return await fans.find_many(session, [sender for sender in senders if sender is not None])


def _split(round_: list[_T], most: int) -> list[list[_T]]:
    """At most `most` per group, the groups as even as can be: the round ends when its
    slowest group does, so 20 + 20 + 10 leaves the database waiting on the two big ones
    where 17 + 17 + 16 would not."""
    count = -(-len(round_) // most)  # rounded up
    bounds = [len(round_) * n // count for n in range(count + 1)] if count else [0]
    return [round_[start:end] for start, end in pairwise(bounds)]


def _by_chat(batch: Iterable[tuple[int, int | None]]) -> list[list[Pending]]:
    """Group updates by chat, keeping their order; chat-less updates go alone."""
    groups: dict[int, list[Pending]] = {}
    alone: list[list[Pending]] = []
    for update_id, chat_id in batch:
        if chat_id is None:
            alone.append([(None, update_id)])
        else:
            groups.setdefault(chat_id, []).append((chat_id, update_id))
    return [*groups.values(), *alone]

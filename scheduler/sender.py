"""The outbox sender: the only code that sends proactive messages.

One batch at a time: claim due rows (`sending`, committed), decide and render them in one
transaction (the contact policy re-checked at send time, the fan's conversation moved to
the step being sent), send them within Telegram's limits, and record every outcome. A crash
between the claim and the record leaves rows `sending`; they become `unknown` and are
never sent again blindly (a duplicate message is worse than a missing one). A send that
timed out after its request went out is treated alike (`unknown`, reason `timeout`):
Telegram may have delivered it. Failed connections and 5xx answers are retried with
backoff, then the row fails.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiohttp import ConnectionTimeoutError
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand, FanSnapshot
from dialogs.conditions import ConditionError
from dialogs.errors import RenderError
from dialogs.messages import message_texts, render_message
from handlers.dialog_adapter import load_snapshot, load_snapshots, run_engine, script_problems
from handlers.replies import Replies, Reply, send_text
from scheduler import planner, policy
from scheduler.rate_limit import RateLimiter
from scheduler.rules.apply import apply_delayed
from scheduler.staff_notes import (
    StaffDestinations,
    StaffNote,
    deliver_note,
    render_note,
    staff_targets,
)
from storage import lifecycle
from storage.brand_cache import BrandCache, NoActiveBrandError
from storage.clock import Clock
from storage.database import Database, analyze_if_stale, plan_for_these_values
from storage.id_lists import in_ids
from storage.models import Consent, EventKind, Fan, OutboxMessage, OutboxState
from storage.repositories import events, handoffs, outbox

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_ATTEMPTS = 5  # network errors and 5xx, then the row fails
RETRY_BACKOFF = timedelta(seconds=30)
NO_BRAND_WAIT = timedelta(minutes=5)
# A tick's budget: it begins batches until this much time has passed, so it ends up to one
# batch's claim and rendering later. The scheduler runs the sender's job with a second
# instance allowed (scheduler.jobs.SENDER_INSTANCES): the tick due meanwhile waits for
# this one and goes on at once, so a long broadcast is claimed without a pause at each
# tick. (Budgeted to end before the next tick, 0.8 s a second, a tick left a fifth of the
# time unused: at 180 ms a batch of 200 it fit four batches, 800 msg/s at most.)
TICK_SECONDS = 1.0
# Batches are claimed and rendered ahead until this many seconds of sends (at the
# limiter's current rate) wait to go out: enough that the gap between two ticks and the
# next claim never drains the queue (at 1000 msg/s a batch of 200 lasts 0.2 s; with only
# two batches ahead the sends paused at most tick boundaries), and little enough that a
# crash leaves at most a few seconds' worth of rows `unknown`.
LEAD_SECONDS = 1.0
# Rendering a batch awaits nothing that waits (the rows' data is loaded): without a pause
# it holds the event loop for all 200 rows while the sends of the batches going out wait
# for their slots, and a send woken over 50 ms late loses its slot
# (scheduler.rate_limit.LATE_WAKE_SECONDS). A pause every this many rows lets them go:
# 100,000 fans at 1000 msg/s went from 950-966 to 975 msg/s on PostgreSQL.
YIELD_EVERY_ROWS = 20
# How often the sender looks whether PostgreSQL's statistics of the outbox are stale, and
# how much change makes them so. Planned with the statistics of an emptier outbox (a
# broadcast or the daily plan has just queued 100,000 rows, before autovacuum analysed
# it), the claim read and sorted every due row, 40-55 ms per claim of 200, instead of
# reading the first ones off ix_outbox_claim: 80 % of 1000 msg/s.
STATISTICS_EVERY = 5.0
STALE_AFTER_ROWS = 1000
STALE_AFTER_SHARE = 0.2

# A row whose first text went out (a failure after it still counts as sent): its message
# id, and the error of a later text if any. Built once, like the inbox's _MARK_DONE, and
# run for many rows at once (executemany).
_OUTBOX = cast(Table, OutboxMessage.__table__)
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        state=OutboxState.SENT.value,
        reason=None,
        telegram_message_id=bindparam("message_id"),
        error=bindparam("error"),
        sent_at=bindparam("now", type_=_OUTBOX.c.sent_at.type),
    )
)

# Checks a stored condition for one fan at send time (the segment compiler does it in SQL).
Recheck = Callable[[AsyncSession, dict[str, Any], int, datetime], Awaitable[bool]]


@dataclass
class SenderStats:
    sent: int = 0
    skipped: int = 0
    postponed: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0
    too_many_requests: int = 0
    unknown: int = 0
    render_failed: int = 0
    statistics_refreshed: int = 0  # ANALYZE of the outbox (PostgreSQL)


@dataclass
class Delivery:
    """A row whose texts are ready to go, and what happened when they went."""

    row_id: int
    fan_id: int
    chat_id: int
    replies: Replies
    message_id: int | None = None
    sent: int = 0  # how many of the texts went out
    error: str | None = None
    outcome: str = "pending"  # sent, blocked, refused, retry, maybe_sent, too_many_requests
    retry_after: float = 0.0


@dataclass(frozen=True)
class _GoingOut:
    task: "asyncio.Task[None]"
    batch: "_Batch"
    fans: frozenset[int]


@dataclass
class _Batch:
    deliveries: list[Delivery] = field(default_factory=list)
    notes: list[StaffNote] = field(default_factory=list)  # rule notes for the staff


class OutboxSender:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        brand_cache: BrandCache[CompiledBrand],
        clock: Clock,
        limiter: RateLimiter,
        *,
        recheck: Recheck | None = None,
        staff: StaffDestinations | None = None,
        concurrency: int = 64,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.database = database
        self.bot = bot
        self.brand_cache = brand_cache
        self.clock = clock
        self.limiter = limiter
        self.recheck = recheck
        self.staff = staff or StaffDestinations()
        self.batch_size = batch_size
        self.stats = SenderStats()
        self._sending = asyncio.Semaphore(concurrency)
        self._busy = asyncio.Lock()
        self._going_out: list[_GoingOut] = []  # batches being sent, oldest first
        self._statistics_looked_at: float | None = None  # time.monotonic()

    async def recover(self, lease: timedelta = outbox.SENDING_LEASE) -> int:
        """Rows a dead sender left `sending`: reported as unknown, never resent."""
        async with self.database.session() as session:
            count = await outbox.mark_abandoned_unknown(session, self.clock(), lease)
            await session.commit()
        if count:
            self.stats.unknown += count
            logger.warning("%s outbox rows were being sent during a crash: marked unknown", count)
        return count

    async def tick(self, max_seconds: float = TICK_SECONDS) -> int:
        """Send what is due, batch after batch, beginning batches for `max_seconds`.

        Batches are claimed and rendered while those before go out, until about
        LEAD_SECONDS of sends are queued, so the rate limiter does not sit idle while the
        database works; a new batch never holds a fan of one going out. A tick leaves its
        batches going out: the next tick (waiting for this one if it is due already)
        carries on from there, so a long broadcast flows on between ticks instead of
        draining and waiting for the next one.
        """
        started, total = time.monotonic(), 0
        async with self._busy:
            await self._refresh_statistics()
            while (remaining := max_seconds - (time.monotonic() - started)) > 0:
                self._reap()
                queued = self._seconds_queued()
                if queued > LEAD_SECONDS:
                    # Look again once that much has gone out (or the oldest batch ended).
                    oldest = self._going_out[0].task
                    await asyncio.wait({oldest}, timeout=min(remaining, queued - LEAD_SECONDS))
                    continue
                claimed = await self._claim(self._fans_going_out())
                if not claimed:
                    break
                batch = await self._prepare(claimed, self.clock())
                fans = frozenset(delivery.fan_id for delivery in batch.deliveries)
                task = asyncio.create_task(self._send(batch))
                self._going_out.append(_GoingOut(task, batch, fans))
                total += len(claimed)
                if len(claimed) < self.batch_size:
                    break
        return total

    async def wait_idle(self) -> None:
        """Return once no batch is in flight (for a clean stop)."""
        async with self._busy:
            going_out, self._going_out = self._going_out, []
            results = await asyncio.gather(
                *(batch.task for batch in going_out), return_exceptions=True
            )
        for result in results:
            if isinstance(result, Exception):
                logger.error("a batch failed while going out: %r", result)

    async def _refresh_statistics(self) -> None:
        """Every STATISTICS_EVERY seconds: ANALYZE the outbox if it changed a lot since."""
        now = time.monotonic()
        if not self.database.is_postgres or (
            self._statistics_looked_at is not None
            and now - self._statistics_looked_at < STATISTICS_EVERY
        ):
            return
        self._statistics_looked_at = now
        try:
            async with self.database.session() as session:
                if await analyze_if_stale(
                    session, "outbox", min_rows=STALE_AFTER_ROWS, share=STALE_AFTER_SHARE
                ):
                    await session.commit()
                    self.stats.statistics_refreshed += 1
        except SQLAlchemyError as error:
            # Only the plans suffer (the claim then sorts the due rows): send anyway.
            logger.warning("could not refresh the outbox's statistics: %s", error)

    def _reap(self) -> None:
        """Forget the batches that went out; a batch that failed raises here, in its tick."""
        while self._going_out and self._going_out[0].task.done():
            self._going_out.pop(0).task.result()

    def _seconds_queued(self) -> float:
        """How long the texts claimed and not yet sent take at the limiter's current rate."""
        unsent = sum(
            len(delivery.replies.items) - delivery.sent
            for going in self._going_out
            for delivery in going.batch.deliveries
            if delivery.outcome == "pending"
        )
        return unsent / self.limiter.rate if unsent else 0.0

    def _fans_going_out(self) -> set[int]:
        return {fan for batch in self._going_out for fan in batch.fans}

    async def run_batch(self) -> int:
        claimed = await self._claim(())
        if not claimed:
            return 0
        await self._send(await self._prepare(claimed, self.clock()))
        return len(claimed)

    async def _claim(self, except_fans: Collection[int]) -> list[int]:
        # Most ticks find nothing due: looking first keeps them off SQLite's write turn,
        # which the inbound updates are queueing for.
        async with self.database.read_session() as session:
            if not await outbox.any_due(session, self.clock()):
                return []
        async with self.database.session() as session:
            await plan_for_these_values(session)
            claimed = await outbox.claim_due(
                session, self.clock(), self.batch_size, except_fans=except_fans
            )
            await session.commit()
        return claimed

    async def _send(self, batch: "_Batch") -> None:
        await asyncio.gather(
            *(self._deliver(delivery) for delivery in batch.deliveries),
            *(deliver_note(self.bot, self.limiter, note) for note in batch.notes),
        )
        await self._record(batch.deliveries, batch.notes)

    async def _prepare(self, row_ids: Sequence[int], now: datetime) -> _Batch:
        """Decide every claimed row and render the ones that go, in one transaction."""
        batch = _Batch()
        async with self.database.session() as session:
            await plan_for_these_values(session)  # the fans' counts of recent sends
            rows = await _load_rows(session, row_ids)
            try:
                brand = await self.brand_cache.current(session)
            except NoActiveBrandError:
                for row in rows:
                    _postpone(row, "no_brand", now + NO_BRAND_WAIT)
                await session.commit()
                return batch
            facts = await _fan_facts(session, rows, now)
            snapshots = await load_snapshots(
                session, [fan_facts.fan for fan_facts in facts.values()], is_new=False
            )
            openers = await planner.last_openers_sent(
                session, {row.fan_id for row in rows if row.source == "daily"}
            )
            for number, row in enumerate(rows, 1):
                if number % YIELD_EVERY_ROWS == 0:
                    await asyncio.sleep(0)  # let the sends of the batches going out go
                # A snapshot serves the fan's first row: a later row of the same fan loads
                # the fan again, with what the first one changed.
                snapshot = snapshots.pop(row.fan_id, None)
                if row.source in outbox.NOT_TO_FAN:
                    note = await self._not_to_fan(session, brand, row, snapshot, now)
                    if note is not None:
                        batch.notes.append(note)
                    continue
                delivery = await self._decide_and_render(
                    session, brand, row, facts, snapshot, openers, now
                )
                if delivery is not None:
                    batch.deliveries.append(delivery)
            await session.commit()
        return batch

    async def _decide_and_render(
        self,
        session: AsyncSession,
        brand: CompiledBrand,
        row: OutboxMessage,
        facts: dict[int, "_Facts"],
        snapshot: FanSnapshot | None,
        openers: dict[int, datetime],
        now: datetime,
    ) -> Delivery | None:
        fan_facts = facts[row.fan_id]
        decision = policy.decide(
            fan_facts.policy,
            purpose=row.purpose,
            priority=row.priority,
            brand=brand.settings,
            now=now,
        )
        if decision.verdict == policy.Verdict.SEND:
            failed_check = await self._recheck_failure(session, row, now)
            if failed_check is not None:
                decision = policy.Decision(policy.Verdict.SKIP, failed_check)
        if decision.verdict != policy.Verdict.SEND:
            self._apply_decision(row, decision)
            return None
        # On the timeline once sent (see _record), not now: a send that fails or is
        # retried must not show there.
        replies = Replies(record_timeline=False)
        texts = message_texts(row.content)
        fan = fan_facts.fan
        if texts is not None:
            if not await self._render_text(
                session, brand, row, fan, snapshot, texts, replies, now
            ):
                return None
        else:
            await run_engine(
                session, brand, fan, _engine_input(row), replies, now, snapshot=snapshot
            )
        if not replies.items or fan_facts.fan.chat_id is None:
            row.state, row.reason = OutboxState.SKIPPED, "nothing_to_say"
            self.stats.skipped += 1
            return None
        fan_facts.count_planned_send()
        if row.source == "daily":
            zone = policy.fan_zone(fan.timezone, brand.settings)
            planner.note_opener_going_out(fan, now.astimezone(zone).date(), openers.get(fan.id))
        return Delivery(row.id, row.fan_id, fan_facts.fan.chat_id, replies)

    async def _not_to_fan(
        self,
        session: AsyncSession,
        brand: CompiledBrand,
        row: OutboxMessage,
        snapshot: FanSnapshot | None,
        now: datetime,
    ) -> StaffNote | None:
        """A rule's delayed action or staff note: the re-check only, no fan-side policy."""
        failure = await self._recheck_failure(session, row, now)
        if failure is not None:
            row.state, row.reason = OutboxState.SKIPPED, failure
            self.stats.skipped += 1
            return None
        if "apply" in row.content:
            await apply_delayed(session, row.content, row.fan_id, row.source_ref or "", now)
            row.state, row.sent_at, row.reason = OutboxState.SENT, now, None
            return None
        fan = await session.get(Fan, row.fan_id)
        targets = await staff_targets(
            session, row.fan_id, self.staff, brand.settings.staff_chat_id
        )
        if fan is None or not targets:
            row.state, row.reason = OutboxState.SKIPPED, "no_staff_chat"
            self.stats.skipped += 1
            return None
        if snapshot is None:
            snapshot = await load_snapshot(session, fan, is_new=False)
        try:
            text = render_note(brand, snapshot, str(row.content.get("notify_staff")), now)
        except RenderError as error:
            row.state, row.reason, row.error = OutboxState.FAILED, "render_failed", str(error)
            self.stats.failed += 1
            return None
        return StaffNote(row.id, text, targets)

    async def _recheck_failure(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> str | None:
        """Why the row's stored condition stops it now, or None if it may go."""
        if not row.recheck or self.recheck is None:
            return None
        try:
            still_true = await self.recheck(session, row.recheck, row.fan_id, now)
        except ConditionError as error:
            logger.warning("outbox row %s has an invalid re-check condition: %s", row.id, error)
            return "invalid_recheck"
        return None if still_true else "condition_no_longer_true"

    async def _render_text(
        self,
        session: AsyncSession,
        brand: CompiledBrand,
        row: OutboxMessage,
        fan: Fan,
        snapshot: FanSnapshot | None,
        texts: dict[str, str],
        replies: Replies,
        now: datetime,
    ) -> bool:
        """A text message rendered for the fan into `replies`; False (row skipped) if broken."""
        if snapshot is None:
            snapshot = await load_snapshot(session, fan, is_new=False)
        try:
            _, text = render_message(brand, snapshot, texts, now)
        except RenderError as error:
            # Never the raw template: the row is skipped, counted and logged.
            row.state, row.reason, row.error = OutboxState.SKIPPED, "render_failed", str(error)
            self.stats.skipped += 1
            self.stats.render_failed += 1
            script_problems["render_failed"] += 1
            logger.warning("outbox row %s (%s) not rendered: %s", row.id, row.source, error)
            return False
        if fan.chat_id is not None:
            await replies.add(session, Reply(fan.id, fan.chat_id, text), now)
        return True

    def _apply_decision(self, row: OutboxMessage, decision: policy.Decision) -> None:
        if decision.verdict == policy.Verdict.POSTPONE:
            assert decision.until is not None
            _postpone(row, decision.reason or "postponed", decision.until)
            self.stats.postponed += 1
            return
        row.state = (
            OutboxState.CANCELLED
            if decision.verdict == policy.Verdict.CANCEL
            else OutboxState.SKIPPED
        )
        row.reason = decision.reason
        if row.state == OutboxState.CANCELLED:
            self.stats.cancelled += 1
        else:
            self.stats.skipped += 1

    async def _deliver(self, delivery: Delivery) -> None:
        async with self._sending:
            for reply in delivery.replies.items:
                await self.limiter.acquire(delivery.chat_id)
                if not await self._send_one(delivery, reply.text, reply.buttons):
                    return
            delivery.outcome = "sent"

    async def _send_one(self, delivery: Delivery, text: str, buttons: Any) -> bool:
        try:
            message_id = await send_text(self.bot, delivery.chat_id, text, buttons)
        except TelegramRetryAfter as error:
            self.limiter.too_many_requests(error.retry_after)
            self.stats.too_many_requests += 1
            return _fail(delivery, "too_many_requests", error.message, error.retry_after)
        except TelegramForbiddenError as error:
            return _fail(delivery, "blocked", error.message)
        except TelegramBadRequest as error:
            return _fail(delivery, "refused", error.message)
        except TelegramNetworkError as error:
            if _maybe_delivered(error):
                return _fail(delivery, "maybe_sent", str(error))
            return _fail(delivery, "retry", str(error))
        except TelegramServerError as error:
            return _fail(delivery, "retry", str(error))
        self.limiter.succeeded()
        delivery.message_id = delivery.message_id or message_id
        delivery.sent += 1
        return True

    async def _record(self, deliveries: Sequence[Delivery], notes: Sequence[StaffNote]) -> None:
        if not deliveries and not notes:
            return
        now = self.clock()
        sent = [delivery for delivery in deliveries if delivery.message_id is not None]
        others = [delivery for delivery in deliveries if delivery.message_id is None]
        row_ids = [d.row_id for d in others] + [note.row_id for note in notes]
        async with self.database.session() as session:
            if sent:
                # Nearly every row of a batch: marked in one statement, not loaded first.
                marks = [
                    {"row_id": d.row_id, "message_id": d.message_id, "error": d.error, "now": now}
                    for d in sent
                ]
                await session.execute(_MARK_SENT, marks)
                self.stats.sent += len(sent)
            rows = {row.id: row for row in await _load_rows(session, row_ids)} if row_ids else {}
            for delivery in others:
                await self._record_one(session, rows[delivery.row_id], delivery, now)
            await events.record_many(session, _sent_on_timeline(deliveries, now))
            for note in notes:
                self._record_note(rows[note.row_id], note, now)
            await session.commit()

    def _record_note(self, row: OutboxMessage, note: StaffNote, now: datetime) -> None:
        row.error = note.error
        if note.delivered:
            row.state, row.sent_at, row.reason = OutboxState.SENT, now, None
            self.stats.sent += 1
        elif note.retry_after is not None and row.attempts < MAX_ATTEMPTS:
            _postpone(row, "staff_unreachable", now + timedelta(seconds=note.retry_after))
            self.stats.retried += 1
        else:
            row.state, row.reason = OutboxState.FAILED, "staff_unreachable"
            self.stats.failed += 1

    async def _record_one(
        self, session: AsyncSession, row: OutboxMessage, delivery: Delivery, now: datetime
    ) -> None:
        """A row whose first text did not go out (the sent ones are marked by _MARK_SENT)."""
        row.error = delivery.error
        if delivery.outcome == "blocked":
            await self._fan_blocked(session, row, now)
        elif delivery.outcome == "refused":
            row.state, row.reason = OutboxState.FAILED, "refused"
            self.stats.failed += 1
            await events.record(
                session, row.fan_id, EventKind.DELIVERY_FAILED, now, data={"error": row.error}
            )
        elif delivery.outcome == "maybe_sent":
            # The request went out and no answer came back in time: Telegram may have
            # delivered it. Like a crash mid-send, it is reported, never resent blindly.
            row.state, row.reason = OutboxState.UNKNOWN, "timeout"
            self.stats.unknown += 1
        elif delivery.outcome == "too_many_requests":
            # Not the row's fault: back in the queue exactly after retry_after.
            row.attempts -= 1
            _postpone(row, "too_many_requests", now + timedelta(seconds=delivery.retry_after))
            self.stats.retried += 1
        elif row.attempts >= MAX_ATTEMPTS:
            row.state, row.reason = OutboxState.FAILED, "network"
            self.stats.failed += 1
        else:
            _postpone(row, "network", now + RETRY_BACKOFF * row.attempts)
            self.stats.retried += 1

    async def _fan_blocked(self, session: AsyncSession, row: OutboxMessage, now: datetime) -> None:
        row.state, row.reason = OutboxState.CANCELLED, "blocked"
        self.stats.cancelled += 1
        fan = await session.get(Fan, row.fan_id)
        if fan is not None:
            await lifecycle.blocked(session, fan, now)
            await events.record(
                session, fan.id, EventKind.DELIVERY_FAILED, now, data={"error": row.error}
            )
        cancelled = await outbox.cancel_pending(session, row.fan_id, "blocked")
        self.stats.cancelled += cancelled


@dataclass
class _Facts:
    fan: Fan
    policy: policy.FanFacts

    def count_planned_send(self) -> None:
        """Later rows of the same batch see this send under the caps."""
        facts = self.policy
        self.policy = policy.FanFacts(
            status=facts.status,
            consents=facts.consents,
            timezone=facts.timezone,
            last_message_at=facts.last_message_at,
            sent_last_day=facts.sent_last_day + 1,
            sent_last_week=facts.sent_last_week + 1,
            taken_over=facts.taken_over,
        )


def _sent_on_timeline(deliveries: Sequence[Delivery], now: datetime) -> list[dict[str, Any]]:
    """The timeline entries of the texts that went out."""
    return [
        entry
        for delivery in deliveries
        for entry in delivery.replies.timeline_entries(now, sent=delivery.sent)
    ]


async def _load_rows(session: AsyncSession, row_ids: Sequence[int]) -> list[OutboxMessage]:
    result = await session.execute(
        select(OutboxMessage)
        .where(in_ids(OutboxMessage.id, list(row_ids)))
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
    )
    return list(result.scalars())


async def _fan_facts(
    session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
) -> dict[int, _Facts]:
    fan_ids = list({row.fan_id for row in rows})
    fans = (await session.execute(select(Fan).where(in_ids(Fan.id, fan_ids)))).scalars()
    consent_rows = await session.execute(
        select(Consent.fan_id, Consent.purpose).where(
            in_ids(Consent.fan_id, fan_ids), Consent.granted.is_(True)
        )
    )
    consents: dict[int, set[str]] = {}
    for fan_id, purpose in consent_rows:
        consents.setdefault(fan_id, set()).add(purpose)
    last_day = await outbox.sent_since(session, fan_ids, now - timedelta(days=1))
    last_week = await outbox.sent_since(session, fan_ids, now - timedelta(days=7))
    with_staff = await handoffs.open_fan_ids(session, fan_ids)
    return {
        fan.id: _Facts(
            fan,
            policy.FanFacts(
                status=fan.status,
                consents=frozenset(consents.get(fan.id, ())),
                timezone=fan.timezone,
                last_message_at=fan.last_message_at,
                sent_last_day=last_day.get(fan.id, 0),
                sent_last_week=last_week.get(fan.id, 0),
                taken_over=fan.id in with_staff,
            ),
        )
        for fan in fans
    }


def _engine_input(row: OutboxMessage) -> dialogs.Input:
    if row.content.get("daily"):
        return dialogs.DailyOpener()
    return dialogs.GoTo(str(row.content["step"]))


def _maybe_delivered(error: TelegramNetworkError) -> bool:
    """A timeout after the request was sent (not while connecting) may have been delivered."""
    cause = error.__cause__
    return isinstance(cause, TimeoutError) and not isinstance(cause, ConnectionTimeoutError)


def _postpone(row: OutboxMessage, reason: str, until: datetime) -> None:
    row.state, row.reason, row.due_at = OutboxState.PENDING, reason, until


def _fail(delivery: Delivery, outcome: str, error: str, retry_after: float = 0.0) -> bool:
    delivery.outcome, delivery.error, delivery.retry_after = outcome, error, retry_after
    return False

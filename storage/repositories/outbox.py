"""The outbox: proactive messages waiting for their time, claimed by senders."""

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.id_lists import in_ids
from storage.models import OutboxMessage, OutboxState
from storage.repositories._upsert import insert_ignoring_conflicts

# A claimed row still `sending` after this long belongs to a sender that died.
SENDING_LEASE = timedelta(minutes=2)
# Rows that send nothing to the fan (a rule's note for the staff, its delayed tag or field
# actions): they skip the fan-side contact policy and do not count under the caps.
NOT_TO_FAN = ("rule_staff", "rule_apply")


async def enqueue(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Add rows (fan_id, source, content, due_at, ...); a repeated dedupe_key is skipped."""
    if not rows:
        return 0
    values = [
        {
            "source_ref": None,
            "purpose": None,
            "priority": 0,
            "dedupe_key": None,
            "recheck": None,
            **row,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for row in rows
    ]
    statement = insert_ignoring_conflicts(session, OutboxMessage).returning(OutboxMessage.id)
    return len((await session.execute(statement, values)).scalars().all())


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, *, except_fans: Collection[int] = ()
) -> list[int]:
    """Lock due rows for this sender (others skip them), mark them `sending`; their ids.

    Higher priority first, so that when a fan's cap is reached the important message is
    the one that went out. Rows of `except_fans` (fans whose messages are going out right
    now) wait for a later batch, so that their caps are counted with those sends. One
    statement: the rows are chosen and marked in the database, not loaded and written
    back one by one (200 UPDATEs a batch, a quarter of the sender's time per batch).
    """
    due = [OutboxMessage.state == OutboxState.PENDING, OutboxMessage.due_at <= now]
    if except_fans:
        # One bound list, not a placeholder per fan: on PostgreSQL a statement text (and so
        # a prepared statement) whatever the number of fans.
        due.append(~in_ids(OutboxMessage.fan_id, list(except_fans)))
    chosen = (
        select(OutboxMessage.id)
        .where(*due)
        .order_by(OutboxMessage.priority.desc(), OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen.scalar_subquery()))
        .values(state=OutboxState.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed.scalars())


async def any_due(session: AsyncSession, now: datetime) -> bool:
    """Is any row due? A cheap look before claiming (which takes the write lock)."""
    due = select(OutboxMessage.id).where(
        OutboxMessage.state == OutboxState.PENDING, OutboxMessage.due_at <= now
    )
    return (await session.execute(due.limit(1))).first() is not None


async def mark_abandoned_unknown(session: AsyncSession, now: datetime, lease: timedelta) -> int:
    """Rows left `sending` longer than `lease` were maybe sent: never send them again."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state == OutboxState.SENDING,
            OutboxMessage.claimed_at <= now - lease,
        )
        .values(state=OutboxState.UNKNOWN, reason="sender_crashed")
        .returning(OutboxMessage.id)
    )
    return len(result.scalars().all())


async def cancel_pending(
    session: AsyncSession,
    fan_id: int,
    reason: str,
    *,
    source: str | None = None,
    source_ref: str | None = None,
) -> int:
    """Withdraw a fan's pending rows (all, or one rule's / broadcast's)."""
    conditions = [OutboxMessage.fan_id == fan_id, OutboxMessage.state == OutboxState.PENDING]
    if source is not None:
        conditions.append(OutboxMessage.source == source)
    if source_ref is not None:
        conditions.append(OutboxMessage.source_ref == source_ref)
    result = await session.execute(
        update(OutboxMessage)
        .where(*conditions)
        .values(state=OutboxState.CANCELLED, reason=reason)
        .returning(OutboxMessage.id)
    )
    return len(result.scalars().all())


async def sent_since(
    session: AsyncSession, fan_ids: Iterable[int], since: datetime
) -> dict[int, int]:
    """How many proactive messages each fan was sent since `since` (for the caps)."""
    result = await session.execute(
        select(OutboxMessage.fan_id, func.count())
        .where(
            in_ids(OutboxMessage.fan_id, list(fan_ids)),
            OutboxMessage.state == OutboxState.SENT,
            OutboxMessage.sent_at >= since,
            OutboxMessage.source.not_in(NOT_TO_FAN),
        )
        .group_by(OutboxMessage.fan_id)
    )
    return {fan_id: int(count) for fan_id, count in result}


async def counts(
    session: AsyncSession, *, source: str | None = None, source_ref: str | None = None
) -> dict[str, int]:
    """Rows by state (and skip reason), for progress and delivery stats."""
    query = select(OutboxMessage.state, OutboxMessage.reason, func.count()).group_by(
        OutboxMessage.state, OutboxMessage.reason
    )
    if source is not None:
        query = query.where(OutboxMessage.source == source)
    if source_ref is not None:
        query = query.where(OutboxMessage.source_ref == source_ref)
    totals: dict[str, int] = {}
    for state, reason, count in await session.execute(query):
        key = f"{state}:{reason}" if reason else str(state)
        totals[key] = totals.get(key, 0) + int(count)
    return totals


async def pending_of(session: AsyncSession, fan_id: int) -> list[OutboxMessage]:
    result = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.fan_id == fan_id, OutboxMessage.state == OutboxState.PENDING)
        .order_by(OutboxMessage.due_at)
    )
    return list(result.scalars())

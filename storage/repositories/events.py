"""The fan's timeline.

A transaction that records many events (the processor's group of updates) can defer
them (`defer`): they wait in the session and go out in one INSERT, with their ids read
back, just before the session's next flush or its commit, whichever comes first. So they
keep their place on the timeline before any event the ORM writes after them, a query
that flushes sees them, and a commit never leaves one behind; meanwhile they cost no ORM
object and no unit-of-work bookkeeping.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from storage.models import Event, EventKind

# The table's own INSERT, built once: an ORM insert (`insert(Event)`) goes through the
# ORM's bulk layer and builds a cache key on every call, for rows nobody reads back.
_INSERT_ROWS = insert(cast(Table, Event.__table__))
# The ids in the order of the rows (on SQLite through the table's insert sentinel).
_INSERT_ROWS_WITH_IDS = _INSERT_ROWS.returning(Event.__table__.c.id, sort_by_parameter_order=True)
_DEFERRED = "rapport.deferred_events"  # a key of Session.info


@dataclass
class PendingEvent:
    """A deferred event: its row, and its id once written."""

    row: dict[str, Any]
    id: int | None = None


# What `record` and `defer` give back: either way, `.id` is the id once written.
Recorded = Event | PendingEvent


async def record(
    session: AsyncSession,
    fan_id: int,
    kind: EventKind | str,  # a script may record kinds of its own
    now: datetime,
    *,
    content_kind: str | None = None,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> Event:
    event = Event(**_row(fan_id, kind, now, content_kind, text, data, update_id))
    session.add(event)
    return event


def defer(
    session: AsyncSession,
    fan_id: int,
    kind: EventKind | str,
    now: datetime,
    *,
    content_kind: str | None = None,
    text: str | None = None,
    data: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> PendingEvent:
    """Like `record`, written with the session's other deferred events (see the module)."""
    pending = PendingEvent(_row(fan_id, kind, now, content_kind, text, data, update_id))
    session.info.setdefault(_DEFERRED, []).append(pending)
    return pending


def _row(
    fan_id: int,
    kind: EventKind | str,
    now: datetime,
    content_kind: str | None,
    text: str | None,
    data: dict[str, Any] | None,
    update_id: int | None,
) -> dict[str, Any]:
    """An event's columns, as `record` and `defer` store them."""
    return {
        "fan_id": fan_id,
        "kind": kind,
        "content_kind": content_kind,
        "text": text,
        "data": data or {},
        "update_id": update_id,
        "created_at": now,
    }


async def write_deferred(session: AsyncSession) -> None:
    """Write the session's deferred events now (their ids are needed)."""
    if session.info.get(_DEFERRED):
        await session.run_sync(_write_deferred)


def _write_deferred(session: Session) -> None:
    waiting: list[PendingEvent] | None = session.info.get(_DEFERRED)
    if not waiting:
        return
    session.info[_DEFERRED] = []
    result = session.connection().execute(_INSERT_ROWS_WITH_IDS, [p.row for p in waiting])
    for pending, event_id in zip(waiting, result.scalars(), strict=True):
        pending.id = event_id


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write_deferred(session)  # before the ORM's own rows: they were recorded later


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _write_deferred(session)  # a flush may not have come: nothing is left behind


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, ended: SessionTransaction) -> None:
    # Committed (then already written) or rolled back with the rest. Not at the end of a
    # SAVEPOINT: what was deferred before it is not part of it.
    if ended.parent is None:
        session.info.pop(_DEFERRED, None)


async def record_many(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Put several entries on timelines in one statement, without reading their ids back.

    Each entry holds Event's columns (fan_id, kind, created_at; content_kind, text, data).
    Through the ORM, SQLite inserts rows one by one to learn each new id; nobody needs
    these ids, so they go as one executemany.
    """
    if entries:
        await session.execute(_INSERT_ROWS, [{"data": {}, **entry} for entry in entries])


async def has_any(session: AsyncSession, fan_id: int, kind: EventKind) -> bool:
    query = select(exists().where(Event.fan_id == fan_id, Event.kind == kind))
    return bool((await session.execute(query)).scalar())


async def timeline(session: AsyncSession, fan_id: int, limit: int = 100) -> list[Event]:
    """The fan's latest events, oldest first."""
    result = await session.execute(
        select(Event).where(Event.fan_id == fan_id).order_by(Event.id.desc()).limit(limit)
    )
    return list(reversed(result.scalars().all()))

"""The fan's timeline."""

from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Event, EventKind


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
    event = Event(
        fan_id=fan_id,
        kind=kind,
        content_kind=content_kind,
        text=text,
        data=data or {},
        update_id=update_id,
        created_at=now,
    )
    session.add(event)
    return event


async def record_many(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Put several entries on timelines in one statement, without reading their ids back.

    Each entry holds Event's columns (fan_id, kind, created_at; content_kind, text, data).
    Through the ORM, SQLite inserts rows one by one to learn each new id; nobody needs
    these ids, so they go as one executemany.
    """
    if entries:
        await session.execute(insert(Event), [{"data": {}, **entry} for entry in entries])


async def has_any(session: AsyncSession, fan_id: int, kind: EventKind) -> bool:
    query = select(exists().where(Event.fan_id == fan_id, Event.kind == kind))
    return bool((await session.execute(query)).scalar())


async def timeline(session: AsyncSession, fan_id: int, limit: int = 100) -> list[Event]:
    """The fan's latest events, oldest first."""
    result = await session.execute(
        select(Event).where(Event.fan_id == fan_id).order_by(Event.id.desc()).limit(limit)
    )
    return list(reversed(result.scalars().all()))

"""Keyword hits: which of the brand's keywords a fan used, and when."""

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeywordHit

# The table's own INSERT, built once (see events.record_many).
_INSERT_ROWS = insert(cast(Table, KeywordHit.__table__))


async def record_hits(
    session: AsyncSession,
    fan_id: int,
    keywords: Iterable[str],
    now: datetime,
    *,
    event_id: int | None = None,
) -> None:
    await record_many(session, [(fan_id, event_id, keywords, now)])


async def record_many(
    session: AsyncSession, messages: Iterable[tuple[int, int | None, Iterable[str], datetime]]
) -> None:
    """The hits of several messages, each (fan, message event, keywords, time), together."""
    rows = [
        {"fan_id": fan_id, "keyword": keyword, "event_id": event_id, "created_at": now}
        for fan_id, event_id, found, now in messages
        for keyword in dict.fromkeys(found)  # each keyword once per message
    ]
    if rows:
        # One executemany, without the ORM asking back every new id it does not need.
        await session.execute(_INSERT_ROWS, rows)

"""Keyword hits: which of the brand's keywords a fan used, and when."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeywordHit


async def record_hits(
    session: AsyncSession,
    fan_id: int,
    keywords: Iterable[str],
    now: datetime,
    *,
    event_id: int | None = None,
) -> None:
    rows = [
        {"fan_id": fan_id, "keyword": keyword, "event_id": event_id, "created_at": now}
        for keyword in dict.fromkeys(keywords)  # each keyword once per message
    ]
    if rows:
        # One executemany, without the ORM asking back every new id it does not need.
        await session.execute(insert(KeywordHit), rows)

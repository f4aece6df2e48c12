"""Finding fans for the console's list: simple filters, an optional extra SQL condition
(the condition language's compiled filter), counts, pages and CSV batches.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Consent, Fan, FanOrigin, FanTag, Handoff, HandoffState, Origin, Tag


@dataclass(frozen=True)
class FanFilter:
    status: str | None = None
    tag: str | None = None
    origin: str | None = None  # a campaign code, any touch
    text: str | None = None  # part of a name or @username
    # A compiled condition (storage.segments) ANDed with the simple filters.
    where: ColumnElement[bool] | None = None


def _clause(search: FanFilter) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if search.status:
        parts.append(Fan.status == search.status)
    if search.tag:
        parts.append(
            exists().where(
                FanTag.fan_id == Fan.id, FanTag.tag_id == Tag.id, Tag.name == search.tag
            )
        )
    if search.origin:
        parts.append(
            exists().where(
                FanOrigin.fan_id == Fan.id,
                FanOrigin.origin_id == Origin.id,
                Origin.code == search.origin,
            )
        )
    if search.text:
        # LIKE wildcards typed by the editor are taken literally.
        escaped = search.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped.lower()}%"
        parts.append(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (Fan.first_name, Fan.last_name, Fan.username)
                )
            )
        )
    if search.where is not None:
        parts.append(search.where)
    return and_(true(), *parts)


async def count(session: AsyncSession, search: FanFilter) -> int:
    query = select(func.count()).select_from(Fan).where(_clause(search))
    return int((await session.execute(query)).scalar_one())


async def page(
    session: AsyncSession, search: FanFilter, *, limit: int, offset: int = 0
) -> list[Fan]:
    """Most recently active first."""
    query = (
        select(Fan)
        .where(_clause(search))
        .order_by(Fan.last_seen_at.desc(), Fan.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


CSV_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "username",
    "language",
    "status",
    "joined_at",
    "last_message_at",
    "first_origin",
    "tags",
)


async def csv_batch(
    session: AsyncSession, search: FanFilter, *, after_id: int, limit: int
) -> list[Sequence[Any]]:
    """The next rows for the CSV export, by id (keyset paging: each batch is one short query)."""
    first_origin = (
        select(Origin.code)
        .join(FanOrigin, FanOrigin.origin_id == Origin.id)
        .where(FanOrigin.fan_id == Fan.id, FanOrigin.is_first.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    query: Select[Any] = (
        select(
            Fan.id,
            Fan.first_name,
            Fan.last_name,
            Fan.username,
            func.coalesce(Fan.language, Fan.telegram_language),
            Fan.status,
            Fan.joined_at,
            Fan.last_message_at,
            first_origin,
        )
        .where(_clause(search), Fan.id > after_id)
        .order_by(Fan.id)
        .limit(limit)
    )
    rows = list(await session.execute(query))
    tags = await _tags_of(session, [row[0] for row in rows])
    return [(*row, " ".join(tags.get(row[0], []))) for row in rows]


async def _tags_of(session: AsyncSession, fan_ids: list[int]) -> dict[int, list[str]]:
    if not fan_ids:
        return {}
    result = await session.execute(
        select(FanTag.fan_id, Tag.name)
        .join(Tag, Tag.id == FanTag.tag_id)
        .where(FanTag.fan_id.in_(fan_ids))
        .order_by(Tag.name)
    )
    tags: dict[int, list[str]] = {}
    for fan_id, name in result:
        tags.setdefault(fan_id, []).append(name)
    return tags


async def consents_of(session: AsyncSession, fan_id: int) -> list[Consent]:
    result = await session.execute(
        select(Consent).where(Consent.fan_id == fan_id).order_by(Consent.purpose)
    )
    return list(result.scalars())


async def handoffs_of(session: AsyncSession, fan_id: int, limit: int = 10) -> list[Handoff]:
    result = await session.execute(
        select(Handoff).where(Handoff.fan_id == fan_id).order_by(Handoff.id.desc()).limit(limit)
    )
    return list(result.scalars())


async def open_handoffs(session: AsyncSession, limit: int = 200) -> list[tuple[Handoff, Fan]]:
    """Waiting and taken handoffs, oldest first (the staff inbox)."""
    result = await session.execute(
        select(Handoff, Fan)
        .join(Fan, Fan.id == Handoff.fan_id)
        .where(Handoff.state != HandoffState.CLOSED)
        .order_by(Handoff.opened_at)
        .limit(limit)
    )
    return [(handoff, fan) for handoff, fan in result]

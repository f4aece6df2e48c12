"""Tags and the fans who carry them, with where each tag came from."""

from datetime import datetime

from sqlalchemy import Insert, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FanTag, Tag, TagSource
from storage.repositories._upsert import dialect_insert, insert_ignoring_conflicts


async def tag_id(session: AsyncSession, name: str) -> int:
    """The id of a tag, creating the tag if it is new (safe under concurrency)."""
    await session.execute(insert_ignoring_conflicts(session, Tag).values(name=name))
    result = await session.execute(select(Tag.id).where(Tag.name == name))
    return result.scalar_one()


async def add(
    session: AsyncSession,
    fan_id: int,
    name: str,
    source: TagSource,
    now: datetime,
    detail: str | None = None,
) -> bool:
    """Tag a fan; True if the tag is new for them (the first source is kept)."""
    values = {
        "fan_id": fan_id,
        "name": name,
        "source": source.value,
        "detail": detail,
        "created_at": now,
    }
    # Usually the tag exists and the fan has it not: one statement. Otherwise the tag is
    # created (if new) and the fan tagged again.
    statement = _tag_fan_by_name(session)
    # These statements read no row the session holds unflushed (the fan has its id, so
    # its row exists): without an autoflush, the session's pending rows (a group's
    # events) stay together for one flush instead of going out one by one here.
    with session.no_autoflush:
        if (await session.execute(statement, values)).first() is not None:
            return True
        await session.execute(insert_ignoring_conflicts(session, Tag).values(name=name))
        return (await session.execute(statement, values)).first() is not None


def _tag_fan_by_name(session: AsyncSession) -> Insert:
    """INSERT ... SELECT of a fan's tag, found by name; RETURNING a row if it was new.

    Built once per dialect: building it on every tag cost more than running it.
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect not in _TAG_FAN_BY_NAME:
        table = FanTag.metadata.tables[FanTag.__tablename__]
        columns = table.c
        tag = select(
            bindparam("fan_id", type_=columns.fan_id.type),
            Tag.id,
            bindparam("source", type_=columns.source.type),
            bindparam("detail", type_=columns.source_detail.type),
            bindparam("created_at", type_=columns.created_at.type),
        ).where(Tag.name == bindparam("name"))
        # Into the table: executed with a dict, the ORM would take it for a bulk insert.
        insert = dialect_insert(session, table).from_select(
            ["fan_id", "tag_id", "source", "source_detail", "created_at"], tag
        )
        _TAG_FAN_BY_NAME[dialect] = insert.on_conflict_do_nothing().returning(columns.tag_id)
    return _TAG_FAN_BY_NAME[dialect]


_TAG_FAN_BY_NAME: dict[str, Insert] = {}


async def remove(session: AsyncSession, fan_id: int, name: str) -> bool:
    tag = select(Tag.id).where(Tag.name == name).scalar_subquery()
    result = await session.execute(
        delete(FanTag).where(FanTag.fan_id == fan_id, FanTag.tag_id == tag)
    )
    return bool(getattr(result, "rowcount", 0))


async def names_of(session: AsyncSession, fan_id: int) -> list[str]:
    result = await session.execute(
        select(Tag.name).join(FanTag, FanTag.tag_id == Tag.id).where(FanTag.fan_id == fan_id)
    )
    return sorted(result.scalars())


async def of_fan(session: AsyncSession, fan_id: int) -> list[tuple[str, FanTag]]:
    """The fan's tags with their source records, by name."""
    result = await session.execute(
        select(Tag.name, FanTag)
        .join(FanTag, FanTag.tag_id == Tag.id)
        .where(FanTag.fan_id == fan_id)
        .order_by(Tag.name)
    )
    return [(name, fan_tag) for name, fan_tag in result]

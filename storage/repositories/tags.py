"""Tags and the fans who carry them, with where each tag came from."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FanTag, Tag, TagSource
from storage.repositories._upsert import insert_ignoring_conflicts


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
    statement = (
        insert_ignoring_conflicts(session, FanTag)
        .returning(FanTag.tag_id)
        .values(
            fan_id=fan_id,
            tag_id=await tag_id(session, name),
            source=source,
            source_detail=detail,
            created_at=now,
        )
    )
    return (await session.execute(statement)).first() is not None


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

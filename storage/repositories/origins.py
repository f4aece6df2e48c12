"""Origins (campaign codes) and each fan's touches."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FanOrigin, Origin
from storage.repositories._upsert import insert_ignoring_conflicts


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the brand defines it."""

    code: str
    name: str
    tags: tuple[str, ...] = ()
    gift: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


async def sync_campaigns(
    session: AsyncSession, campaigns: Iterable[CampaignSpec], now: datetime
) -> None:
    """Make the origins table say what the brand's campaigns say (origins are never deleted)."""
    for campaign in campaigns:
        origin = await by_code(session, campaign.code)
        if origin is None:
            origin = Origin(code=campaign.code, created_at=now)
            session.add(origin)
        origin.name = campaign.name
        origin.known = True
        origin.tags = list(campaign.tags)
        origin.gift = campaign.gift
    await session.flush()


async def by_code(session: AsyncSession, code: str) -> Origin | None:
    return (await session.execute(select(Origin).where(Origin.code == code))).scalar_one_or_none()


async def get_or_create(session: AsyncSession, code: str, now: datetime) -> Origin:
    """The origin for a code; a code no campaign defines becomes an unknown origin."""
    await session.execute(
        insert_ignoring_conflicts(session, Origin).values(
            code=code, name=code, known=False, tags=[], created_at=now
        )
    )
    origin = await by_code(session, code)
    assert origin is not None
    return origin


async def record_touch(
    session: AsyncSession, fan_id: int, origin_id: int, now: datetime
) -> FanOrigin:
    """Append a touch; the fan's first touch ever is marked first."""
    has_touch = (
        await session.execute(select(exists().where(FanOrigin.fan_id == fan_id)))
    ).scalar()
    touch = FanOrigin(fan_id=fan_id, origin_id=origin_id, is_first=not has_touch, created_at=now)
    session.add(touch)
    await session.flush()
    return touch


async def touches_of(session: AsyncSession, fan_id: int) -> list[tuple[FanOrigin, Origin]]:
    result = await session.execute(
        select(FanOrigin, Origin)
        .join(Origin, Origin.id == FanOrigin.origin_id)
        .where(FanOrigin.fan_id == fan_id)
        .order_by(FanOrigin.id)
    )
    return [(touch, origin) for touch, origin in result]

"""Versions of the brand folder: each import is a new version; one is active at a time."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BrandVersion


async def create(
    session: AsyncSession, files: dict[str, str], *, label: str, author: str, now: datetime
) -> BrandVersion:
    version = BrandVersion(label=label, author=author, files=files, created_at=now, active=False)
    session.add(version)
    await session.flush()
    return version


async def activate(session: AsyncSession, version_id: int, now: datetime) -> BrandVersion:
    """Make this version the active one (older versions stay, for rollback)."""
    version = await session.get(BrandVersion, version_id)
    if version is None:
        raise LookupError(f"no brand version {version_id}")
    await session.execute(
        update(BrandVersion).where(BrandVersion.active.is_(True)).values(active=False)
    )
    version.active = True
    version.activated_at = now
    await session.flush()
    return version


async def active(session: AsyncSession) -> BrandVersion | None:
    result = await session.execute(select(BrandVersion).where(BrandVersion.active.is_(True)))
    return result.scalar_one_or_none()


async def active_id(session: AsyncSession) -> int | None:
    """Which version is active: a cheap query the bot runs to notice a new one."""
    result = await session.execute(select(BrandVersion.id).where(BrandVersion.active.is_(True)))
    return result.scalar_one_or_none()


async def history(session: AsyncSession, limit: int = 50) -> list[BrandVersion]:
    result = await session.execute(
        select(BrandVersion).order_by(BrandVersion.id.desc()).limit(limit)
    )
    return list(result.scalars())

"""The brand folder and its versions in the database: check, import, export, activate.

A version is all or nothing: a folder with any problem is rejected whole with every
problem listed as `file:line:column: message`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand, Problem
from storage.database import Database
from storage.models import BrandVersion
from storage.repositories import brand_versions, origins
from storage.repositories.origins import CampaignSpec


@dataclass(frozen=True)
class ImportResult:
    version: BrandVersion | None
    problems: list[Problem]


def campaign_specs(brand: CompiledBrand) -> list[CampaignSpec]:
    return [
        CampaignSpec(
            code=campaign.code,
            name=campaign.name,
            tags=campaign.tags,
            gift=campaign.gift.code if campaign.gift else None,
        )
        for campaign in brand.campaigns.values()
    ]


async def import_dir(
    database: Database, path: Path, *, author: str, now: datetime, activate: bool = True
) -> ImportResult:
    """Store the folder as a new version (and make it active) if it has no problems."""
    files = dialogs.read_brand_dir(path)
    return await import_files(
        database, files, name=path.name, author=author, now=now, activate=activate
    )


async def import_files(
    database: Database,
    files: Mapping[str, str],
    *,
    name: str,
    author: str,
    now: datetime,
    activate: bool = True,
) -> ImportResult:
    """Store these files (a folder read, or edited in the console) as a new version."""
    problems = dialogs.check_brand(files)
    if problems:
        return ImportResult(None, problems)
    async with database.session() as session:
        count = len(await brand_versions.history(session, limit=10_000))
        version = await brand_versions.create(
            session, dict(files), label=f"{name} #{count + 1}", author=author, now=now
        )
        if activate:
            await _activate(session, version, now)
        await session.commit()
    return ImportResult(version, [])


async def activate(database: Database, version_id: int, now: datetime) -> BrandVersion:
    """Make an older version active again (a rollback) or a newer one live."""
    async with database.session() as session:
        version = await brand_versions.activate(session, version_id, now)
        await _sync_campaigns(session, version, now)
        await session.commit()
    return version


async def export_active(database: Database, path: Path) -> BrandVersion:
    async with database.session() as session:
        version = await brand_versions.active(session)
    if version is None:
        raise LookupError("no brand version is active")
    for name, text in version.files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return version


async def ensure_imported(database: Database, path: Path, now: datetime) -> BrandVersion | None:
    """At start-up: import the brand folder if the database has no active version yet."""
    async with database.session() as session:
        if await brand_versions.active_id(session) is not None:
            return None
    result = await import_dir(database, path, author="start-up", now=now)
    if result.problems:
        raise dialogs.InvalidBrandError(result.problems)
    return result.version


async def _activate(session: AsyncSession, version: BrandVersion, now: datetime) -> None:
    await brand_versions.activate(session, version.id, now)
    await _sync_campaigns(session, version, now)


async def _sync_campaigns(session: AsyncSession, version: BrandVersion, now: datetime) -> None:
    compiled = dialogs.compile_brand(dict(version.files), f"v{version.id}")
    await origins.sync_campaigns(session, campaign_specs(compiled), now)

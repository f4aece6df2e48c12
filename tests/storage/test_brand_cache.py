"""The brand cache: compiled once per version, re-checked cheaply, never a deadlock."""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage.brand_cache import BrandCache, NoActiveBrandError
from storage.database import Database
from storage.models import BrandVersion
from storage.repositories import brand_versions
from tests.factories import NOW

compiled: list[str] = []


def _compile(files: dict[str, str], label: str) -> str:
    compiled.append(label)
    return f"{label}:{files['brand.yaml']}"


async def _publish(database: Database, text: str) -> int:
    async with database.session() as session:
        version = await brand_versions.create(
            session, {"brand.yaml": text}, label=text, author="t", now=NOW
        )
        await brand_versions.activate(session, version.id, NOW)
        await session.commit()
        return version.id


async def test_compiles_each_version_once_and_sees_a_new_one(database: Database) -> None:
    compiled.clear()
    cache = BrandCache(_compile, recheck_seconds=0)
    async with database.session() as session:
        with pytest.raises(NoActiveBrandError):
            await cache.current(session)
    first = await _publish(database, "one")
    for _ in range(3):
        async with database.session() as session:
            assert await cache.current(session) == f"v{first}:one"
    second = await _publish(database, "two")
    async with database.session() as session:
        assert await cache.current(session) == f"v{second}:two"
    assert compiled == [f"v{first}", f"v{second}"]


async def test_no_deadlock_with_a_task_that_holds_the_write_lock(database: Database) -> None:
    """Regression: a refresh used to hold an asyncio lock while waiting for the database,
    while the task holding SQLite's write lock waited for that asyncio lock."""
    await _publish(database, "one")
    cache = BrandCache(_compile, recheck_seconds=0)
    async with database.session() as holder:
        await brand_versions.active_id(holder)  # BEGIN IMMEDIATE: holds the write lock

        async def other_task() -> str:
            async with database.session() as session:
                return await cache.current(session)

        waiting = asyncio.create_task(other_task())
        await asyncio.sleep(0.1)  # the other task now waits for the database
        assert (await asyncio.wait_for(cache.current(holder), 5)).endswith(":one")
        await holder.commit()
    assert (await asyncio.wait_for(waiting, 5)).endswith(":one")


async def test_tasks_asking_at_once_compile_a_new_version_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start-up the processor's groups and the scheduler's ticks all ask at once (the
    bot compiled the example brand three times before its first reply)."""
    compiled.clear()
    first = await _publish(database, "one")
    cache = BrandCache(_compile, recheck_seconds=0)
    read_files = brand_versions.active

    async def slow_read_files(session: AsyncSession) -> BrandVersion | None:
        await asyncio.sleep(0.05)  # every task is past its first look meanwhile
        return await read_files(session)

    monkeypatch.setattr(brand_versions, "active", slow_read_files)

    async def ask() -> str:
        async with database.read_session() as session:
            return await cache.current(session)

    assert await asyncio.gather(*(ask() for _ in range(5))) == [f"v{first}:one"] * 5
    assert compiled == [f"v{first}"]

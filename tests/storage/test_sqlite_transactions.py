"""Concurrent writers neither lose updates nor fail with "database is locked".

The portable read-modify-write is SELECT ... FOR UPDATE: PostgreSQL takes the row lock;
SQLite ignores the clause and relies on BEGIN IMMEDIATE, which a deferred BEGIN would not
give (two writers would read the same value and one update would be lost, or the lock
upgrade would fail with "database is locked" despite the busy timeout).
"""

import asyncio

from sqlalchemy import select, update

from storage.database import Database
from storage.models import Fan
from tests.factories import NOW, make_fan

WRITERS = 20


async def test_concurrent_read_modify_write_loses_nothing(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        fan.conversation = {"counter": 0}
        await session.commit()
        fan_id = fan.id

    async def increment() -> None:
        async with database.session() as session:
            current = (
                await session.execute(
                    select(Fan.conversation).where(Fan.id == fan_id).with_for_update()
                )
            ).scalar_one()
            await asyncio.sleep(0.01)  # let the other writers interleave
            await session.execute(
                update(Fan)
                .where(Fan.id == fan_id)
                .values(conversation={"counter": current["counter"] + 1})
            )
            await session.commit()

    await asyncio.gather(*(increment() for _ in range(WRITERS)))

    async with database.session() as session:
        fan = await session.get(Fan, fan_id)
        assert fan is not None
        assert fan.conversation == {"counter": WRITERS}
        assert fan.joined_at == NOW

"""Deferred events (storage.repositories.events.defer): one INSERT for many, written
before the session's next flush or at its commit, never lost and never out of order."""

from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database
from storage.models import Event, EventKind
from storage.repositories import events
from tests.factories import NOW, make_fan


async def timeline(database: Database) -> list[tuple[int, str, str | None]]:
    async with database.session() as session:
        rows = await session.execute(select(Event.id, Event.kind, Event.text).order_by(Event.id))
        return [(event_id, kind, text) for event_id, kind, text in rows.all()]


async def timeline_in(session: AsyncSession) -> list[int]:
    return list((await session.execute(select(Event.id))).scalars())


async def test_deferred_events_go_in_one_insert_at_the_commit(database: Database) -> None:
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO events"):
            inserts.append(statement)

    async with database.session() as session:
        fans = [await make_fan(session) for _ in range(3)]
        await session.commit()
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            pending = [
                events.defer(session, fan.id, EventKind.MESSAGE_IN, NOW, text=f"hi {n}")
                for n, fan in enumerate(fans)
            ]
            assert all(p.id is None for p in pending)
            await session.commit()  # no flush asked for: the commit writes them
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert len(inserts) == 1, inserts
    written = await timeline(database)
    assert [text for _, _, text in written] == ["hi 0", "hi 1", "hi 2"]
    assert [p.id for p in pending] == [event_id for event_id, _, _ in written]


async def test_a_deferred_event_keeps_its_place_before_later_ones(database: Database) -> None:
    """Written before the flush that writes the ORM's events recorded after it, and seen by
    a query that flushes."""
    async with database.session() as session:
        fan = await make_fan(session)
        await session.commit()
        message = events.defer(session, fan.id, EventKind.MESSAGE_IN, NOW, text="I'm in")
        await events.record(session, fan.id, EventKind.JOINED, NOW)
        count = await session.execute(select(func.count()).select_from(Event))
        assert count.scalar() == 2  # the query's autoflush wrote both
        await events.write_deferred(session)  # nothing left: no second row
        await session.commit()

    written = await timeline(database)
    assert [(kind, text) for _, kind, text in written] == [
        (EventKind.MESSAGE_IN.value, "I'm in"),
        (EventKind.JOINED.value, None),
    ]
    assert message.id == written[0][0]


async def test_a_rollback_drops_deferred_events(database: Database) -> None:
    async with database.session() as session:
        fan_id = (await make_fan(session)).id
        await session.commit()
        await timeline_in(session)  # the transaction has begun, as in the processor
        events.defer(session, fan_id, EventKind.MESSAGE_IN, NOW, text="never")
        await session.rollback()
        await timeline_in(session)
        events.defer(session, fan_id, EventKind.MESSAGE_IN, NOW, text="dropped at close")
    async with database.session() as session:
        await timeline_in(session)
        events.defer(session, fan_id, EventKind.MESSAGE_IN, NOW, text="after")
        await session.commit()

    assert [text for _, _, text in await timeline(database)] == ["after"]

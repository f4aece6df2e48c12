"""SQLite statements take one trip to aiosqlite's thread, and read back what they did."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.database import Database
from storage.sqlite_driver import OneTripConnection


@pytest.fixture
async def database(tmp_path: Path) -> Any:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with database.session() as session:
        await session.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        )
        await session.commit()
    yield database
    await database.dispose()


def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    trips: list[object] = []
    run = OneTripConnection._execute

    async def counted(self: OneTripConnection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(function)
        return await run(self, function, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    return trips


async def test_a_statement_reads_its_rows_counts_and_ids(database: Database) -> None:
    async with database.session() as session:
        inserted = await session.execute(text("INSERT INTO notes (body) VALUES ('one')"))
        assert inserted.lastrowid == 1
        await session.execute(
            text("INSERT INTO notes (body) VALUES (:body)"), [{"body": "two"}, {"body": "three"}]
        )
        changed = await session.execute(text("UPDATE notes SET body = body || '!' WHERE id > 1"))
        assert changed.rowcount == 2
        rows = await session.execute(text("SELECT id, body FROM notes ORDER BY id"))
        assert list(rows.keys()) == ["id", "body"]
        assert [tuple(row) for row in rows] == [(1, "one"), (2, "two!"), (3, "three!")]
        first = await session.execute(text("SELECT body FROM notes ORDER BY id"))
        assert first.first() == ("one",)
        none = await session.execute(text("SELECT body FROM notes WHERE id = 99"))
        assert none.scalar_one_or_none() is None
        await session.commit()


async def test_one_trip_per_statement(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with database.session() as session:
        await session.execute(text("SELECT 1"))  # the transaction has begun
        trips = _count_trips(monkeypatch)
        await session.execute(text("INSERT INTO notes (body) VALUES ('a')"))
        rows = (await session.execute(text("SELECT body FROM notes"))).all()
        assert rows == [("a",)]
        # aiosqlite's own cursor took three or four trips for each of these.
        assert len(trips) == 2
        await session.commit()


async def test_a_failing_statement_raises_and_the_connection_goes_on(database: Database) -> None:
    async with database.session() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('same')"))
        with pytest.raises(IntegrityError):
            await session.execute(text("INSERT INTO notes (body) VALUES ('same')"))
        await session.rollback()
    async with database.session() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('other')"))
        await session.commit()
    async with database.read_session() as session:
        assert (await session.execute(text("SELECT body FROM notes"))).scalars().all() == ["other"]

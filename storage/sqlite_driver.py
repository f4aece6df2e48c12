"""aiosqlite with one trip to its thread per statement.

aiosqlite runs SQLite in a thread of its own and hands every call over to it: the call is
queued, the thread takes the GIL, runs it, and wakes the event loop through its pipe
(about 30 us of CPU a trip here). SQLAlchemy's adapter makes three or four trips for one
statement (open a cursor, execute, fetch the rows, close), so on the inbound path these
hand-overs cost more than SQLite's own work. The cursor here makes one: it executes,
fetches every row and closes the SQLite cursor in a single trip, and answers the adapter's
later calls from what it brought back. Rows are fetched at once, as SQLAlchemy's
(buffered) adapter does anyway; Rapport streams no results.

The connection is aiosqlite's own; `_execute` and `_conn` are not its public API, so the
tests run every SQLite statement through this module (a change of aiosqlite that broke it
fails them all), and pyproject.toml keeps aiosqlite below its next minor version.
"""

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

# The DB-API column description SQLite gives, or None for a statement without rows.
Description = tuple[tuple[Any, ...], ...] | None


@dataclass(frozen=True)
class _Outcome:
    description: Description
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


def _run(
    connection: sqlite3.Connection,
    operation: str,
    parameters: Any,
    many: bool,
) -> _Outcome:
    """In aiosqlite's thread: the whole statement, its rows included."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTripCursor:
    """What SQLAlchemy's aiosqlite adapter asks of a cursor, one trip per statement."""

    def __init__(self, connection: "OneTripConnection") -> None:
        self._connection = connection
        self._outcome: _Outcome | None = None
        self._next = 0  # the next row to hand out
        self.arraysize = 1

    async def __aenter__(self) -> "OneTripCursor":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def description(self) -> Description:
        return self._outcome.description if self._outcome else None

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount if self._outcome else -1

    @property
    def lastrowid(self) -> int | None:
        return self._outcome.lastrowid if self._outcome else None

    async def execute(self, operation: str, parameters: Any = None) -> "OneTripCursor":
        await self._start(operation, parameters, many=False)
        return self

    async def executemany(self, operation: str, parameters: Iterable[Any]) -> "OneTripCursor":
        await self._start(operation, parameters, many=True)
        return self

    async def fetchone(self) -> Any:
        rows = self._take(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._take(self.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._take(None)

    async def close(self) -> None:
        """The SQLite cursor closed with its statement; only the rows are let go."""
        if self._outcome is not None:
            self._outcome.rows.clear()

    async def _start(self, operation: str, parameters: Any, *, many: bool) -> None:
        self._outcome = await self._connection.run_statement(operation, parameters, many)
        self._next = 0

    def _take(self, count: int | None) -> list[Any]:
        rows = self._outcome.rows if self._outcome else []
        end = len(rows) if count is None else min(len(rows), self._next + count)
        taken, self._next = rows[self._next : end], end
        return taken


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def run_statement(self, operation: str, parameters: Any, many: bool) -> _Outcome:
        run = partial(_run, self._conn, operation, parameters, many)
        outcome: _Outcome = await self._execute(run)  # type: ignore[no-untyped-call]
        return outcome


def connection_factory(url: URL, timeout: float) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: a OneTripConnection to the URL's
    database, opened with the arguments SQLAlchemy's aiosqlite dialect would use."""
    arguments: Sequence[Any]
    arguments, options = SQLiteDialect_aiosqlite().create_connect_args(url)

    async def connect() -> OneTripConnection:
        connector = partial(sqlite3.connect, *arguments, **{**options, "timeout": timeout})
        connection = OneTripConnection(connector, iter_chunk_size=64)
        # As SQLAlchemy's dialect does: a thread left over must not keep the process up.
        connection._thread.daemon = True
        await connection  # starts its thread and opens the database
        return connection

    return connect

"""The database engine and its sessions, for SQLite and PostgreSQL alike."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

# How long a SQLite writer waits for the lock before "database is locked" (seconds).
SQLITE_BUSY_TIMEOUT = 30.0
# Execution option of the read-only sessions (see Database.read_session).
READ_ONLY = "rapport_read_only"


class Database:
    """One engine and its session factory. Made by the app factory, never at import time."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url: URL = make_url(url)
        self.engine: AsyncEngine = _create_engine(self.url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        # SQLite has one writer. Writers of this process queue here, in order, instead of
        # in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) between
        # tries and turns ten concurrent updates into seconds of waiting.
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for one unit of work. The caller commits; an error rolls back.

        Keep it short and never open a second one inside it: on SQLite the session holds
        the process's write turn until it closes.
        """
        if self._sqlite_writer is None:
            async with self.sessions() as session:
                yield session
            return
        async with self._sqlite_writer, self.sessions() as session:
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads: on SQLite it neither waits for nor holds the write turn.

        In WAL mode a reader sees the last commit and blocks no writer, so short look-ups
        (how many updates wait, which ones) need not queue behind the handlers. Never write
        in it: on SQLite its deferred transaction may not be upgraded to a write.
        """
        async with self._read_sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def plan_for_these_values(session: AsyncSession) -> None:
    """On PostgreSQL, plan this transaction's statements for the values they are run with.

    asyncpg prepares every statement, and after five runs PostgreSQL may keep one generic
    plan for it, made for no values in particular from the statistics of that moment. The
    outbox moves fast: a broadcast turns 100,000 pending rows into sent ones within
    minutes, before autovacuum has analysed the table again, and the sender's per-fan
    counts of recent sends then kept a plan that read every sent row, for every batch
    (a 100,000-fan broadcast at 1000 msg/s fell to 370 msg/s). For the transaction only:
    elsewhere a plan made once is worth keeping (the inbound path's statements are
    simple, and planning each run cost it 3-4 %).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def analyze_if_stale(
    session: AsyncSession, table: str, *, min_rows: int, share: float
) -> bool:
    """On PostgreSQL, refresh a table's planner statistics once enough rows changed.

    Changed means inserted, updated or deleted since its last ANALYZE: at least `min_rows`
    and at least `share` of the rows it had then. Autovacuum does the same, but only at
    its next round (a minute apart by default), and not at all where it is switched off;
    meanwhile PostgreSQL plans with what it saw before. Returns whether it analysed.
    """
    if session.get_bind().dialect.name != "postgresql":
        return False
    changed = await session.execute(
        text(
            "SELECT stats.n_mod_since_analyze, greatest(class.reltuples, 0)"
            " FROM pg_stat_user_tables AS stats JOIN pg_class AS class ON class.oid = stats.relid"
            " WHERE stats.relid = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    row = changed.first()
    if row is None or row[0] < max(min_rows, share * row[1]):
        return False
    # Not behind a running ANALYZE or VACUUM of the table: the next look comes soon enough.
    await session.execute(text("SET LOCAL lock_timeout = '1s'"))
    await session.execute(text(f'ANALYZE "{table}"'))
    return True


def sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _create_engine(url: URL, *, echo: bool) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        # JIT compilation pays off for long analytical queries; Rapport's are short, and
        # the segment benchmark saw it spend 120 of 185 ms compiling one count.
        connect_args = (
            {"server_settings": {"jit": "off"}} if url.drivername.endswith("asyncpg") else {}
        )
        return create_async_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    # Imported here: it loads sqlite3, aiosqlite and SQLAlchemy's SQLite dialect, 1.5 MiB
    # of a bot on PostgreSQL that never uses them.
    from storage.sqlite_driver import connection_factory

    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, async_creator=connection_factory(url, SQLITE_BUSY_TIMEOUT)
    )
    event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from the sqlite3 module: it would emit a deferred BEGIN, which lets
    # two writers read the same row and lose one update, or fail with "database is locked"
    # when the read lock cannot be upgraded (the busy timeout does not apply there).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Every transaction takes the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing. Reads in WAL mode are not blocked by it.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")

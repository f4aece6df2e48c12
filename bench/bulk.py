"""Bulk loading for generated benchmark data: COPY on PostgreSQL, executemany on SQLite.

Rows are plain tuples in the table's column order, with Python values (aware datetimes,
dates, bools, dicts for JSON). They are converted here to what each driver stores, the
same forms SQLAlchemy's types write, so the application reads them like its own rows.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text

from storage.database import Database

CHUNK = 50_000


async def load(
    database: Database, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Insert the rows in big transactions; how many were inserted."""
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            count += await _load_chunk(database, table, columns, chunk)
            chunk = []
    if chunk:
        count += await _load_chunk(database, table, columns, chunk)
    return count


async def _load_chunk(
    database: Database, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> int:
    async with database.session() as session:
        connection = await (await session.connection()).get_raw_connection()
        driver: Any = connection.driver_connection
        if database.is_postgres:
            await driver.copy_records_to_table(
                table, records=[tuple(map(_for_postgres, row)) for row in rows], columns=columns
            )
        else:
            marks = ", ".join("?" for _ in columns)
            await driver.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(map(_for_sqlite, row)) for row in rows],
            )
        await session.commit()
    return len(rows)


async def reset_sequence(database: Database, table: str) -> None:
    """After rows with explicit ids, PostgreSQL's sequence must move past them."""
    if not database.is_postgres:
        return
    async with database.session() as session:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )
        await session.commit()


async def analyze(database: Database) -> None:
    """Fresh statistics for the query planners, as a live database would have them.

    On PostgreSQL also VACUUM, as autovacuum would have done on a live database: it marks
    the loaded pages all-visible, which index-only scans need.
    """
    if database.engine.dialect.name == "postgresql":
        autocommit = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))  # not inside a transaction
        return
    async with database.session() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()


def _for_postgres(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)  # json columns take their text over COPY
    return value


def _for_sqlite(value: Any) -> Any:
    # The forms SQLAlchemy's SQLite types store: naive UTC text, ISO dates, 0/1, JSON text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value

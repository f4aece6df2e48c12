"""Shared fixtures: a fresh, migrated database on SQLite and on PostgreSQL.

PostgreSQL is the machine's server at 127.0.0.1:5432 (user postgres, trust auth). Each test
gets its own database, cloned from a template migrated once per run. Without the server the
PostgreSQL half is skipped locally and fails under CI=true.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage import migrate
from storage.database import Database

POSTGRES_SERVER = os.environ.get(
    "RAPPORT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
POSTGRES_MAINTENANCE_DB = "test"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    dsn = POSTGRES_SERVER.replace("postgresql+asyncpg", "postgresql")
    connection = await asyncpg.connect(f"{dsn}/{POSTGRES_MAINTENANCE_DB}", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"rapport_template_{os.getpid()}"
    try:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is unreachable under CI: {error}")
        pytest.skip(f"PostgreSQL at {POSTGRES_SERVER} is unreachable: {error}")
    asyncio.run(_migrate(f"{POSTGRES_SERVER}/{name}"))
    yield name
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database at the latest schema."""
    if backend == "sqlite":
        path = tmp_path / "rapport.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{POSTGRES_SERVER}/{name}"
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of a database with no tables at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    request.getfixturevalue("postgres_template")  # skips or fails when the server is away
    name = f"rapport_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES_SERVER}/{name}"
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()

"""Schema migrations with Alembic, run from code (no alembic.ini needed).

`python -m storage.migrate` brings the database at RAPPORT_DATABASE_URL to the latest
schema (the running bot calls it through storage.migrate_child).
"""

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`. Running it again on an up-to-date database is a no-op."""
    async with database.engine.connect() as connection:
        await connection.run_sync(_run, "upgrade", revision)
        await connection.commit()


async def downgrade(database: Database, revision: str) -> None:
    async with database.engine.connect() as connection:
        await connection.run_sync(_run, "downgrade", revision)
        await connection.commit()


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    # env.py uses this connection instead of opening its own engine.
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _upgrade_configured() -> None:
    database = Database(os.environ["RAPPORT_DATABASE_URL"])
    try:
        await upgrade(database)
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(_upgrade_configured())

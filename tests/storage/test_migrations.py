"""Migrations: every revision goes up, down and up again; the models match the migrations."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage import migrate
from storage.base import Base, exists_on
from storage.database import Database


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def test_stairway_up_down_up_for_every_revision(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        previous = "base"
        for revision in _revisions_oldest_first():
            await migrate.upgrade(database, revision)
            await migrate.downgrade(database, previous)
            await migrate.upgrade(database, revision)
            assert await migrate.current_revision(database) == revision
            previous = revision
    finally:
        await database.dispose()


async def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await migrate.upgrade(database)
        await migrate.upgrade(database)
        assert await migrate.current_revision(database) == migrate.head_revision()
    finally:
        await database.dispose()


def _differences(connection: Connection) -> list[object]:
    options = {"compare_type": True, "include_object": exists_on(connection.dialect.name)}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_the_migrations(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []

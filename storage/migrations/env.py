"""Alembic environment: storage.migrate passes a live connection in config.attributes.

Used from the command line (`alembic -x url=...`) it opens its own engine instead.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.base import Base, exists_on
from storage.models import Fan  # noqa: F401  (registers the tables on Base.metadata)

target_metadata = Base.metadata


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=exists_on(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
        await connection.commit()
    await engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run_with_connection(given)
else:
    asyncio.run(run_with_own_engine(context.get_x_argument(as_dictionary=True)["url"]))

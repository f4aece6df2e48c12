"""INSERT ... ON CONFLICT DO NOTHING for both dialects."""

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import Base


def dialect_insert(dialect: str, model: type[Base]) -> Any:
    """The dialect's own INSERT (it has ON CONFLICT) for `dialect`, "postgresql" or "sqlite".

    The PostgreSQL dialect is imported only when used: a bot on SQLite never loads it
    (about 2 MiB of resident memory).
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(model)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(model)


def insert_ignoring_conflicts(session: AsyncSession, model: type[Base]) -> Insert:
    """An INSERT that silently skips rows whose unique key already exists."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement: Any = dialect_insert(dialect, model)
    result: Insert = statement.on_conflict_do_nothing()
    return result

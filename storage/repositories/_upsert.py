"""INSERT ... ON CONFLICT DO NOTHING for both dialects."""

from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import Base


def dialect_insert(session: AsyncSession, model: type[Base] | Table) -> Any:
    """The INSERT of the session's dialect (it has ON CONFLICT): PostgreSQL's or SQLite's.

    Into a Table (not a model), it is a Core statement: executed with a dict of values,
    the ORM would take the dict for rows of a bulk insert.

    The PostgreSQL dialect is imported only when used: a bot on SQLite never loads it
    (about 2 MiB of resident memory).
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(model)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(model)


def insert_ignoring_conflicts(session: AsyncSession, model: type[Base]) -> Insert:
    """An INSERT that silently skips rows whose unique key already exists."""
    statement: Any = dialect_insert(session, model)
    result: Insert = statement.on_conflict_do_nothing()
    return result

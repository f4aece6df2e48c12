"""INSERT ... ON CONFLICT DO NOTHING for both dialects."""

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import Base


def insert_ignoring_conflicts(session: AsyncSession, model: type[Base]) -> Insert:
    """An INSERT that silently skips rows whose unique key already exists."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    result: Insert = statement.on_conflict_do_nothing()
    return result

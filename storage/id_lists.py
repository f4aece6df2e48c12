"""`column IN (the ids)` with the ids as one parameter, whatever their number.

SQLAlchemy's expanding IN (`column.in_(bindparam(..., expanding=True))`) renders one
placeholder per value every time the statement runs: for a group of 17 inbound updates,
six statements with 17 to 68 placeholders each, rendered in Python on every group (a
fortieth of an inbound update's Python calls), and on PostgreSQL a statement text (and
so a prepared statement) per list length. `in_id_list(column, name)` sends the list as
one value instead:

- PostgreSQL: `column = ANY(:name)`, the list as a bigint array;
- SQLite: `column IN (SELECT value FROM json_each(:name))`, the list as JSON text.

The statement is built once and cached as usual; the caller passes a list of ints.
"""

import json
from typing import Any

from sqlalchemy import ARRAY, BigInteger, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import ColumnElement, bindparam
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean


class IdList(TypeDecorator[list[int]]):
    """A list of ids as one bound value: an array on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps([int(item) for item in value])


class InIdList(ColumnElement[bool]):
    """`column` is one of the ids bound to `parameter` (see the module)."""

    __visit_name__ = "in_id_list"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration)
        ("column", InternalTraversal.dp_clauseelement),
        ("parameter", InternalTraversal.dp_clauseelement),
    ]
    # A condition in itself: SQLite needs no "= 1" after it.
    _is_implicitly_boolean = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], parameter: ColumnElement[Any]) -> None:
        self.column = column
        self.parameter = parameter


Column = ColumnElement[Any] | QueryableAttribute[Any]


def in_id_list(column: Column, name: str) -> InIdList:
    """`column IN (the ids passed as parameter `name`)`, the list bound as one value."""
    return InIdList(_expression(column), bindparam(name, type_=IdList()))


def in_ids(column: Column, ids: list[int]) -> InIdList:
    """`column IN ids`, for a statement built each time (the list is its value)."""
    return InIdList(_expression(column), bindparam(None, ids, type_=IdList()))


def _expression(column: Column) -> ColumnElement[Any]:
    return column.__clause_element__() if isinstance(column, QueryableAttribute) else column


@compiles(InIdList, "postgresql")
def _on_postgresql(element: InIdList, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.parameter, **kw)})"


@compiles(InIdList)
def _elsewhere(element: InIdList, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    ids = compiler.process(element.parameter, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"  # noqa: S608 (compiled SQL)

"""The declarative base with a constraint naming convention (Alembic needs stable names)."""

from collections.abc import Callable

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Info key of a schema item that exists on one database only (the migrations make it
# there alone): the models-against-migrations comparison skips it elsewhere.
ONLY_ON_DIALECT = "only_on_dialect"


def exists_on(dialect_name: str) -> Callable[..., bool]:
    """An Alembic `include_object` hook: leave out the items made for another database."""

    def include_object(item: object, name: str | None, type_: str, *_: object) -> bool:
        only_on = getattr(item, "info", {}).get(ONLY_ON_DIALECT)
        return only_on is None or only_on == dialect_name

    return include_object

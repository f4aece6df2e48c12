"""Profile fields, stored typed so that conditions can compare them in SQL."""

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.id_lists import in_id_list
from storage.models import FanField

FieldValue = str | int | float | bool | date


async def set_value(
    session: AsyncSession,
    fan_id: int,
    name: str,
    value: FieldValue,
    *,
    category: str,
    source: str,
    now: datetime,
) -> FanField:
    """Set a field; the text form is always kept (for display), the typed form for queries."""
    field = await session.get(FanField, (fan_id, name))
    if field is None:
        field = FanField(fan_id=fan_id, name=name)
        session.add(field)
    field.value_text, field.value_number, field.value_date = _typed(value)
    field.category = category
    field.source = source
    field.updated_at = now
    await session.flush()
    return field


async def of_fan(session: AsyncSession, fan_id: int) -> dict[str, FanField]:
    return (await of_fans(session, [fan_id]))[fan_id]


# Built once (read on every inbound update).
_OF_FANS = select(FanField).where(in_id_list(FanField.fan_id, "fan_ids"))


async def of_fans(
    session: AsyncSession, fan_ids: Collection[int]
) -> dict[int, dict[str, FanField]]:
    """Every field of every fan asked for, by fan and name, in one query."""
    ids = list(fan_ids)
    by_fan: dict[int, dict[str, FanField]] = {fan_id: {} for fan_id in ids}
    result = await session.execute(_OF_FANS, {"fan_ids": ids})
    for field in result.scalars():
        by_fan[field.fan_id][field.name] = field
    return by_fan


def value_of(field: FanField) -> FieldValue | None:
    """The field's value in its own type."""
    if field.value_date is not None:
        return field.value_date
    if field.value_number is not None:
        number = field.value_number
        return int(number) if number.is_integer() else number
    return field.value_text


def typed_value(value: FieldValue) -> tuple[str, float | None, date | None]:
    """The text, number and date columns that store `value` (for bulk writes)."""
    return _typed(value)


def _typed(value: FieldValue) -> tuple[str, float | None, date | None]:
    if isinstance(value, datetime):
        return value.isoformat(), None, value.date()
    if isinstance(value, date):
        return value.isoformat(), None, value
    if isinstance(value, bool):
        return ("yes" if value else "no"), float(value), None
    if isinstance(value, int | float):
        return str(value), float(value), None
    return str(value), None, None

"""Delayed tag, field and cancel actions: outbox rows the sender applies when they are due.

A rule with a delay does all its actions after the delay ("3 days after joining, tag as
warm"), so those actions wait in the outbox next to the rule's sends, with the same
re-check; they bypass the fan-side contact policy (nothing is sent to the fan) and do not
count under the frequency caps.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.rules.firing import CANCELLED_BY_RULE, RULE_SOURCE
from storage.models import TagSource
from storage.repositories import fields, outbox, tags

__all__ = ["apply_delayed"]


async def apply_delayed(
    session: AsyncSession, content: dict[str, Any], fan_id: int, rule: str, now: datetime
) -> None:
    """Apply one `{"apply": {...}}` outbox content for the fan."""
    action = content.get("apply") or {}
    for name in action.get("add_tags", []):
        await tags.add(session, fan_id, str(name), TagSource.RULE, now, detail=rule)
    for name in action.get("remove_tags", []):
        await tags.remove(session, fan_id, str(name))
    categories, dates = action.get("categories", {}), set(action.get("dates", []))
    for name, value in (action.get("set_field") or {}).items():
        await fields.set_value(
            session,
            fan_id,
            name,
            date.fromisoformat(value) if name in dates else _field_value(value),
            category=str(categories.get(name, "operation")),
            source=f"rule:{rule}",
            now=now,
        )
    if (other := action.get("cancel")) is not None:
        await outbox.cancel_pending(
            session, fan_id, CANCELLED_BY_RULE, source=RULE_SOURCE, source_ref=str(other)
        )


def _field_value(value: Any) -> fields.FieldValue:
    return value if isinstance(value, int | float) else str(value)

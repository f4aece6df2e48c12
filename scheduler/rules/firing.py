"""One rule firing for a set of fans, in SQL: the firing history first, then the actions.

    INSERT INTO rule_firings SELECT fans WHERE <condition> AND NOT EXISTS <limit> ...
        ON CONFLICT (rule, fan, occurrence) DO NOTHING

The rows this inserts are the batch (same rule, same `fired_at`); every action then works
on the batch with one statement (INSERT ... SELECT into the outbox or the tags, an UPDATE
or a DELETE), so a schedule that matches many fans is still a handful of statements and
never a Python loop over them. Running the same firing twice changes nothing: the history
and the outbox both have unique keys. (A batch can also hold fans the same rule fired for
earlier in the same tick, in another time zone; every action is idempotent, so acting on
them again changes nothing.)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    Float,
    Select,
    String,
    Text,
    cast,
    delete,
    exists,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from dialogs.conditions import condition_to_data
from dialogs.rule_model import (
    Action,
    AddTags,
    CancelRule,
    NotifyStaff,
    RemoveTags,
    Rule,
    SendStep,
    SendText,
    SetFields,
)
from storage import segments
from storage.models import (
    Fan,
    FanField,
    FanStatus,
    FanTag,
    OutboxMessage,
    OutboxState,
    RuleFiring,
    TagSource,
)
from storage.repositories import fields, tags
from storage.repositories._upsert import dialect_insert
from storage.repositories.outbox import NOT_TO_FAN
from storage.types import UTCDateTime

__all__ = [
    "APPLY_SOURCE",
    "STAFF_SOURCE",
    "apply_content",
    "fire",
    "outbox_content",
]

RULE_SOURCE = "rule"
# Outbox rows of a rule that are not messages to the fan (see outbox.NOT_TO_FAN).
STAFF_SOURCE, APPLY_SOURCE = NOT_TO_FAN
CANCELLED_BY_RULE = "cancelled_by_rule"


async def fire(
    session: AsyncSession,
    brand: CompiledBrand,
    rule: Rule,
    *,
    fans: ColumnElement[bool],
    occurrence: ColumnElement[str],
    due_at: datetime,
    now: datetime,
) -> int:
    """Fire `rule` for the active fans matching `fans` and its condition; how many fired."""
    wanted = [Fan.status == FanStatus.ACTIVE.value, fans, _within_limit(rule, now)]
    if rule.condition is not None:
        wanted.append(segments.fan_filter(rule.condition, now))
    history = select(
        Fan.id,
        literal(rule.name),
        cast(occurrence, String),
        literal(now, UTCDateTime()),
        literal(brand.version),
    ).where(*wanted)
    statement = (
        dialect_insert(session, RuleFiring)
        .from_select(["fan_id", "rule", "occurrence", "fired_at", "brand_version"], history)
        .on_conflict_do_nothing()
        .returning(RuleFiring.fan_id)
    )
    fired = len((await session.execute(statement)).scalars().all())
    if fired:
        await _act(session, rule, due_at, now)
    return fired


def _within_limit(rule: Rule, now: datetime) -> ColumnElement[bool]:
    """NOT EXISTS an earlier firing that the rule's limit counts."""
    if rule.limit.kind == "always":
        return true()
    earlier = [RuleFiring.rule == rule.name, RuleFiring.fan_id == Fan.id]
    if rule.limit.every is not None:
        earlier.append(RuleFiring.fired_at > now - rule.limit.every)
    return ~exists().where(*earlier)


def _batch(rule: Rule, now: datetime) -> list[ColumnElement[bool]]:
    return [RuleFiring.rule == rule.name, RuleFiring.fired_at == now]


def _batch_fans(rule: Rule, now: datetime) -> Select[int]:
    return select(RuleFiring.fan_id).where(*_batch(rule, now))


async def _act(session: AsyncSession, rule: Rule, due_at: datetime, now: datetime) -> None:
    delayed = due_at > now
    first_row = True
    for index, action in enumerate(rule.actions):
        content = outbox_content(action)
        if content is None and delayed:
            content = apply_content(action)  # tags and fields wait for the delay too
        if content is None:
            await _apply_now(session, rule, action, now)
            continue
        await _enqueue(session, rule, action, index, content, due_at, now)
        if first_row and isinstance(action, SendStep | SendText):
            await _link_first_row(session, rule, index, now)
            first_row = False


def outbox_content(action: Action) -> dict[str, Any] | None:
    """What an outbox row sends for this action; None for actions that are not messages."""
    match action:
        case SendStep(step=step):
            return {"step": step}
        case SendText(texts=texts):
            return {"text": dict(texts)}
        case NotifyStaff(template=template):
            return {"notify_staff": template}
        case _:
            return None


def apply_content(action: Action) -> dict[str, Any]:
    """A delayed tag, field or cancel action as outbox content (see `scheduler.rules.apply`)."""
    match action:
        case AddTags(tags=names):
            return {"apply": {"add_tags": list(names)}}
        case RemoveTags(tags=names):
            return {"apply": {"remove_tags": list(names)}}
        case SetFields(values=values, categories=categories):
            data = {name: _json_value(value) for name, value in values}
            dates = [name for name, value in values if isinstance(value, date)]
            return {"apply": {"set_field": data, "categories": dict(categories), "dates": dates}}
        case CancelRule(rule=name):
            return {"apply": {"cancel": name}}
        case _:
            raise ValueError(f"{action} is sent, not applied")


def _json_value(value: object) -> str | int | float:
    return value if isinstance(value, str | int | float) else str(value)


def _dedupe_key(rule: Rule, index: int) -> ColumnElement[str]:
    """rule:<name>:<fan>:<occurrence>:<action>, computed from the history row."""
    return (
        literal(f"rule:{rule.name}:")
        + cast(RuleFiring.fan_id, String)
        + literal(":")
        + RuleFiring.occurrence
        + literal(f":{index}")
    )


async def _enqueue(
    session: AsyncSession,
    rule: Rule,
    action: Action,
    index: int,
    content: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> None:
    to_fan = isinstance(action, SendStep | SendText)
    source = RULE_SOURCE if to_fan else STAFF_SOURCE if "notify_staff" in content else APPLY_SOURCE
    values: dict[str, Any] = {
        "fan_id": RuleFiring.fan_id,
        "source": literal(source),
        "source_ref": literal(rule.name),
        "content": literal(content, JSON),
        "purpose": literal(rule.purpose if to_fan else None, String),
        "priority": literal(rule.priority),
        "due_at": literal(due_at, UTCDateTime()),
        "state": literal(OutboxState.PENDING.value),
        "dedupe_key": _dedupe_key(rule, index),
        "attempts": literal(0),
        "created_at": literal(now, UTCDateTime()),
    }
    if rule.recheck is not None:
        values["recheck"] = literal(condition_to_data(rule.recheck), JSON)
    rows = select(*values.values()).where(*_batch(rule, now))
    statement = (
        dialect_insert(session, OutboxMessage)
        .from_select(list(values), rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    await session.execute(statement)


async def _link_first_row(session: AsyncSession, rule: Rule, index: int, now: datetime) -> None:
    row_id = (
        select(OutboxMessage.id)
        .where(OutboxMessage.dedupe_key == _dedupe_key(rule, index))
        .scalar_subquery()
    )
    await session.execute(update(RuleFiring).where(*_batch(rule, now)).values(outbox_id=row_id))


async def _apply_now(session: AsyncSession, rule: Rule, action: Action, now: datetime) -> None:
    fans = _batch_fans(rule, now)
    match action:
        case AddTags(tags=names):
            for name in names:
                await _add_tag(session, rule, name, now)
        case RemoveTags(tags=names):
            for name in names:
                tag = await tags.tag_id(session, name)
                await session.execute(
                    delete(FanTag).where(FanTag.tag_id == tag, FanTag.fan_id.in_(fans))
                )
        case SetFields(values=values, categories=categories):
            for name, value in values:
                await _set_field(session, rule, name, value, categories[name], now)
        case CancelRule(rule=other):
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.source == RULE_SOURCE,
                    OutboxMessage.source_ref == other,
                    OutboxMessage.state == OutboxState.PENDING,
                    OutboxMessage.fan_id.in_(fans),
                )
                .values(state=OutboxState.CANCELLED, reason=CANCELLED_BY_RULE)
            )
        case _:
            raise ValueError(f"{action} is sent, not applied")


async def _add_tag(session: AsyncSession, rule: Rule, name: str, now: datetime) -> None:
    tag = await tags.tag_id(session, name)
    rows = select(
        RuleFiring.fan_id,
        literal(tag),
        literal(TagSource.RULE.value),
        literal(rule.name),
        literal(now, UTCDateTime()),
    ).where(*_batch(rule, now))
    statement = (
        dialect_insert(session, FanTag)
        .from_select(["fan_id", "tag_id", "source", "source_detail", "created_at"], rows)
        .on_conflict_do_nothing()
    )
    await session.execute(statement)


async def _set_field(
    session: AsyncSession,
    rule: Rule,
    name: str,
    value: fields.FieldValue,
    category: str,
    now: datetime,
) -> None:
    text, number, day = fields.typed_value(value)
    columns = {
        "fan_id": RuleFiring.fan_id,
        "name": literal(name),
        "value_text": literal(text, Text),
        "value_number": literal(number, Float),
        "value_date": literal(day, Date),
        "category": literal(category),
        "source": literal(f"rule:{rule.name}"),
        "updated_at": literal(now, UTCDateTime()),
    }
    insert = dialect_insert(session, FanField).from_select(
        list(columns), select(*columns.values()).where(*_batch(rule, now))
    )
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=["fan_id", "name"],
        set_={
            column: excluded[column]
            for column in ("value_text", "value_number", "value_date", "category", "source")
        }
        | {"updated_at": excluded.updated_at},
    )
    await session.execute(statement)

"""The segment compiler: a condition (dialogs.conditions) becomes one SQL WHERE clause over fans.

Every leaf is either a comparison on an indexed column of `fans` or a correlated EXISTS
on a child table (tags, fields, keyword hits, origins, events, consents), so a segment is
one query that the database plans with its indexes; no fan is loaded into Python to be
filtered. The same clause runs on SQLite and PostgreSQL and gives the same fans.

Three-valued logic: a comparison with a NULL column is neither true nor false in SQL, and
`NOT` of it would be NULL too, so a fan would fall out of both a segment and its negation.
Every leaf here is therefore made two-valued (EXISTS is; nullable columns are guarded with
`IS NOT NULL AND ...`), and `not` is the exact complement of its condition.

Time: windows ("within 30d") are measured from the `now` the caller gives; ages are turned
into birthday cut-off dates in Python, so no database date arithmetic is needed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.conditions import (
    AgeRange,
    AllOf,
    AnyOf,
    ClaimedGift,
    Condition,
    FieldIs,
    FromOrigin,
    HasConsent,
    HasTag,
    JoinedBefore,
    JoinedWithin,
    LanguageIs,
    Not,
    RepliedWithin,
    Said,
    Scalar,
    SilentFor,
    StatusIs,
    parse_condition,
)
from storage.models import (
    Consent,
    Event,
    EventKind,
    Fan,
    FanField,
    FanOrigin,
    FanTag,
    KeywordHit,
    Origin,
    Tag,
)

__all__ = [
    "ANY_GIFT",
    "age_cutoff",
    "count_and_sample",
    "fan_filter",
    "fan_matches",
    "matching_fan_ids",
    "recheck_condition",
]

logger = logging.getLogger(__name__)

ANY_GIFT = "any"  # `claimed_gift: any`: a gift of any campaign


def fan_filter(condition: Condition, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause over `storage.models.Fan` that is true exactly for the matching fans."""
    match condition:
        case AllOf(all=children):
            return and_(true(), *(fan_filter(child, now) for child in children))
        case AnyOf(any=children):
            return or_(false(), *(fan_filter(child, now) for child in children))
        case Not(not_=child):
            return not_(fan_filter(child, now))
        case HasTag(tag=name):
            return _has_tag(name)
        case FieldIs():
            return _field(condition, now)
        case FromOrigin(origin=code, touch=touch):
            return _from_origin(code, first_only=touch == "first")
        case JoinedWithin(joined_within=window):
            return Fan.joined_at >= now - window
        case JoinedBefore(joined_before=window):
            return Fan.joined_at < now - window
        case Said(said=keywords, within=window):
            return and_(*(_said(keyword, now - window) for keyword in keywords))
        case ClaimedGift(claimed_gift=code):
            return _claimed_gift(code)
        case RepliedWithin(replied_within=window):
            return _not_null_and(Fan.last_message_at, Fan.last_message_at >= now - window)
        case SilentFor(silent_for=window):
            # Never wrote: silent since joining.
            return func.coalesce(Fan.last_message_at, Fan.joined_at) <= now - window
        case StatusIs(status=statuses):
            return Fan.status.in_(statuses)
        case LanguageIs(language=languages):
            return _not_null_and(Fan.language, Fan.language.in_(languages))
        case HasConsent(consent=purpose):
            return exists().where(
                Consent.fan_id == Fan.id, Consent.purpose == purpose, Consent.granted.is_(True)
            )
    raise TypeError(f"not a condition: {condition!r}")  # pragma: no cover - the union is closed


def matching_fan_ids(condition: Condition, now: datetime) -> Select[int]:
    """`SELECT fans.id WHERE <condition>`, to count, page or INSERT ... SELECT from.

    (SQLAlchemy 2.1 spells a one-column select `Select[int]`.)
    """
    return select(Fan.id).where(fan_filter(condition, now))


async def fan_matches(
    session: AsyncSession, condition: Condition, fan_id: int, now: datetime
) -> bool:
    """Does this one fan match now (the send-time re-check)? False for an unknown fan."""
    query = select(exists().where(Fan.id == fan_id, fan_filter(condition, now)))
    return bool((await session.execute(query)).scalar())


async def count_and_sample(
    session: AsyncSession, condition: Condition, now: datetime, sample: int = 10
) -> tuple[int, list[Fan]]:
    """How many fans match, and the first `sample` of them by id."""
    where = fan_filter(condition, now)
    count = (await session.execute(select(func.count()).select_from(Fan).where(where))).scalar()
    fans = await session.execute(select(Fan).where(where).order_by(Fan.id).limit(sample))
    return int(count or 0), list(fans.scalars())


async def recheck_condition(
    session: AsyncSession, data: dict[str, Any], fan_id: int, now: datetime
) -> bool:
    """The sender's `Recheck`: a stored condition (`condition_to_data` output) for one fan.

    Raises `ConditionError` when the stored data is not a condition (the sender skips the
    row with its own reason rather than guessing).
    """
    return await fan_matches(session, parse_condition(data), fan_id, now)


def age_cutoff(today: date, years: int) -> date:
    """The latest birthday of someone who is at least `years` old on `today`.

    age >= N  <=>  birthday <= today minus N years. From 29 February into a year without
    one, the cut-off is 28 February: a fan born on 29 February is a year older on
    1 March in years without it.
    """
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February -> 28 February
        return today.replace(year=today.year - years, day=28)


def _not_null_and(column: Any, comparison: ColumnElement[bool]) -> ColumnElement[bool]:
    """False rather than NULL when the column is NULL, so NOT stays the exact complement."""
    return and_(column.is_not(None), comparison)


def _has_tag(name: str) -> ColumnElement[bool]:
    return exists().where(FanTag.fan_id == Fan.id, FanTag.tag_id == Tag.id, Tag.name == name)


def _from_origin(code: str, *, first_only: bool) -> ColumnElement[bool]:
    conditions = [
        FanOrigin.fan_id == Fan.id,
        FanOrigin.origin_id == Origin.id,
        Origin.code == code,
    ]
    if first_only:
        conditions.append(FanOrigin.is_first.is_(True))
    return exists().where(*conditions)


def _said(keyword: str, since: datetime) -> ColumnElement[bool]:
    return exists().where(
        KeywordHit.fan_id == Fan.id, KeywordHit.keyword == keyword, KeywordHit.created_at >= since
    )


def _claimed_gift(code: str) -> ColumnElement[bool]:
    conditions = [Event.fan_id == Fan.id, Event.kind == EventKind.GIFT_CLAIMED.value]
    if code != ANY_GIFT:
        # JSON_EXTRACT(data, '$."campaign"') on SQLite, data ->> 'campaign' on PostgreSQL:
        # both give the text of the value (NULL if absent, which compares false in EXISTS).
        conditions.append(Event.data["campaign"].as_string() == code)
    return exists().where(*conditions)


def _field(condition: FieldIs, now: datetime) -> ColumnElement[bool]:
    if condition.set is not None:
        has_value = _field_row(
            condition.field,
            or_(
                FanField.value_text.is_not(None),
                FanField.value_number.is_not(None),
                FanField.value_date.is_not(None),
            ),
        )
        return has_value if condition.set else not_(has_value)
    if condition.equals is not None:
        return _field_row(condition.field, _equals(condition.equals))
    if condition.in_ is not None:
        return _field_row(condition.field, or_(*(_equals(value) for value in condition.in_)))
    if condition.age is not None:
        return _field_row(condition.field, _age(condition.age, now.date()))
    return _field_row(condition.field, and_(*_bounds(condition.min, condition.max)))


def _field_row(name: str, value_test: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(FanField.fan_id == Fan.id, FanField.name == name, value_test)


def _equals(value: Scalar) -> ColumnElement[bool]:
    """The typed column that holds a value of this type (see storage.repositories.fields)."""
    if isinstance(value, bool):
        return FanField.value_number == float(value)
    if isinstance(value, int | float):
        return FanField.value_number == float(value)
    if isinstance(value, date):
        # A date field keeps its ISO text too; a text field may hold the same text.
        return or_(FanField.value_date == value, FanField.value_text == value.isoformat())
    return FanField.value_text == value


def _bounds(low: float | date | None, high: float | date | None) -> list[ColumnElement[bool]]:
    tests: list[ColumnElement[bool]] = []
    for bound, at_least in ((low, True), (high, False)):
        if bound is None:
            continue
        column: Any = FanField.value_date if isinstance(bound, date) else FanField.value_number
        value = bound if isinstance(bound, date) else float(bound)
        tests.append(column >= value if at_least else column <= value)
    return tests


def _age(ages: AgeRange, today: date) -> ColumnElement[bool]:
    tests: list[ColumnElement[bool]] = [FanField.value_date.is_not(None)]
    if ages.min is not None:
        tests.append(FanField.value_date <= age_cutoff(today, ages.min))
    if ages.max is not None:
        # age <= M  <=>  not yet M + 1  <=>  born after the M + 1 cut-off.
        tests.append(FanField.value_date > age_cutoff(today, ages.max + 1))
    return and_(*tests)

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


def fan_filter(condition: Condition, now: datetime, *, drive: bool = False) -> ColumnElement[bool]:
    """A WHERE clause over `storage.models.Fan` that is true exactly for the matching fans.

    `drive=True` is the set form, for queries over the whole population (count, page,
    INSERT ... SELECT): the most selective child-table leaf of each `all` (and every
    leaf of an `any`) becomes `fans.id IN (SELECT fan_id ...)` read from a covering
    index, so SQLite starts from those few fans instead of probing every fan with a
    correlated EXISTS; the other leaves stay EXISTS probes on those fans. PostgreSQL
    plans both forms as the same semi-joins. The default (EXISTS everywhere) is for a
    query about one or a few fans (the send-time re-check), where building a whole set
    would be waste. Both forms select the same fans.
    """
    if drive:
        return _driven(condition, now)
    return _filter(condition, now, set_form=False)


def _driven(condition: Condition, now: datetime) -> ColumnElement[bool]:
    match condition:
        case AllOf(all=children):
            ranked = [(_driver_rank(child), n) for n, child in enumerate(children)]
            candidates = [(rank, n) for rank, n in ranked if rank is not None]
            first = min(candidates)[1] if candidates else None
            clauses = [] if first is None else [_driven(children[first], now)]
            clauses += [
                _filter(child, now, set_form=False)
                for n, child in enumerate(children)
                if n != first
            ]
            return and_(true(), *clauses)
        case AnyOf(any=children):
            return or_(false(), *(_driven(child, now) for child in children))
        case Said(said=keywords, within=window):
            # One keyword drives; the others are probed per fan.
            since = now - window
            return and_(
                _said(keywords[0], since, set_form=True),
                *(_said(keyword, since, set_form=False) for keyword in keywords[1:]),
            )
    return _filter(condition, now, set_form=True)


def _driver_rank(condition: Condition) -> tuple[int, float] | None:
    """How selective a child-table leaf usually is (lower first); None: not a driver.

    A static guess, as the planners cannot compare IN subqueries by themselves (SQLite
    takes the first): first touches split fans across campaigns, a tag or a keyword in a
    window are a minority, consents are held by most fans.
    """
    match condition:
        case FromOrigin(touch="first"):
            return (1, 0.0)
        case ClaimedGift(claimed_gift=code) if code != ANY_GIFT:
            return (2, 0.0)
        case HasTag():
            return (3, 0.0)
        case Said(within=window):
            return (4, window.total_seconds())
        case FieldIs(set=None) | FieldIs(set=True):
            return (5, 0.0)
        case FromOrigin():
            return (6, 0.0)
        case ClaimedGift():
            return (7, 0.0)
        case HasConsent():
            return (8, 0.0)
        case AnyOf(any=children) if children:
            ranks = [_driver_rank(child) for child in children]
            if all(rank is not None for rank in ranks):
                return (9, 0.0)
    return None


def _filter(condition: Condition, now: datetime, *, set_form: bool) -> ColumnElement[bool]:
    """The clause; `set_form` only changes how a child-table leaf is spelled, not its fans."""
    match condition:
        case AllOf(all=children):
            return and_(true(), *(_filter(child, now, set_form=False) for child in children))
        case AnyOf(any=children):
            return or_(false(), *(_filter(child, now, set_form=False) for child in children))
        case Not(not_=child):
            return not_(_filter(child, now, set_form=False))
        case HasTag(tag=name):
            return _child(
                FanTag.fan_id, [FanTag.tag_id == Tag.id, Tag.name == name], set_form=set_form
            )
        case FieldIs():
            return _field(condition, now, set_form=set_form)
        case FromOrigin(origin=code, touch=touch):
            return _from_origin(code, first_only=touch == "first", set_form=set_form)
        case JoinedWithin(joined_within=window):
            return Fan.joined_at >= now - window
        case JoinedBefore(joined_before=window):
            return Fan.joined_at < now - window
        case Said(said=keywords, within=window):
            return and_(*(_said(keyword, now - window, set_form=set_form) for keyword in keywords))
        case ClaimedGift(claimed_gift=code):
            return _claimed_gift(code, set_form=set_form)
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
            return _child(
                Consent.fan_id,
                [Consent.purpose == purpose, Consent.granted.is_(True)],
                set_form=set_form,
            )
    raise TypeError(f"not a condition: {condition!r}")  # pragma: no cover - the union is closed


def _child(
    fan_id: Any, conditions: list[ColumnElement[bool]], *, set_form: bool
) -> ColumnElement[bool]:
    """A row of a child table for the fan: `fans.id IN (SELECT fan_id ...)` or EXISTS.

    Two-valued either way: `fan_id` is NOT NULL in every child table and `fans.id` is the
    primary key, so IN is never NULL and NOT IN would be the exact complement too.
    """
    if set_form:
        return Fan.id.in_(select(fan_id).where(*conditions))
    return exists().where(fan_id == Fan.id, *conditions)


def matching_fan_ids(condition: Condition, now: datetime) -> Select[int]:
    """`SELECT fans.id WHERE <condition>`, to count, page or INSERT ... SELECT from.

    (SQLAlchemy 2.1 spells a one-column select `Select[int]`.)
    """
    return select(Fan.id).where(fan_filter(condition, now, drive=True))


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
    where = fan_filter(condition, now, drive=True)
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


def _from_origin(code: str, *, first_only: bool, set_form: bool) -> ColumnElement[bool]:
    conditions = [FanOrigin.origin_id == Origin.id, Origin.code == code]
    if first_only:
        conditions.append(FanOrigin.is_first.is_(True))
    return _child(FanOrigin.fan_id, conditions, set_form=set_form)


def _said(keyword: str, since: datetime, *, set_form: bool) -> ColumnElement[bool]:
    return _child(
        KeywordHit.fan_id,
        [KeywordHit.keyword == keyword, KeywordHit.created_at >= since],
        set_form=set_form,
    )


def _claimed_gift(code: str, *, set_form: bool) -> ColumnElement[bool]:
    conditions = [Event.kind == EventKind.GIFT_CLAIMED.value]
    if code != ANY_GIFT:
        # JSON_EXTRACT(data, '$."campaign"') on SQLite, data ->> 'campaign' on PostgreSQL:
        # both give the text of the value (NULL if absent, which compares false).
        conditions.append(Event.data["campaign"].as_string() == code)
    return _child(Event.fan_id, conditions, set_form=set_form)


def _field(condition: FieldIs, now: datetime, *, set_form: bool) -> ColumnElement[bool]:
    if condition.set is not None:
        has_value = _field_row(
            condition.field,
            or_(
                FanField.value_text.is_not(None),
                FanField.value_number.is_not(None),
                FanField.value_date.is_not(None),
            ),
            set_form=set_form and condition.set,
        )
        return has_value if condition.set else not_(has_value)
    if condition.equals is not None:
        value_test = _equals(condition.equals)
    elif condition.in_ is not None:
        value_test = or_(*(_equals(value) for value in condition.in_))
    elif condition.age is not None:
        value_test = _age(condition.age, now.date())
    else:
        value_test = and_(*_bounds(condition.min, condition.max))
    return _field_row(condition.field, value_test, set_form=set_form)


def _field_row(
    name: str, value_test: ColumnElement[bool], *, set_form: bool
) -> ColumnElement[bool]:
    return _child(FanField.fan_id, [FanField.name == name, value_test], set_form=set_form)


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

"""The audience dashboard's numbers, each counted by the database (GROUP BY), never by
looping over fans in Python.

Days are UTC days. Every function takes `now` from the caller's clock.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Consent,
    Event,
    EventKind,
    Fan,
    FanField,
    FanOrigin,
    FanStatus,
    FanTag,
    Handoff,
    HandoffState,
    KeywordHit,
    Origin,
    OutboxMessage,
    OutboxState,
    Tag,
)

# The profile fields the demographics panel shows (a brand that names them differently
# simply gets empty panels).
DEMOGRAPHIC_FIELDS = ("gender", "age_band", "city")
INTIMACY_WINDOWS = (1, 7, 30)
# A daily opener counts as answered when the fan writes or taps within this long.
REPLY_WINDOW = timedelta(days=1)
DIRECT = "(direct)"  # fans who came without a campaign link


@dataclass(frozen=True)
class ReplyRate:
    sent: int
    replied: int

    @property
    def percent(self) -> float:
        return 100.0 * self.replied / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class FunnelRow:
    code: str
    name: str
    known: bool
    joined: int
    consented: int
    claimed: int


@dataclass(frozen=True)
class HandoffStats:
    waiting: int
    taken: int
    median_first_response_seconds: float | None


@dataclass
class Dashboard:
    total: int
    by_status: dict[str, int]
    new_per_day: list[tuple[date, int]]
    talking: dict[int, int]  # days -> fans who typed a message in the last `days`
    reply_rate: ReplyRate
    reply_rate_by_origin: list[tuple[str, ReplyRate]]
    funnel: list[FunnelRow]
    demographics: dict[str, list[tuple[str, int]]]
    languages: list[tuple[str, int]]
    top_tags: list[tuple[str, int]]
    keyword_trends: list[tuple[str, int, int]]  # keyword, last 7 days, the 7 days before
    handoffs: HandoffStats
    extra: dict[str, Any] = field(default_factory=dict)


async def dashboard(session: AsyncSession, now: datetime, days: int = 30) -> Dashboard:
    by_status = await fans_by_status(session)
    return Dashboard(
        total=sum(by_status.values()),
        by_status=by_status,
        new_per_day=await new_fans_per_day(session, now, days),
        talking=await fans_talking(session, now),
        reply_rate=(await daily_reply_rates(session, now, days, by_origin=False))[0][1],
        reply_rate_by_origin=await daily_reply_rates(session, now, days, by_origin=True),
        funnel=await origin_funnel(session),
        demographics=await demographics(session),
        languages=await languages(session),
        top_tags=await top_tags(session),
        keyword_trends=await keyword_trends(session, now),
        handoffs=await handoff_stats(session, now, days),
    )


async def fans_by_status(session: AsyncSession) -> dict[str, int]:
    result = await session.execute(select(Fan.status, func.count()).group_by(Fan.status))
    counts = {status.value: 0 for status in FanStatus}
    counts.update({status: int(count) for status, count in result})
    return counts


async def new_fans_per_day(
    session: AsyncSession, now: datetime, days: int
) -> list[tuple[date, int]]:
    """Fans who joined on each of the last `days` UTC days (zeros included), oldest first."""
    first_day = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    day = _utc_day(session, Fan.joined_at)
    result = await session.execute(
        select(day, func.count()).where(Fan.joined_at >= since).group_by(day)
    )
    counts = {_as_date(value): int(count) for value, count in result}
    return [
        (first_day + timedelta(days=n), counts.get(first_day + timedelta(days=n), 0))
        for n in range(days)
    ]


async def fans_talking(session: AsyncSession, now: datetime) -> dict[int, int]:
    """Fans in a real two-way conversation: they typed a message in the last 1/7/30 days."""
    typed = and_(Event.kind == EventKind.MESSAGE_IN, Event.content_kind == "text")
    columns = [
        func.count(distinct(case((Event.created_at >= now - timedelta(days=n), Event.fan_id))))
        for n in INTIMACY_WINDOWS
    ]
    since = now - timedelta(days=max(INTIMACY_WINDOWS))
    row = (await session.execute(select(*columns).where(typed, Event.created_at >= since))).one()
    return {n: int(value) for n, value in zip(INTIMACY_WINDOWS, row, strict=True)}


async def daily_reply_rates(
    session: AsyncSession, now: datetime, days: int, *, by_origin: bool
) -> list[tuple[str, ReplyRate]]:
    """Daily openers sent in the last `days`, and how many the fan answered in a day."""
    answered = exists().where(
        Event.fan_id == OutboxMessage.fan_id,
        Event.kind.in_([EventKind.MESSAGE_IN, EventKind.BUTTON]),
        Event.created_at > OutboxMessage.sent_at,
        Event.created_at <= _plus(session, OutboxMessage.sent_at, REPLY_WINDOW),
    )
    replied = func.sum(case((answered, 1), else_=0))
    sent_daily = and_(
        OutboxMessage.source == "daily",
        OutboxMessage.state == OutboxState.SENT,
        OutboxMessage.sent_at >= now - timedelta(days=days),
    )
    if not by_origin:
        row = (await session.execute(select(func.count(), replied).where(sent_daily))).one()
        return [("all", ReplyRate(int(row[0]), int(row[1] or 0)))]
    first_origin = (
        select(Origin.code)
        .join(FanOrigin, FanOrigin.origin_id == Origin.id)
        .where(FanOrigin.fan_id == OutboxMessage.fan_id, FanOrigin.is_first.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    origin = func.coalesce(first_origin, DIRECT).label("origin")
    result = await session.execute(
        select(origin, func.count(), replied).where(sent_daily).group_by(origin).order_by(origin)
    )
    return [(str(code), ReplyRate(int(sent), int(ok or 0))) for code, sent, ok in result]


async def origin_funnel(session: AsyncSession, code: str | None = None) -> list[FunnelRow]:
    """Per campaign: fans who came through it -> gave any consent -> claimed its gift."""
    consented = exists().where(Consent.fan_id == FanOrigin.fan_id, Consent.granted.is_(True))
    claimed = exists().where(
        Event.fan_id == FanOrigin.fan_id,
        Event.kind == EventKind.GIFT_CLAIMED,
        Event.data["campaign"].as_string() == Origin.code,
    )
    query = (
        select(
            Origin.code,
            Origin.name,
            Origin.known,
            func.count(distinct(FanOrigin.fan_id)),
            func.count(distinct(case((consented, FanOrigin.fan_id)))),
            func.count(distinct(case((claimed, FanOrigin.fan_id)))),
        )
        .select_from(Origin)
        .outerjoin(FanOrigin, FanOrigin.origin_id == Origin.id)
        .group_by(Origin.id, Origin.code, Origin.name, Origin.known)
        .order_by(func.count(distinct(FanOrigin.fan_id)).desc(), Origin.code)
    )
    if code is not None:
        query = query.where(Origin.code == code)
    result = await session.execute(query)
    return [
        FunnelRow(code, name, bool(known), int(joined), int(ok), int(gift))
        for code, name, known, joined, ok, gift in result
    ]


async def demographics(session: AsyncSession) -> dict[str, list[tuple[str, int]]]:
    """Fans per value of each demographic profile field, largest first."""
    value = FanField.value_text  # the text form is kept for every type
    result = await session.execute(
        select(FanField.name, value, func.count())
        .where(FanField.name.in_(DEMOGRAPHIC_FIELDS), value.is_not(None))
        .group_by(FanField.name, value)
        .order_by(FanField.name, func.count().desc())
    )
    panels: dict[str, list[tuple[str, int]]] = {name: [] for name in DEMOGRAPHIC_FIELDS}
    for name, field_value, count in result:
        panels[name].append((str(field_value), int(count)))
    return panels


async def languages(session: AsyncSession) -> list[tuple[str, int]]:
    language = func.coalesce(Fan.language, Fan.telegram_language, "?")
    result = await session.execute(
        select(language, func.count())
        .where(Fan.status != FanStatus.FORGOTTEN)
        .group_by(language)
        .order_by(func.count().desc())
    )
    return [(str(name), int(count)) for name, count in result]


async def top_tags(session: AsyncSession, limit: int = 12) -> list[tuple[str, int]]:
    result = await session.execute(
        select(Tag.name, func.count())
        .join(FanTag, FanTag.tag_id == Tag.id)
        .group_by(Tag.name)
        .order_by(func.count().desc(), Tag.name)
        .limit(limit)
    )
    return [(name, int(count)) for name, count in result]


async def keyword_trends(
    session: AsyncSession, now: datetime, limit: int = 12
) -> list[tuple[str, int, int]]:
    """Keyword hits in the last 7 days and in the 7 days before, busiest first."""
    week = now - timedelta(days=7)
    recent = func.sum(case((KeywordHit.created_at >= week, 1), else_=0))
    before = func.sum(case((KeywordHit.created_at < week, 1), else_=0))
    result = await session.execute(
        select(KeywordHit.keyword, recent, before)
        .where(KeywordHit.created_at >= now - timedelta(days=14))
        .group_by(KeywordHit.keyword)
        .order_by(recent.desc(), KeywordHit.keyword)
        .limit(limit)
    )
    return [(keyword, int(a or 0), int(b or 0)) for keyword, a, b in result]


async def handoff_stats(session: AsyncSession, now: datetime, days: int) -> HandoffStats:
    """Open handoffs, and the median time to the first staff answer over the last `days`."""
    counts = Counter(
        {
            state: int(count)
            for state, count in await session.execute(
                select(Handoff.state, func.count())
                .where(Handoff.state != HandoffState.CLOSED)
                .group_by(Handoff.state)
            )
        }
    )
    seconds = _seconds_between(session, Handoff.opened_at, Handoff.first_response_at)
    answered = and_(
        Handoff.first_response_at.is_not(None), Handoff.opened_at >= now - timedelta(days=days)
    )
    total = (
        await session.execute(select(func.count()).select_from(Handoff).where(answered))
    ).scalar_one()
    median: float | None = None
    if total:
        # The middle row (or the two middle rows) in order; portable where MEDIAN is not.
        middle = await session.execute(
            select(seconds)
            .where(answered)
            .order_by(seconds)
            .offset((total - 1) // 2)
            .limit(2 if total % 2 == 0 else 1)
        )
        values = [float(value) for value in middle.scalars()]
        median = sum(values) / len(values)
    return HandoffStats(
        counts[HandoffState.WAITING.value], counts[HandoffState.TAKEN.value], median
    )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


def _utc_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    if _is_sqlite(session):
        return func.date(column)  # stored as naive UTC text
    return cast(func.timezone("UTC", column), Date)


def _plus(session: AsyncSession, column: Any, delta: timedelta) -> ColumnElement[Any]:
    seconds = int(delta.total_seconds())
    if _is_sqlite(session):
        # Same text shape as the stored values, so the comparison stays a string compare.
        return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"+{seconds} seconds")
    interval: ColumnElement[Any] = column + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    return interval


def _seconds_between(session: AsyncSession, start: Any, end: Any) -> ColumnElement[Any]:
    if _is_sqlite(session):
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))

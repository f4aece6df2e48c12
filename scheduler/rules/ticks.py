"""Schedule, anniversary and inactivity triggers: one SQL pass per rule (and time zone).

A tick runs every minute. For each time rule it works out which occurrence is due now
(the cron's latest fire time, this year's anniversary, the fan's current silence) and
fires the rule for the matching fans with an INSERT ... SELECT; the occurrence is part of
the history's unique key, so ticks can repeat and overlap without firing anything twice.
Each rule runs in its own SAVEPOINT, so one failing rule does not stop the others.

Occurrences older than `LATE_FIRING` (the bot was down) are not caught up: a birthday
greeting a day late, or a 10:00 message at 18:00, is worse than none.
"""

import logging
from collections.abc import Awaitable, Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from dialogs.rule_model import AnniversaryTrigger, InactivityTrigger, Rule, ScheduleTrigger
from scheduler.policy import fan_zone, local_instant
from scheduler.rules.events import guarded
from scheduler.rules.firing import fire
from storage.models import Fan, FanField

__all__ = ["LATE_FIRING", "RULES_LOCK_ID", "latest_fire_time", "run_time_rules"]

logger = logging.getLogger(__name__)

LATE_FIRING = timedelta(hours=2)
RULES_LOCK_ID = 0x5241_5052  # "RAPR": one worker evaluates the time rules at a time


async def run_time_rules(session: AsyncSession, brand: CompiledBrand, now: datetime) -> int:
    """Fire every due time rule; how many firings. The caller commits."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        locked = await session.execute(select(func.pg_try_advisory_xact_lock(RULES_LOCK_ID)))
        if not locked.scalar():
            logger.info("another worker is evaluating the time rules")
            return 0
    zones: list[str | None] | None = None
    fired = 0
    for rule in brand.rules.values():
        if not rule.enabled:
            continue
        trigger = rule.trigger
        if isinstance(trigger, ScheduleTrigger | AnniversaryTrigger) and zones is None:
            zones = list((await session.execute(select(Fan.timezone).distinct())).scalars())
        firing: Awaitable[int]
        if isinstance(trigger, ScheduleTrigger):
            firing = _schedule(session, brand, rule, trigger, zones or [], now)
        elif isinstance(trigger, AnniversaryTrigger):
            firing = _anniversary(session, brand, rule, trigger, zones or [], now)
        elif isinstance(trigger, InactivityTrigger):
            firing = _inactivity(session, brand, rule, trigger, now)
        else:
            continue
        count = await guarded(session, rule.name, firing)
        if count:
            logger.info("rule %s fired for %s fans", rule.name, count)
        fired += count
    return fired


def latest_fire_time(cron: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The cron's last fire time in (now - LATE_FIRING, now], or None."""
    trigger = CronTrigger.from_crontab(cron, timezone=zone)
    start = now - LATE_FIRING
    latest = None
    moment = trigger.get_next_fire_time(None, start)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest


def _zone_match(zone: str | None) -> ColumnElement[bool]:
    return Fan.timezone.is_(None) if zone is None else Fan.timezone == zone


def _clocks(
    brand: CompiledBrand, zones: list[str | None], fan_clock: bool
) -> Iterator[tuple[ZoneInfo, ColumnElement[bool]]]:
    """The wall clocks to evaluate on, each with the fans who live by it."""
    if not fan_clock:
        yield ZoneInfo(brand.settings.timezone), literal(True)
        return
    for zone in zones:
        yield fan_zone(zone, brand.settings), _zone_match(zone)


async def _schedule(
    session: AsyncSession,
    brand: CompiledBrand,
    rule: Rule,
    trigger: ScheduleTrigger,
    zones: list[str | None],
    now: datetime,
) -> int:
    fired = 0
    for zone, fans in _clocks(brand, zones, trigger.fan_clock):
        moment = latest_fire_time(trigger.cron, zone, now)
        if moment is None:
            continue
        fired += await fire(
            session,
            brand,
            rule,
            fans=fans,
            occurrence=literal(f"at:{moment.isoformat()}"),
            due_at=moment + rule.delay,
            now=now,
        )
    return fired


async def _anniversary(
    session: AsyncSession,
    brand: CompiledBrand,
    rule: Rule,
    trigger: AnniversaryTrigger,
    zones: list[str | None],
    now: datetime,
) -> int:
    fired = 0
    for zone_name in zones:
        zone = fan_zone(zone_name, brand.settings)
        today = now.astimezone(zone).date()
        moment = local_instant(today, trigger.at, zone)
        if not moment <= now < moment + LATE_FIRING:
            continue
        fired += await fire(
            session,
            brand,
            rule,
            fans=and_(_zone_match(zone_name), _date_is_today(trigger.field, today)),
            occurrence=literal(f"year:{today.year}"),
            due_at=moment + rule.delay,
            now=now,
        )
    return fired


def _date_is_today(field: str, today: date) -> ColumnElement[bool]:
    """The date field falls on today's month and day (29 February on the 28th otherwise)."""
    value = FanField.value_date
    days = [and_(extract("month", value) == today.month, extract("day", value) == today.day)]
    if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        days.append(and_(extract("month", value) == 2, extract("day", value) == 29))
    return exists().where(
        FanField.fan_id == Fan.id, FanField.name == field, value.is_not(None), or_(*days)
    )


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


async def _inactivity(
    session: AsyncSession,
    brand: CompiledBrand,
    rule: Rule,
    trigger: InactivityTrigger,
    now: datetime,
) -> int:
    last_word = func.coalesce(Fan.last_message_at, Fan.joined_at)
    return await fire(
        session,
        brand,
        rule,
        fans=last_word <= now - trigger.silent_for,
        # One firing per silence: writing again starts a new one.
        occurrence=literal("silent:") + cast(last_word, String),
        due_at=now + rule.delay,
        now=now,
    )

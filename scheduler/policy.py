"""The contact policy: may this proactive message go to this fan now? Pure: (facts, now).

Every "no" has a reason that ends up on the outbox row, so a brand can see why a message
did not go out.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs import BrandSettings

# A fan who wrote this recently is in a conversation: a proactive message would cut in.
IN_CONVERSATION = timedelta(minutes=10)
# A capped message with at least this priority waits for the cap to free; lower ones are
# dropped (a missed tip is better than a pile of them later).
POSTPONE_CAPPED_FROM_PRIORITY = 1


class Verdict(StrEnum):
    SEND = "send"
    POSTPONE = "postpone"
    SKIP = "skip"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str | None = None
    until: datetime | None = None  # for POSTPONE


@dataclass(frozen=True)
class FanFacts:
    """What the policy needs to know about a fan at send time."""

    status: str
    consents: frozenset[str]
    timezone: str | None
    last_message_at: datetime | None
    sent_last_day: int
    sent_last_week: int
    taken_over: bool = False


SEND = Decision(Verdict.SEND)


def decide(
    fan: FanFacts, *, purpose: str | None, priority: int, brand: BrandSettings, now: datetime
) -> Decision:
    for rule in (_status, _consent):
        decision = rule(fan, purpose)
        if decision is not None:
            return decision
    if fan.taken_over:
        return Decision(Verdict.POSTPONE, "taken_over", now + timedelta(hours=1))
    if fan.last_message_at is not None and now - fan.last_message_at < IN_CONVERSATION:
        return Decision(Verdict.POSTPONE, "in_conversation", fan.last_message_at + IN_CONVERSATION)
    zone = fan_zone(fan.timezone, brand)
    if brand.quiet_hours is not None and brand.is_quiet(now.astimezone(zone).time()):
        return Decision(Verdict.POSTPONE, "quiet_hours", quiet_hours_end(brand, zone, now))
    return _caps(fan, priority, brand, zone, now)


def fan_zone(name: str | None, brand: BrandSettings) -> ZoneInfo:
    for candidate in (name, brand.timezone):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_hours_end(brand: BrandSettings, zone: ZoneInfo, now: datetime) -> datetime:
    """The first instant after `now` at which the fan's clock leaves the quiet hours."""
    assert brand.quiet_hours is not None
    end = brand.quiet_hours[1]
    local_now = now.astimezone(zone)
    day = local_now.date()
    if local_now.time() >= end:
        day += timedelta(days=1)
    return local_instant(day, end, zone)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `zone`, in UTC.

    fold=0 on purpose: a time repeated when clocks go back takes its first occurrence, and
    a time skipped when they go forward is read with the offset before the jump, which
    lands as much later (02:30 becomes 03:30), never earlier than asked.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _status(fan: FanFacts, purpose: str | None) -> Decision | None:
    if fan.status == "blocked":
        return Decision(Verdict.CANCEL, "blocked")
    if fan.status in ("opted_out", "forgotten"):
        return Decision(Verdict.SKIP, fan.status)
    return None


def _consent(fan: FanFacts, purpose: str | None) -> Decision | None:
    if purpose is not None and purpose not in fan.consents:
        return Decision(Verdict.SKIP, "no_consent")
    return None


def _caps(
    fan: FanFacts, priority: int, brand: BrandSettings, zone: ZoneInfo, now: datetime
) -> Decision:
    if fan.sent_last_day < brand.per_day and fan.sent_last_week < brand.per_week:
        return SEND
    reason = "daily_cap" if fan.sent_last_day >= brand.per_day else "weekly_cap"
    if priority < POSTPONE_CAPPED_FROM_PRIORITY:
        return Decision(Verdict.SKIP, reason)
    days = 1 if reason == "daily_cap" else 7
    tomorrow = now.astimezone(zone).date() + timedelta(days=days)
    start = brand.quiet_hours[1] if brand.quiet_hours is not None else time(9, 0)
    return Decision(Verdict.POSTPONE, reason, local_instant(tomorrow, start, zone))

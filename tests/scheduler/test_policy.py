"""The contact policy as a pure function of (fan facts, now): time zones, DST, caps."""

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

import dialogs
from scheduler.policy import Decision, FanFacts, Verdict, decide, local_instant
from tests.bot.conftest import EXAMPLE_BRAND

BRAND = dialogs.compile_brand_dir(EXAMPLE_BRAND, "test").settings  # quiet 21:00-09:00, 2/day
FAN = FanFacts(
    status="active",
    consents=frozenset({"daily", "offers"}),
    timezone="Asia/Shanghai",
    last_message_at=None,
    sent_last_day=0,
    sent_last_week=0,
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # UTC+8: 23:30 in Shanghai is quiet until 09:00 there (01:00 UTC).
        ("Asia/Shanghai", "2026-03-02T15:30:00+00:00", "2026-03-03T01:00:00+00:00"),
        # New York the night DST starts (2026-03-08): 09:00 EDT is 13:00 UTC.
        ("America/New_York", "2026-03-08T05:00:00+00:00", "2026-03-08T13:00:00+00:00"),
        # The night DST ends (2026-11-01), at 01:30 the first time: 09:00 EST is 14:00 UTC.
        ("America/New_York", "2026-11-01T05:30:00+00:00", "2026-11-01T14:00:00+00:00"),
    ],
)
def test_quiet_hours_postpone_to_the_morning_on_the_fans_clock(
    zone: str, now: str, expected: str
) -> None:
    decision = decide(
        replace(FAN, timezone=zone), purpose="offers", priority=0, brand=BRAND, now=_at(now)
    )
    assert decision == Decision(Verdict.POSTPONE, "quiet_hours", _at(expected))


def test_daytime_in_the_fans_zone_sends() -> None:
    noon_in_shanghai = _at("2026-03-02T04:00:00+00:00")
    assert decide(FAN, purpose="daily", priority=0, brand=BRAND, now=noon_in_shanghai).verdict == (
        Verdict.SEND
    )


def test_a_wall_time_inside_a_dst_gap_is_read_as_later_never_earlier() -> None:
    # 02:30 does not exist in New York on 2026-03-08; 03:30 EDT is 07:30 UTC.
    zone = ZoneInfo("America/New_York")
    instant = local_instant(datetime(2026, 3, 8).date(), time(2, 30), zone)
    assert instant == _at("2026-03-08T07:30:00+00:00")


@pytest.mark.parametrize(
    ("facts", "purpose", "expected"),
    [
        (replace(FAN, status="blocked"), None, Decision(Verdict.CANCEL, "blocked")),
        (replace(FAN, status="opted_out"), None, Decision(Verdict.SKIP, "opted_out")),
        (replace(FAN, consents=frozenset()), "daily", Decision(Verdict.SKIP, "no_consent")),
        (replace(FAN, sent_last_day=2), None, Decision(Verdict.SKIP, "daily_cap")),
        (replace(FAN, sent_last_week=8), None, Decision(Verdict.SKIP, "weekly_cap")),
    ],
)
def test_reasons_not_to_send(facts: FanFacts, purpose: str | None, expected: Decision) -> None:
    noon_in_shanghai = _at("2026-03-02T04:00:00+00:00")
    assert (
        decide(facts, purpose=purpose, priority=0, brand=BRAND, now=noon_in_shanghai) == expected
    )


def test_a_fan_in_the_middle_of_a_conversation_is_not_interrupted() -> None:
    now = _at("2026-03-02T04:00:00+00:00")
    chatting = replace(FAN, last_message_at=_at("2026-03-02T03:55:00+00:00"))
    decision = decide(chatting, purpose=None, priority=0, brand=BRAND, now=now)
    assert decision == Decision(
        Verdict.POSTPONE, "in_conversation", _at("2026-03-02T04:05:00+00:00")
    )


def test_an_important_message_over_the_cap_waits_for_tomorrow_morning() -> None:
    now = _at("2026-03-02T04:00:00+00:00")
    decision = decide(
        replace(FAN, sent_last_day=2), purpose=None, priority=5, brand=BRAND, now=now
    )
    assert decision == Decision(Verdict.POSTPONE, "daily_cap", _at("2026-03-03T01:00:00+00:00"))

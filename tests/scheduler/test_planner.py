"""The daily planner: the opener at the brand's time on each fan's clock, once a day."""

from datetime import UTC, date, datetime

from sqlalchemy import select

import dialogs
from scheduler.planner import next_daily_day, plan_daily, plan_for_zone
from storage.database import Database
from storage.models import FanStatus, OutboxMessage
from storage.repositories import consents
from tests.bot.conftest import EXAMPLE_BRAND
from tests.factories import make_fan

BRAND = dialogs.compile_brand_dir(EXAMPLE_BRAND, "test").settings  # daily at 10:30
# 2026-03-02 01:00 UTC: 09:00 in Shanghai, 20:00 (the day before) in New York.
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def _fan(database: Database, consent: bool = True, **values: object) -> int:
    async with database.session() as session:
        fan = await make_fan(session, NOW)
        for name, value in values.items():
            setattr(fan, name, value)
        if consent:
            await consents.record(session, fan.id, "daily", granted=True, proof={}, now=NOW)
        await session.commit()
        return fan.id


async def _planned(database: Database) -> dict[int, datetime]:
    async with database.session() as session:
        rows = await session.execute(select(OutboxMessage.fan_id, OutboxMessage.due_at))
        return {row.fan_id: row.due_at for row in rows}


async def test_each_fan_gets_one_opener_at_the_daily_time_in_their_zone(
    database: Database,
) -> None:
    shanghai = await _fan(database)  # no zone: the brand's (Asia/Shanghai)
    new_york = await _fan(database, timezone="America/New_York")
    london = await _fan(database, timezone="Europe/London")
    await _fan(database, consent=False)
    await _fan(database, status=FanStatus.OPTED_OUT)
    await _fan(database, daily_next_on=date(2026, 3, 5))  # backing off

    async with database.session() as session:
        assert await plan_daily(session, BRAND, NOW) == 3
        await session.commit()
    async with database.session() as session:
        assert await plan_daily(session, BRAND, NOW) == 0  # idempotent
        await session.commit()

    assert await _planned(database) == {
        shanghai: datetime(2026, 3, 2, 2, 30, tzinfo=UTC),  # 10:30 CST
        new_york: datetime(2026, 3, 2, 15, 30, tzinfo=UTC),  # 10:30 EST
        london: datetime(2026, 3, 2, 10, 30, tzinfo=UTC),  # 10:30 GMT
    }


def test_a_daily_time_long_past_is_planned_for_tomorrow() -> None:
    evening = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    plan = plan_for_zone(None, BRAND, evening)
    assert plan.local_day == date(2026, 3, 3)
    recently = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai: still today
    assert plan_for_zone(None, BRAND, recently).due_at == recently


def test_ignored_openers_come_less_often() -> None:
    today = date(2026, 3, 2)
    assert next_daily_day(today, 2) is None
    assert next_daily_day(today, 3) == date(2026, 3, 4)
    assert next_daily_day(today, 4) == date(2026, 3, 6)
    assert next_daily_day(today, 20) == date(2026, 3, 18)


async def test_only_reachable_fans_who_agreed_are_planned(database: Database) -> None:
    reachable = await _fan(database, timezone="Asia/Tokyo")
    await _fan(database, status=FanStatus.BLOCKED)
    await _fan(database, chat_id=None)  # never opened a private chat
    revoked = await _fan(database)
    async with database.session() as session:
        await consents.record(session, revoked, "daily", granted=False, proof={}, now=NOW)
        await session.commit()
    # An unknown zone name falls back to the brand's zone, and '' counts as no zone.
    unknown_zone = await _fan(database, timezone="Mars/Olympus_Mons")
    empty_zone = await _fan(database, timezone="")

    async with database.session() as session:
        assert await plan_daily(session, BRAND, NOW) == 3
        await session.commit()

    shanghai_morning = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    assert await _planned(database) == {
        reachable: datetime(2026, 3, 2, 1, 30, tzinfo=UTC),  # 10:30 JST
        unknown_zone: shanghai_morning,
        empty_zone: shanghai_morning,
    }

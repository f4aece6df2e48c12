"""The example brand's seed rules end to end: the real engine adapter, time rules, the sender
(against the sandbox), with a controllable clock."""

from datetime import date, timedelta

import dialogs
from scheduler.jobs import create_scheduler, run_rules
from storage.models import OutboxState
from storage.privacy import Retention
from storage.repositories import fields, tags
from tests.scheduler.rules_world import RulesWorld, button_data, rules_world, utc

__all__ = ["rules_world"]

REMINDER = "Your spring gift is still waiting for you"


async def test_spring_gift_reminder_three_days_after_joining(rules_world: RulesWorld) -> None:
    world = rules_world
    fan, user = await world.fan()
    await world.inbound(fan, dialogs.Start("spring_gift"), is_new=True)
    [row] = [r for r in await world.rows(fan) if r.source_ref == "spring_gift_reminder"]
    assert row.due_at == world.clock() + timedelta(days=3)
    assert row.recheck == {"not": {"claimed_gift": "spring_gift"}}
    assert (row.priority, row.purpose) == (5, "offers")

    world.clock.advance(days=3)
    assert await world.send_due() == 1
    assert any(REMINDER in text for text in await world.texts(user))
    [firing] = await world.firings(fan)
    assert (firing.rule, firing.outbox_id) == ("spring_gift_reminder", row.id)


async def test_claiming_the_gift_before_day_three_means_no_reminder(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    fan, user = await world.fan()
    await world.inbound(fan, dialogs.Start("spring_gift"), is_new=True)
    world.clock.advance(days=1)
    claim = button_data(world.brand, "spring_gift.claim", "Claim")
    await world.inbound(fan, dialogs.ButtonPress(claim))

    world.clock.advance(days=2)
    await world.send_due()
    [row] = await world.rows(fan)
    assert (row.state, row.reason) == (OutboxState.SKIPPED, "condition_no_longer_true")
    assert not any(REMINDER in text for text in await world.texts(user))


async def test_joining_without_the_campaign_fires_no_reminder(rules_world: RulesWorld) -> None:
    world = rules_world
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Start("store_qr"), is_new=True)
    assert await world.rows(fan) == []


async def test_buy_and_handbag_within_30_days_gets_the_offer_and_a_staff_note(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    fan, user = await world.fan(first_name="Mei")
    await world.inbound(fan, dialogs.Text("I want to buy something"))
    assert await world.rows(fan) == []  # "buy" alone: the trigger (handbag) did not happen
    world.clock.advance(days=10)
    await world.inbound(fan, dialogs.Text("do you have a handbag?"))
    rows = await world.rows(fan)
    assert [(r.source, r.content) for r in rows] == [
        ("rule", {"step": "follow_ups.handbag_offer"}),
        ("rule_staff", {"notify_staff": rows[1].content["notify_staff"]}),
    ]
    world.clock.advance(hours=2)
    assert await world.send_due() == 2
    assert any("10% off your first bag" in text for text in await world.texts(user))
    staff_texts = await world.texts(world.sender.staff.admin_ids[0])
    assert staff_texts == ["Mei is looking for a handbag (said buy and handbag)."]


async def test_a_customer_gets_no_handbag_offer(rules_world: RulesWorld) -> None:
    world = rules_world
    fan, _ = await world.fan()
    async with world.database.session() as session:
        await tags.add(session, fan, "customer", tags.TagSource.STAFF, world.clock())
        await session.commit()
    await world.inbound(fan, dialogs.Text("buy a handbag"))
    assert await world.rows(fan) == []


async def test_said_buy_more_than_30_days_ago_does_not_count(rules_world: RulesWorld) -> None:
    world = rules_world
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("buy"))
    world.clock.advance(days=31)
    await world.inbound(fan, dialogs.Text("handbag"))
    assert await world.rows(fan) == []


async def test_welcome_series_day_one_and_day_three_on_each_fans_clock(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.clock.now = utc("2026-03-01T00:00:00+00:00")
    shanghai, _ = await world.fan(timezone="Asia/Shanghai")
    new_york, _ = await world.fan(timezone="America/New_York")
    # 11:00 in Shanghai the next day (03:00 UTC): day 1 for the Shanghai fan only.
    world.clock.now = utc("2026-03-02T03:00:00+00:00")
    assert await world.tick() == 1
    assert await world.tick() == 0  # a repeated tick fires nothing twice
    # 11:00 in New York (16:00 UTC, EST).
    world.clock.now = utc("2026-03-02T16:00:00+00:00")
    assert await world.tick() == 1
    # Day 3, 11:00 in Shanghai: day 3 fires, day 1 does not again.
    world.clock.now = utc("2026-03-04T03:00:00+00:00")
    assert await world.tick() == 1
    steps = [row.content["step"] for row in await world.rows(shanghai)]
    assert steps == ["follow_ups.welcome_day_1", "follow_ups.welcome_day_3"]
    assert [row.content["step"] for row in await world.rows(new_york)] == [
        "follow_ups.welcome_day_1"
    ]
    # After a week the series is over.
    world.clock.now = utc("2026-03-09T03:00:00+00:00")
    assert await world.tick() == 0


async def test_birthday_greeting_on_the_day_in_the_fans_zone_once_a_year(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    born, _ = await world.fan(timezone="Asia/Shanghai")
    other, _ = await world.fan(timezone="Asia/Shanghai")
    async with world.database.session() as session:
        for fan, day in ((born, date(1990, 3, 5)), (other, date(1990, 3, 6))):
            await fields.set_value(
                session,
                fan,
                "birthday",
                day,
                category="registration",
                source="t",
                now=world.clock(),
            )
        await session.commit()
    world.clock.now = utc("2026-03-05T01:59:00+00:00")  # 09:59 in Shanghai
    assert await world.tick() == 0
    world.clock.now = utc("2026-03-05T02:00:00+00:00")  # 10:00
    assert await world.tick() == 1
    world.clock.advance(minutes=1)
    assert await world.tick() == 0
    [row] = await world.rows(born)
    assert row.content == {"step": "follow_ups.birthday"}
    async with world.database.session() as session:
        assert "birthday_greeted" in await tags.names_of(session, born)
    world.clock.now = utc("2027-03-05T02:00:00+00:00")  # next year: again
    await world.tick()  # (a year of silence also wins both fans back)
    assert [r.source_ref for r in await world.rows(born)].count("birthday_greeting") == 2
    assert "birthday_greeting" not in [r.source_ref for r in await world.rows(other)]


async def test_win_back_after_fourteen_days_of_silence(rules_world: RulesWorld) -> None:
    world = rules_world
    quiet, _ = await world.fan()
    chatty, _ = await world.fan()
    await world.inbound(quiet, dialogs.Text("hello"))
    await world.inbound(chatty, dialogs.Text("hello"))
    world.clock.advance(days=10)
    await world.inbound(chatty, dialogs.Text("still here"))
    world.clock.advance(days=4, minutes=1)
    assert await world.tick() == 1
    assert await world.tick() == 0
    [row] = await world.rows(quiet)
    assert (row.content, row.purpose) == ({"step": "follow_ups.win_back"}, "daily")
    assert [r.source_ref for r in await world.rows(chatty)] == []


async def test_the_time_rules_tick_uses_the_active_brand_version(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    scheduler = create_scheduler(
        world.database,
        world.sender,
        world.sender.brand_cache,
        world.clock,
        Retention(None, None, 7),
    )
    job = scheduler.get_job("time-rules")
    assert job is not None
    assert job.trigger.interval == timedelta(minutes=1)
    fan, _ = await world.fan()
    world.clock.advance(days=15)
    assert await run_rules(world.database, world.sender.brand_cache, world.clock) == 1
    [row] = await world.rows(fan)
    assert row.source_ref == "win_back"

"""Rule evaluation with a controllable clock: limits, delays, quiet hours across zones and a
DST change, caps with priorities, delayed actions, cancelling, and idempotent firings."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, literal_column, update

import dialogs
from dialogs.conditions import Condition, HasTag
from scheduler.rules.dry_run import dry_run
from scheduler.rules.events import failed_counts, on_inbound
from scheduler.rules.facts import TriggerFacts
from scheduler.staff_notes import StaffDestinations
from storage import segments
from storage.models import FanTopic, OutboxMessage, OutboxState
from storage.repositories import fields, outbox, tags
from tests.scheduler.rules_world import RulesWorld, brand_with_rules, rules_world, utc

__all__ = ["rules_world"]


def on_message(limit: str, *, delay: str = "0m", priority: int = 0, name: str = "ping") -> str:
    return f"""
  {name}:
    trigger: message
    limit: {limit}
    delay: {delay}
    priority: {priority}
    actions:
      - send: shop.buy
"""


async def fired_rows(world: RulesWorld, fan: int, rule: str = "ping") -> list[str]:
    return [row.state for row in await world.rows(fan) if row.source_ref == rule]


async def test_once_fires_a_single_time_per_fan(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("once"))
    fan, _ = await world.fan()
    for _ in range(3):
        await world.inbound(fan, dialogs.Text("hi"))
        world.clock.advance(days=20)
    assert len(await fired_rows(world, fan)) == 1


async def test_every_seven_days_fires_again_only_after_seven_days(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("{every: 7d}"))
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("hi"))  # day 0: fires
    world.clock.advance(days=3)
    await world.inbound(fan, dialogs.Text("hi"))  # day 3: too soon
    world.clock.advance(days=4, seconds=1)
    await world.inbound(fan, dialogs.Text("hi"))  # day 7 and a second: fires
    assert len(await fired_rows(world, fan)) == 2
    assert len(await world.firings(fan)) == 2


async def test_always_fires_every_time(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("always"))
    fan, _ = await world.fan()
    for _ in range(3):
        await world.inbound(fan, dialogs.Text("hi"))
        world.clock.advance(minutes=1)
    assert len(await fired_rows(world, fan)) == 3


async def test_the_same_firing_twice_makes_one_row(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("always"))
    fan, _ = await world.fan()
    facts = TriggerFacts("at:the-same-update")
    facts.add("message")
    for _ in range(2):
        async with world.database.session() as session:
            await on_inbound(session, world.brand, fan, facts, world.clock())
            await session.commit()
    assert len(await fired_rows(world, fan)) == 1
    assert len(await world.firings(fan)) == 1


async def test_a_delay_holds_the_send_until_due(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("once", delay="3d"))
    fan, user = await world.fan()
    await world.inbound(fan, dialogs.Text("hi"))
    world.clock.advance(days=2, hours=23)
    assert await world.send_due() == 0
    world.clock.advance(hours=1)
    assert await world.send_due() == 1
    assert await fired_rows(world, fan) == [OutboxState.SENT]
    assert await world.texts(user) == ["Lovely! What are you shopping for today?"]


async def test_quiet_hours_on_each_fans_clock_across_a_dst_change(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("once", delay="1d"))
    # Sunday 8 March 2026 03:30 UTC: 22:30 EST on the 7th in New York, 11:30 in Shanghai.
    world.clock.now = utc("2026-03-08T03:30:00+00:00")
    new_york, _ = await world.fan(timezone="America/New_York")
    shanghai, shanghai_user = await world.fan(timezone="Asia/Shanghai")
    await world.inbound(new_york, dialogs.Text("hi"))
    await world.inbound(shanghai, dialogs.Text("hi"))
    # A day later New York has moved to EDT (UTC-4): 23:30 there, quiet; 11:30 in Shanghai.
    world.clock.advance(days=1)
    await world.send_due()
    [waiting] = await world.rows(new_york)
    assert (waiting.state, waiting.reason) == (OutboxState.PENDING, "quiet_hours")
    assert waiting.due_at == utc("2026-03-09T13:00:00+00:00")  # 09:00 EDT, not 14:00 (EST)
    assert await fired_rows(world, shanghai) == [OutboxState.SENT]
    assert len(await world.texts(shanghai_user)) == 1
    world.clock.now = waiting.due_at
    assert await world.send_due() == 1
    assert await fired_rows(world, new_york) == [OutboxState.SENT]


async def test_at_the_cap_the_higher_priority_wins_and_the_lower_waits_or_goes(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    rules = (
        "rules:"
        + on_message("once", priority=5, name="vip_offer")
        + on_message("once", priority=2, name="tip")
        + on_message("once", priority=0, name="nudge")
        + on_message("once", priority=9, name="earlier")
    )
    fan, user = await world.fan()
    world.brand = brand_with_rules("rules:" + on_message("once", priority=9, name="earlier"))
    await world.inbound(fan, dialogs.Text("hi"))
    world.clock.advance(minutes=11)  # out of the conversation window
    assert await world.send_due() == 1  # one of today's two sends is used
    world.brand = brand_with_rules(rules)
    world.clock.advance(hours=1)
    await world.inbound(fan, dialogs.Text("hi again"))
    world.clock.advance(minutes=11)
    await world.send_due()
    states = {row.source_ref: (row.state, row.reason) for row in await world.rows(fan)}
    assert states["vip_offer"] == (OutboxState.SENT, None)
    assert states["tip"] == (OutboxState.PENDING, "daily_cap")  # priority >= 1 waits
    assert states["nudge"] == (OutboxState.SKIPPED, "daily_cap")  # priority 0 is dropped
    assert len(await world.texts(user)) == 2


async def test_delayed_tags_wait_in_the_outbox_and_do_not_count_under_the_caps(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        """
rules:
  warm_up:
    trigger: message
    delay: 1d
    actions:
      - add_tags: warm
      - remove_tags: new
"""
    )
    fan, _ = await world.fan()
    async with world.database.session() as session:
        await tags.add(session, fan, "new", tags.TagSource.STAFF, world.clock())
        await session.commit()
    await world.inbound(fan, dialogs.Text("hi"))
    async with world.database.session() as session:
        assert await tags.names_of(session, fan) == ["new"]
    world.clock.advance(days=1)
    assert await world.send_due() == 2
    async with world.database.session() as session:
        assert await tags.names_of(session, fan) == ["warm"]
        assert await outbox.sent_since(session, [fan], world.clock() - timedelta(days=7)) == {}


async def test_tags_without_delay_apply_in_the_inbound_transaction(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        """
rules:
  mark:
    trigger: {event: keyword, keyword: price}
    actions:
      - add_tags: [price_hunter]
      - set_field: {city: Shenzhen}
"""
    )
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("what's the price?"))
    async with world.database.session() as session:
        assert await tags.names_of(session, fan) == ["price_hunter"]
        [(_, tag)] = await tags.of_fan(session, fan)
        assert (tag.source, tag.source_detail) == ("rule", "mark")
        city = (await fields.of_fan(session, fan))["city"]
        assert (city.value_text, city.source) == ("Shenzhen", "rule:mark")
    assert await world.rows(fan) == []


async def test_a_rule_cancels_another_rules_pending_sends(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        "rules:"
        + on_message("once", delay="3d", name="later")
        + """
  stop_later:
    trigger: {event: keyword, keyword: help}
    actions:
      - cancel: later
"""
    )
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("hi"))
    await world.inbound(fan, dialogs.Text("help"))
    assert [(r.state, r.reason) for r in await world.rows(fan)] == [
        (OutboxState.CANCELLED, "cancelled_by_rule")
    ]


async def test_disabled_rules_and_opted_out_fans_do_not_fire(rules_world: RulesWorld) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        "rules:" + on_message("always") + "    enabled: false\n" + on_message("always", name="on")
    )
    fan, _ = await world.fan()
    gone, _ = await world.fan(status="opted_out")
    await world.inbound(fan, dialogs.Text("hi"))
    await world.inbound(gone, dialogs.Text("hi"))
    assert [r.source_ref for r in await world.rows(fan)] == ["on"]
    assert await world.rows(gone) == []


async def test_a_schedule_on_the_brand_clock_fires_once_per_fire_time(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        """
rules:
  monday_tip:
    trigger: {schedule: "0 10 * * mon"}
    limit: always
    actions:
      - send: shop.buy
"""
    )
    a, _ = await world.fan(timezone="America/New_York")
    b, _ = await world.fan()
    world.clock.now = utc("2026-03-02T01:59:00+00:00")  # Monday 09:59 in Shanghai
    assert await world.tick() == 0
    world.clock.now = utc("2026-03-02T02:30:00+00:00")
    assert await world.tick() == 2
    assert await world.tick() == 0
    [row] = await world.rows(a)
    assert row.due_at == utc("2026-03-02T02:00:00+00:00")
    world.clock.now = utc("2026-03-09T02:00:00+00:00")  # next Monday
    assert await world.tick() == 2
    assert len(await world.rows(b)) == 2


NOTE_RULE = """
rules:
  note:
    trigger: {event: keyword, keyword: human}
    actions:
      - notify_staff: "{{ fan.first_name }} asked for a person"
"""


async def test_a_staff_note_goes_to_the_fans_topic_else_the_staff_chat(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(NOTE_RULE)
    group = await world.sandbox.create_group("Staff", bot_status="administrator")
    chat_id = int(group["chat"]["id"])
    topic = await world.sender.bot.create_forum_topic(chat_id, "Ann")
    world.sender.staff = StaffDestinations(chat_id=chat_id, admin_ids=(1,))
    with_topic, _ = await world.fan(first_name="Ann")
    without, _ = await world.fan(first_name="Bo")
    async with world.database.session() as session:
        session.add(
            FanTopic(
                fan_id=with_topic,
                staff_chat_id=chat_id,
                thread_id=topic.message_thread_id,
                title="Ann",
                created_at=world.clock(),
            )
        )
        await session.commit()
    await world.inbound(with_topic, dialogs.Text("a person please"))
    await world.inbound(without, dialogs.Text("human"))
    assert await world.send_due() == 2
    in_topic = await world.sandbox.messages(chat_id, thread_id=topic.message_thread_id)
    assert [m.text for m in in_topic if not m.service] == ["Ann asked for a person"]
    in_chat = [m.text for m in await world.sandbox.messages(chat_id) if not m.service]
    assert "Bo asked for a person" in in_chat
    assert [(r.source, r.state) for r in await world.rows(without)] == [
        ("rule_staff", OutboxState.SENT)
    ]


async def test_a_staff_note_without_anywhere_to_go_is_skipped_with_a_reason(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(NOTE_RULE)
    world.sender.staff = StaffDestinations()
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("human"))
    await world.send_due()
    assert [(r.state, r.reason) for r in await world.rows(fan)] == [
        (OutboxState.SKIPPED, "no_staff_chat")
    ]


async def test_a_message_template_is_rendered_in_the_fans_language(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        """
rules:
  hello:
    trigger: message
    actions:
      - message: {en: "Hi {{ fan.first_name }}!", zh: "{{ fan.first_name }}，你好！"}
"""
    )
    fan, user = await world.fan(first_name="Mei", language="zh")
    await world.inbound(fan, dialogs.Text("hi"))
    world.clock.advance(minutes=11)
    assert await world.send_due() == 1
    assert await world.texts(user) == ["Mei，你好！"]


async def test_a_rule_failing_in_the_database_is_skipped_alone(
    rules_world: RulesWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = rules_world
    world.brand = brand_with_rules(
        "rules:"
        + on_message("always", name="broken")
        + "    condition: {tag: boom}\n"
        + on_message("always", name="fine")
    )
    real_filter = segments.fan_filter

    def failing_filter(condition: Condition, now: datetime) -> ColumnElement[bool]:
        if condition == HasTag(tag="boom"):
            return literal_column("no_such_column") == 1  # the database refuses this
        return real_filter(condition, now)

    monkeypatch.setattr(segments, "fan_filter", failing_filter)
    failed_before = failed_counts["broken"]
    fan, _ = await world.fan()
    await world.inbound(fan, dialogs.Text("hi"))  # commits: the update is not lost
    assert [r.source_ref for r in await world.rows(fan)] == ["fine"]
    assert failed_counts["broken"] == failed_before + 1
    assert await world.tick() == 0  # time rules carry on too


async def test_a_dry_run_steps_through_the_cap_and_writes_nothing(
    rules_world: RulesWorld,
) -> None:
    world = rules_world
    world.brand = brand_with_rules("rules:" + on_message("always", priority=5))
    fan, _ = await world.fan(timezone="Asia/Shanghai")
    async with world.database.session() as session:
        rows = [
            {"fan_id": fan, "source": "rule", "content": {}, "due_at": world.clock()}
            for _ in range(2)
        ]
        await outbox.enqueue(session, rows, world.clock())
        await session.execute(
            update(OutboxMessage).values(state=OutboxState.SENT, sent_at=world.clock())
        )
        await session.commit()
        result = await dry_run(session, world.brand, world.brand.rules["ping"], world.clock())
    [landing] = result.sample
    assert result.matching == 1
    # Two sends at noon today. The policy postpones a capped send to 09:00 the next day; at
    # 09:00 tomorrow the noon sends are still within 24 hours, so once more, as the sender
    # would: the send lands at 09:00 (Shanghai) the day after.
    assert landing.postponed == ("daily_cap", "daily_cap")
    assert landing.lands_at == utc("2026-03-04T01:00:00+00:00")
    assert len(await world.rows(fan)) == 2
    assert await world.firings(fan) == []

"""The outbox sender against the sandbox: the contact policy, Telegram's answers, crashes."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from scheduler import sender as sender_module
from scheduler.sender import OutboxSender
from storage.models import Event, EventKind, FanStatus, OutboxMessage, OutboxState
from storage.repositories import fans, outbox
from tests.scheduler.conftest import World


async def test_a_due_row_is_sent_and_moves_the_conversation(world: World) -> None:
    fan, user_id = await world.fan()
    await world.enqueue(fan)
    assert await world.sender.run_batch() == 1
    [message] = await world.sandbox.wait_for_messages(user_id)
    assert message.text == "Lovely! What are you shopping for today?"
    assert await world.rows(fan) == [(OutboxState.SENT, None)]
    async with world.database.session() as session:
        stored = await fans.get(session, fan.id)
        [row] = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.fan_id == fan.id))
        ).scalars()
    assert stored is not None
    assert stored.conversation["step"] == "buy"  # the fan's answer continues the dialog
    assert (row.telegram_message_id, row.sent_at, row.error) == (
        message.message_id,
        world.clock(),
        None,
    )


async def test_rows_not_yet_due_wait(world: World) -> None:
    fan, _ = await world.fan()
    world.clock.advance(hours=1)
    await world.enqueue(fan)
    world.clock.advance(hours=-1)
    assert await world.sender.run_batch() == 0
    assert await world.rows(fan) == [(OutboxState.PENDING, None)]


async def test_opted_out_and_unconsented_fans_are_skipped_with_a_reason(world: World) -> None:
    opted_out, _ = await world.fan(status=FanStatus.OPTED_OUT)
    unconsented, _ = await world.fan(consent=("daily",))
    await world.enqueue(opted_out)
    await world.enqueue(unconsented)
    await world.sender.run_batch()
    assert await world.rows(opted_out) == [(OutboxState.SKIPPED, "opted_out")]
    assert await world.rows(unconsented) == [(OutboxState.SKIPPED, "no_consent")]
    assert world.sender.stats.skipped == 2


async def test_quiet_hours_postpone_to_the_end_of_the_fans_night(world: World) -> None:
    # 12:00 in Shanghai is 23:00 the day before in New York: quiet there.
    fan, _ = await world.fan(timezone="America/New_York")
    await world.enqueue(fan)
    await world.sender.run_batch()
    async with world.database.session() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert (row.state, row.reason) == (OutboxState.PENDING, "quiet_hours")
    assert row.due_at.isoformat() == "2026-03-02T14:00:00+00:00"  # 09:00 EST


async def test_the_cap_keeps_the_higher_priority_message(world: World) -> None:
    fan, user_id = await world.fan()
    await world.enqueue(fan, priority=0, dedupe_key="low-1")
    await world.enqueue(fan, priority=5, dedupe_key="high")
    await world.enqueue(fan, priority=0, dedupe_key="low-2")
    await world.enqueue(fan, priority=3, dedupe_key="mid")  # the cap is 2 a day
    await world.sender.run_batch()
    async with world.database.session() as session:
        result = await session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.state, OutboxMessage.reason)
        )
        states = {key: (state, reason) for key, state, reason in result}
    assert states["high"] == (OutboxState.SENT, None)
    assert states["mid"] == (OutboxState.SENT, None)
    assert states["low-1"] == (OutboxState.SKIPPED, "daily_cap")
    assert states["low-2"] == (OutboxState.SKIPPED, "daily_cap")
    assert len(await world.sandbox.messages(user_id)) == 2


async def test_the_same_dedupe_key_makes_one_row(world: World) -> None:
    fan, _ = await world.fan()
    await world.enqueue(fan, dedupe_key="spring_reminder:1")
    await world.enqueue(fan, dedupe_key="spring_reminder:1")
    assert len(await world.rows(fan)) == 1


async def test_a_fan_who_blocked_the_bot_is_marked_and_their_rows_cancelled(
    world: World,
) -> None:
    fan, user_id = await world.fan()
    await world.sandbox.set_faults(blocked_user_ids=[user_id])
    await world.enqueue(fan, dedupe_key="now")
    await world.enqueue(fan, dedupe_key="later", due_at=world.clock.now + timedelta(hours=5))
    await world.sender.run_batch()
    assert await world.rows(fan) == [
        (OutboxState.CANCELLED, "blocked"),
        (OutboxState.CANCELLED, "blocked"),
    ]
    async with world.database.session() as session:
        stored = await fans.get(session, fan.id)
    assert stored is not None
    assert stored.status == FanStatus.BLOCKED


async def test_too_many_requests_requeue_after_retry_after_and_send_once(world: World) -> None:
    fan_rows = [await world.fan() for _ in range(5)]
    for fan, _ in fan_rows:
        await world.enqueue(fan)
    await world.sandbox.set_faults(storm_remaining=2, storm_retry_after=3)
    await world.sender.run_batch()
    assert world.sender.stats.too_many_requests == 2
    async with world.database.session() as session:
        waiting = (
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING)
                )
            )
            .scalars()
            .all()
        )
    assert len(waiting) == 2
    assert all(row.reason == "too_many_requests" for row in waiting)
    assert all((row.due_at - world.clock.now).total_seconds() == 3 for row in waiting)

    world.clock.advance(seconds=3)
    await world.sender.run_batch()
    for fan, user_id in fan_rows:
        assert await world.rows(fan) == [(OutboxState.SENT, None)]
        assert len(await world.sandbox.messages(user_id)) == 1
        # On the timeline once, when it went out: the refused first try left nothing.
        assert await _said_to(world, fan.id) == 1


async def _said_to(world: World, fan_id: int) -> int:
    async with world.database.session() as session:
        said = await session.execute(
            select(func.count())
            .select_from(Event)
            .where(Event.fan_id == fan_id, Event.kind == EventKind.MESSAGE_OUT)
        )
        return int(said.scalar_one())


async def test_rows_claimed_before_a_crash_are_never_sent_again(world: World) -> None:
    fan, user_id = await world.fan()
    await world.enqueue(fan)
    async with world.database.session() as session:
        await outbox.claim_due(session, world.clock(), 10)  # ... and the sender dies here
        await session.commit()
    world.clock.advance(minutes=3)
    assert await world.sender.recover() == 1
    assert await world.sender.run_batch() == 0
    assert await world.rows(fan) == [(OutboxState.UNKNOWN, "sender_crashed")]
    assert await world.sandbox.messages(user_id) == []


async def test_two_senders_share_the_work_without_duplicates(world: World) -> None:
    fans_and_users = [await world.fan() for _ in range(30)]
    for fan, _ in fans_and_users:
        await world.enqueue(fan)
    other = OutboxSender(
        world.database,
        world.bot,
        world.sender.brand_cache,
        world.clock,
        world.sender.limiter,
        batch_size=7,
    )
    world.sender.batch_size = 7
    # Batch after batch until nothing is due (tick() stops after 0.9 s, too soon on a busy
    # machine for all 30 to go).
    await asyncio.gather(_drain(world.sender), _drain(other))
    assert world.sender.stats.sent + other.stats.sent == 30
    for _, user_id in fans_and_users:
        assert len(await world.sandbox.messages(user_id)) == 1


async def _drain(sender: OutboxSender) -> None:
    while await sender.run_batch():
        pass


async def test_on_postgresql_a_tick_refreshes_the_outbox_statistics_after_a_bulk_enqueue(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "STALE_AFTER_ROWS", 2)
    fans_and_users = [await world.fan() for _ in range(3)]

    async def enqueue_all() -> None:
        async with world.database.session() as session:
            rows = [
                {"fan_id": fan.id, "source": "rule", "content": {"step": "shop.buy"},
                 "purpose": "offers", "due_at": world.clock()}
                for fan, _ in fans_and_users
            ]  # fmt: skip
            await outbox.enqueue(session, rows, world.clock())
            if world.database.is_postgres:  # its counts reach the statistics at once
                await session.execute(text("SELECT pg_stat_force_next_flush()"))
            await session.commit()

    await enqueue_all()
    await world.sender.tick()
    await world.sender.wait_idle()
    assert world.sender.stats.sent == 3
    assert world.sender.stats.statistics_refreshed == (1 if world.database.is_postgres else 0)
    # Three sends changed three more rows, but the next look is STATISTICS_EVERY away.
    world.clock.advance(days=1)
    await enqueue_all()
    await world.sender.tick()
    await world.sender.wait_idle()
    assert world.sender.stats.statistics_refreshed == (1 if world.database.is_postgres else 0)

"""The handoffs repository on SQLite and PostgreSQL: open, take, close, the topic queue,
auto hand-back in one statement, relayed messages and support metrics.
"""

from datetime import timedelta

from storage.database import Database
from storage.models import HandoffState
from storage.repositories import handoffs
from tests.factories import NOW, make_fan

LEASE = timedelta(minutes=2)


async def test_one_open_handoff_per_fan_taken_and_closed(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        first, new = await handoffs.open_handoff(session, fan.id, "order question", NOW)
        again, new_again = await handoffs.open_handoff(session, fan.id, "again", NOW)
        assert (new, new_again, again.id) == (True, False, first.id)
        assert handoffs.take(first, 42, NOW + timedelta(minutes=1))
        assert not handoffs.take(first, 42, NOW + timedelta(minutes=2))
        handoffs.staff_spoke(first, NOW + timedelta(minutes=3))
        handoffs.staff_spoke(first, NOW + timedelta(minutes=5))
        await session.commit()

    async with database.session() as session:
        stored = await handoffs.open_of(session, fan.id)
        assert stored is not None
        assert (stored.state, stored.taken_by) == (HandoffState.TAKEN, 42)
        assert stored.taken_at == NOW + timedelta(minutes=1)
        assert stored.first_response_at == NOW + timedelta(minutes=3)
        assert stored.last_staff_message_at == NOW + timedelta(minutes=5)
        assert handoffs.close(stored, "handback", NOW + timedelta(minutes=6))
        assert not handoffs.close(stored, "handback", NOW + timedelta(minutes=7))
        await session.commit()
        assert await handoffs.open_of(session, fan.id) is None
        assert await handoffs.open_fan_ids(session, [fan.id]) == set()
        later, new = await handoffs.open_handoff(session, fan.id, "x" * 300, NOW)
        assert new
        assert len(later.reason) == 128
        await session.commit()
        assert await handoffs.open_fan_ids(session, [fan.id]) == {fan.id}


async def test_the_topic_queue_is_claimed_oldest_first_with_a_lease(database: Database) -> None:
    async with database.session() as session:
        fan_ids = [(await make_fan(session)).id for _ in range(3)]
        for minutes, fan_id in zip((2, 0, 1), fan_ids, strict=True):
            await handoffs.open_handoff(session, fan_id, "help", NOW + timedelta(minutes=minutes))
        await session.commit()

    async with database.session() as session:
        first = await handoffs.claim_queued(session, NOW, 2, LEASE)
        await session.commit()
    assert [h.fan_id for h in first] == [fan_ids[1], fan_ids[2]]

    async with database.session() as session:
        rest = await handoffs.claim_queued(session, NOW + timedelta(minutes=1), 5, LEASE)
        assert [h.fan_id for h in rest] == [fan_ids[0]]
        rest[0].notified_at = NOW
        await session.commit()
        assert await handoffs.queued_count(session) == 2
        assert await handoffs.claim_queued(session, NOW + timedelta(minutes=1), 5, LEASE) == []
        assert await handoffs.claim_queued(session, NOW, 0, LEASE) == []

    # A claim left by a worker that died is taken again after the lease.
    async with database.session() as session:
        retried = await handoffs.claim_queued(
            session, NOW + LEASE + timedelta(seconds=1), 5, LEASE
        )
        await session.commit()
    assert sorted(h.fan_id for h in retried) == sorted(fan_ids[1:])


async def test_idle_handoffs_close_in_one_statement(database: Database) -> None:
    idle = timedelta(minutes=30)
    async with database.session() as session:
        waiting_fan, quiet_fan, busy_fan = [await make_fan(session) for _ in range(3)]
        await handoffs.open_handoff(session, waiting_fan.id, "help", NOW)
        quiet, _ = await handoffs.open_handoff(session, quiet_fan.id, "help", NOW)
        handoffs.take(quiet, 7, NOW)
        handoffs.staff_spoke(quiet, NOW + timedelta(minutes=5))
        busy, _ = await handoffs.open_handoff(session, busy_fan.id, "help", NOW)
        handoffs.take(busy, 7, NOW)
        handoffs.staff_spoke(busy, NOW + timedelta(minutes=20))
        await session.commit()

    async with database.session() as session:
        closed = await handoffs.close_idle(session, NOW + timedelta(minutes=40), idle)
        await session.commit()
        assert sorted((c.fan_id, c.answered) for c in closed) == sorted(
            [(waiting_fan.id, False), (quiet_fan.id, True)]
        )
        assert await handoffs.open_fan_ids(
            session, [waiting_fan.id, quiet_fan.id, busy_fan.id]
        ) == {busy_fan.id}
        again = await handoffs.close_idle(session, NOW + timedelta(minutes=40), idle)
        assert again == []


async def test_topics_and_relayed_messages(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        topic = await handoffs.save_topic(session, fan.id, -100123, 77, "⏳ Ada · 1", NOW)
        topic.card_message_id = 78
        await handoffs.record_relay(
            session,
            fan.id,
            handoffs.TO_STAFF,
            fan_message_id=5,
            staff_chat_id=-100123,
            staff_message_id=80,
            now=NOW,
        )
        await handoffs.record_relay(
            session,
            fan.id,
            handoffs.TO_FAN,
            fan_message_id=6,
            staff_chat_id=-100123,
            staff_message_id=81,
            now=NOW,
        )
        await session.commit()

    async with database.session() as session:
        found = await handoffs.topic_by_thread(session, -100123, 77)
        assert found is not None
        assert (found.fan_id, found.card_message_id) == (fan.id, 78)
        assert await handoffs.topic_by_thread(session, -100999, 77) is None
        to_staff = await handoffs.copy_in_topic(session, fan.id, 5)
        to_fan = await handoffs.copy_in_fan_chat(session, -100123, 81)
        assert to_staff is not None
        assert to_staff.staff_message_id == 80
        assert to_fan is not None
        assert to_fan.fan_message_id == 6
        # Each direction answers only for itself.
        assert await handoffs.copy_in_topic(session, fan.id, 6) is None
        assert await handoffs.copy_in_fan_chat(session, -100123, 80) is None
        # Replies map a message to its other side, whichever way it went.
        assert await handoffs.in_fan_chat(session, -100123, 80) == 5
        assert await handoffs.in_fan_chat(session, -100123, 81) == 6
        assert await handoffs.in_fan_chat(session, -100123, 99) is None
        assert await handoffs.in_topic(session, fan.id, 6) == 81
        assert await handoffs.in_topic(session, fan.id, 7) is None
        # A topic in a new staff chat replaces the old one, card and all.
        moved = await handoffs.save_topic(session, fan.id, -100456, 3, "t", NOW)
        assert (moved.staff_chat_id, moved.thread_id, moved.card_message_id) == (-100456, 3, None)


async def test_support_metrics(database: Database) -> None:
    async with database.session() as session:
        fans = [await make_fan(session) for _ in range(3)]
        answered, _ = await handoffs.open_handoff(session, fans[0].id, "a", NOW)
        handoffs.take(answered, 7, NOW + timedelta(minutes=1))
        handoffs.staff_spoke(answered, NOW + timedelta(minutes=2))
        handoffs.close(answered, "handback", NOW + timedelta(minutes=10))
        other, _ = await handoffs.open_handoff(session, fans[1].id, "b", NOW)
        handoffs.take(other, 8, NOW)
        handoffs.staff_spoke(other, NOW + timedelta(minutes=4))
        await handoffs.open_handoff(session, fans[2].id, "c", NOW)
        await session.commit()
        report = await handoffs.metrics(session, NOW - timedelta(days=1))
        empty = await handoffs.metrics(session, NOW + timedelta(days=1))
    assert (report.opened, report.taken, report.closed, report.open_now) == (3, 2, 1, 2)
    assert report.mean_first_response_seconds == 180.0
    assert report.mean_duration_seconds == 600.0
    assert report.by_staff == {7: 1, 8: 1}
    assert (empty.opened, empty.mean_first_response_seconds) == (0, None)

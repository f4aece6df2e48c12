"""The outbox claim: due rows, higher priority first, then the oldest due; on PostgreSQL
read from the index in that order (ix_outbox_claim), not sorted row by row, once the
statistics know the rows are there (analyze_if_stale)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database, analyze_if_stale, plan_for_these_values
from storage.models import OutboxMessage
from storage.repositories import outbox
from tests.factories import make_fan

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def _enqueue(session: AsyncSession, fan_ids: list[int], count: int) -> None:
    rows = [
        {
            "fan_id": fan_ids[number % len(fan_ids)],
            "source": "broadcast",
            "content": {"text": {"en": f"message {number}"}},
            "priority": number % 3,
            # The first half due (the oldest first), the second half a minute on and later.
            "due_at": NOW + timedelta(minutes=number + 1 - count // 2),
        }
        for number in range(count)
    ]
    await outbox.enqueue(session, rows, NOW)


async def _rows(session: AsyncSession, ids: list[int]) -> list[OutboxMessage]:
    """The claimed rows as stored, in the claim's order."""
    found = await session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    rows = list(found.scalars())
    return sorted(rows, key=lambda row: (-row.priority, row.due_at, row.id))


async def test_the_claim_takes_higher_priority_then_the_oldest_due(database: Database) -> None:
    async with database.session() as session:
        fan_ids = [(await make_fan(session)).id for _ in range(5)]
        await _enqueue(session, fan_ids, 60)
        claimed = await _rows(session, await outbox.claim_due(session, NOW, 12))
        # Every due row of priority 2 (numbers 2, 5, ... 29), then the two oldest of
        # priority 1 (numbers 1 and 4), though rows of priority 0 were due before them.
        assert [row.priority for row in claimed] == [2] * 10 + [1] * 2
        assert [row.due_at for row in claimed[10:]] == [
            NOW + timedelta(minutes=number + 1 - 30) for number in (1, 4)
        ]
        assert all(row.due_at <= NOW for row in claimed)
        assert {(row.state, row.attempts, row.claimed_at) for row in claimed} == {
            ("sending", 1, NOW)
        }
        # The first fan's messages wait while others of theirs go out: 30 due, 12
        # claimed, the first fan's four others (of six due) stay.
        rest = await _rows(
            session, await outbox.claim_due(session, NOW, 100, except_fans=fan_ids[:1])
        )
        assert len(rest) == 14
        assert fan_ids[0] not in {row.fan_id for row in rest}
        await session.rollback()


async def test_on_postgresql_the_claim_reads_its_index_once_statistics_are_fresh(
    database: Database,
) -> None:
    async with database.session() as session:
        fan_ids = [(await make_fan(session)).id for _ in range(20)]
        await _enqueue(session, fan_ids, 4000)
        if database.is_postgres:  # count this transaction's rows at its end, not later
            await session.execute(text("SELECT pg_stat_force_next_flush()"))
        await session.commit()
    async with database.session() as session:
        assert await analyze_if_stale(session, "outbox", min_rows=1000, share=0.2) == (
            database.is_postgres
        )
        await session.commit()
    if database.is_sqlite:
        return  # SQLite keeps up without it: the index is made on PostgreSQL only
    async with database.session() as session:
        assert not await analyze_if_stale(session, "outbox", min_rows=1000, share=0.2)
        await plan_for_these_values(session)  # as the sender does
        scans = text("SELECT pg_stat_get_xact_numscans('ix_outbox_claim'::regclass)")
        before = (await session.execute(scans)).scalar_one()
        assert len(await outbox.claim_due(session, NOW, 200)) == 200
        assert (await session.execute(scans)).scalar_one() == before + 1
        await session.rollback()

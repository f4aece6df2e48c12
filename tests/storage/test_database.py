"""Planning the sender's statements on PostgreSQL: for their values, never by a sent-row scan."""

from datetime import timedelta

from sqlalchemy import insert, text

from storage.database import Database, plan_for_these_values
from storage.models import Fan, FanStatus, OutboxMessage, OutboxState
from storage.repositories.outbox import sent_since_statement
from tests.factories import NOW


async def test_statements_are_planned_for_their_values_for_the_transaction_only(
    database: Database,
) -> None:
    async with database.session() as session:
        await plan_for_these_values(session)  # nothing to do on SQLite
        if database.is_sqlite:
            return
        assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == (
            "force_custom_plan"
        )
        await session.commit()
        assert (await session.execute(text("SHOW plan_cache_mode"))).scalar() == "auto"


async def test_recent_sends_are_counted_by_fan_before_any_statistics(database: Database) -> None:
    """A new database's first big broadcast: many sent rows, no ANALYZE yet."""
    async with database.session() as session:
        fan_ids = (
            await session.scalars(
                insert(Fan).returning(Fan.id),
                [
                    {
                        "telegram_user_id": n,
                        "chat_id": n,
                        "first_name": "F",
                        "status": FanStatus.ACTIVE.value,
                        "joined_at": NOW,
                        "last_seen_at": NOW,
                        "conversation": {},
                    }
                    for n in range(1, 3001)
                ],
            )
        ).all()
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "fan_id": fan_id,
                    "source": "broadcast",
                    "content": {},
                    "priority": 0,
                    "due_at": NOW,
                    "state": OutboxState.SENT.value,
                    "sent_at": NOW,
                    "attempts": 1,
                    "created_at": NOW,
                }
                for fan_id in fan_ids
            ],
        )
        await session.commit()
    # The sender's count, with its values in the SQL: the plan that plan_for_these_values
    # gets for it.
    count = sent_since_statement(fan_ids[:200], NOW - timedelta(days=1))
    async with database.read_session() as session:
        dialect = (await session.connection()).dialect
        sql = str(count.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
        plan = " ".join(str(row[-1]) for row in await session.execute(text(explain + sql)))
    # By a per-fan index, or a scan of this small table; never an index led by the state.
    assert not any(index in plan for index in ("ix_outbox_source_state", "ix_outbox_queue")), plan

"""Planning the sender's statements on PostgreSQL for the values they run with."""

from sqlalchemy import text

from storage.database import Database, plan_for_these_values


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

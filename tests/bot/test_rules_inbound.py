"""The rules hook on the real bot: a deep link through the Dispatcher fires the event rule
in the update's own transaction."""

from datetime import timedelta

from sqlalchemy import select

from sandbox.client import SandboxClient
from storage.models import OutboxMessage, OutboxState, RuleFiring
from storage.repositories import fans
from tests.bot.test_conversation import Fan, StartBot


async def test_joining_via_the_spring_giveaway_queues_the_reminder(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user = await sandbox.create_user(first_name="Lin")
    await Fan(app, sandbox, user["id"]).start("spring_gift")
    async with app.database.session() as session:
        stored = await fans.get_by_telegram_id(session, user["id"])
        assert stored is not None
        [row] = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.fan_id == stored.id))
        ).scalars()
        [firing] = (await session.execute(select(RuleFiring))).scalars()
    assert (row.source, row.source_ref, row.state) == (
        "rule",
        "spring_gift_reminder",
        OutboxState.PENDING,
    )
    assert row.content == {"step": "follow_ups.spring_reminder"}
    assert row.due_at == row.created_at + timedelta(days=3)
    assert (firing.fan_id, firing.outbox_id, firing.brand_version) == (stored.id, row.id, "v1")

"""Intake stops at the backlog limit: the rest waits at Telegram, not in memory."""

import asyncio
from contextlib import suppress

from bot.app import create_app
from bot.settings import Settings
from sandbox.client import SandboxClient
from storage.repositories import inbox
from tests.bot.conftest import wait_until

BACKLOG = 10


async def test_polling_pauses_when_the_inbox_is_full(
    settings: Settings, sandbox: SandboxClient
) -> None:
    app = create_app(settings.model_copy(update={"inbox_max_backlog": BACKLOG}))
    await app.prepare()
    user_id = (await sandbox.create_user(first_name="Flood"))["id"]
    for number in range(3 * BACKLOG):
        await sandbox.send_text(user_id, f"message {number}")
    # Only the poller runs: nothing is handled, so the inbox fills up to the limit.
    poller = asyncio.create_task(app.create_poller().run())
    try:

        async def inbox_full() -> bool:
            async with app.database.session() as session:
                return await inbox.count_pending(session) == BACKLOG

        await wait_until(inbox_full, what="a full inbox")
        polls = (await sandbox.stats())["calls"]["getUpdates"]
        await asyncio.sleep(0.5)  # what would be several polling rounds
        assert (await sandbox.stats())["calls"]["getUpdates"] == polls
        async with app.database.session() as session:
            assert await inbox.count_pending(session) == BACKLOG
        # Nothing confirmed: the stored ten are confirmed by the next poll, the rest wait.
        assert (await sandbox.updates())["pending"] == 3 * BACKLOG
    finally:
        poller.cancel()
        with suppress(asyncio.CancelledError):
            await poller
        await app.close()

"""`rapport handoffs stats` and `rapport handoffs open` read what handoffs recorded."""

import asyncio
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot.cli import main
from storage.clock import utc_now
from storage.database import Database
from storage.repositories import handoffs
from tests.factories import make_fan


async def _seed(url: str) -> int:
    database = Database(url)
    now = utc_now() - timedelta(hours=1)
    try:
        async with database.session() as session:
            answered = await make_fan(session, now)
            waiting = await make_fan(session, now, user_id=777001)
            done, _ = await handoffs.open_handoff(session, answered.id, "order", now)
            handoffs.take(done, 42, now)
            handoffs.staff_spoke(done, now + timedelta(seconds=90))
            handoffs.close(done, "handback", now + timedelta(minutes=5))
            await handoffs.open_handoff(session, waiting.id, "a question", now)
            await session.commit()
            return waiting.telegram_user_id or 0
    finally:
        await database.dispose()


def test_stats_and_open_handoffs(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    waiting_id = asyncio.run(_seed(database_url))
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    runner = CliRunner()

    stats = runner.invoke(main, ["handoffs", "stats", "--days", "1"])
    assert stats.exit_code == 0, stats.output
    assert "2 opened, 1 taken by staff, 1 closed, 1 still open" in stats.output
    assert "mean first response: 1 min 30 s" in stats.output
    assert "mean duration: 5 min 0 s" in stats.output
    assert "staff 42: 1" in stats.output

    listed = runner.invoke(main, ["handoffs", "open"])
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.strip().splitlines()
    assert f"fan {waiting_id}  waiting, topic queued: a question" in line

"""Killing the bot mid-stream loses no update and handles none twice; SIGTERM is quick.

The bot runs as a real process (`python -m bot run`) against the sandbox in this test's
event loop; the test kills it with SIGKILL in the middle of a stream of fan messages,
starts it again, and counts what was handled.
"""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox.client import SandboxClient
from storage.database import Database
from storage.models import Event, EventKind, InboxState
from storage.repositories import inbox
from tests.bot.conftest import EXAMPLE_BRAND, TOKEN, WEBHOOK_SECRET, free_port, wait_until

FANS = 5
MESSAGES_PER_FAN = 40
TOTAL = FANS * MESSAGES_PER_FAN
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _environment(mode: str, sandbox_url: str, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "RAPPORT_BOT_TOKEN": TOKEN,
        "RAPPORT_API_URL": sandbox_url,
        "RAPPORT_DATABASE_URL": database_url,
        "RAPPORT_BRAND_DIR": str(EXAMPLE_BRAND),
        "RAPPORT_POLLING_TIMEOUT": "1",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_CONSOLE_PORT": "0",  # no console: parallel runs would compete for its port
    }
    if mode == "webhook":
        port = free_port()
        env.update(
            RAPPORT_WEBHOOK_URL=f"http://127.0.0.1:{port}",
            RAPPORT_WEBHOOK_HOST="127.0.0.1",
            RAPPORT_WEBHOOK_PORT=str(port),
            RAPPORT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    return env


async def _start(mode: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "bot", "run", *(["--webhook"] if mode == "webhook" else [])]
    return await asyncio.create_subprocess_exec(*args, cwd=ROOT, env=env)


async def _handled(database: Database) -> int:
    async with database.session() as session:
        query = select(func.count()).select_from(Event).where(Event.kind == EventKind.MESSAGE_IN)
        return int((await session.execute(query)).scalar_one())


async def _stream(sandbox: SandboxClient, user_ids: list[int], start: int, stop: int) -> None:
    for number in range(start, stop):
        for user_id in user_ids:
            await sandbox.send_text(user_id, f"message {number}")
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_sigkill_mid_stream_neither_loses_nor_repeats_an_update(
    mode: str, sandbox: SandboxClient, sandbox_url: str, database_url: str
) -> None:
    env = _environment(mode, sandbox_url, database_url)
    database = Database(database_url)
    user_ids = [(await sandbox.create_user(first_name=f"Fan{n}"))["id"] for n in range(FANS)]
    first = await _start(mode, env)
    try:
        # A quarter first: the bot starts slower than it handles a queued backlog, so a
        # stream sent all at once could be handled whole before the kill.
        quarter = MESSAGES_PER_FAN // 4
        await _stream(sandbox, user_ids, 0, quarter)
        await wait_until(
            lambda: _at_least(database, TOTAL // 4), timeout=60, what="the first updates handled"
        )
        streaming = asyncio.create_task(_stream(sandbox, user_ids, quarter, MESSAGES_PER_FAN))
        await wait_until(
            lambda: _at_least(database, TOTAL // 4 + 1), timeout=60, what="the stream handled"
        )
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert await _handled(database) < TOTAL  # killed in the middle of the stream
        await streaming

        second = await _start(mode, env)
        try:
            await wait_until(
                lambda: _at_least(database, TOTAL), timeout=90, what="every update handled"
            )
            await _assert_each_update_handled_once(database, user_ids)
            await _assert_sigterm_is_quick(second)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
        await database.dispose()


async def _at_least(database: Database, count: int) -> bool:
    return await _handled(database) >= count


async def _assert_each_update_handled_once(database: Database, user_ids: list[int]) -> None:
    async with database.session() as session:
        rows = (
            await session.execute(
                select(Event.update_id, Event.fan_id, Event.text)
                .where(Event.kind == EventKind.MESSAGE_IN)
                .order_by(Event.id)
            )
        ).all()
        states = await inbox.count_by_state(session)
    update_ids = [update_id for update_id, _, _ in rows]
    assert len(update_ids) == TOTAL
    assert len(set(update_ids)) == TOTAL
    assert states == {InboxState.DONE: TOTAL}
    # Each fan's messages, all of them, handled in the order they were sent.
    by_fan: dict[int, list[int]] = {}
    for _, fan_id, text in rows:
        by_fan.setdefault(fan_id, []).append(int(text.split()[1]))
    assert len(by_fan) == len(user_ids)
    for numbers in by_fan.values():
        assert numbers == list(range(MESSAGES_PER_FAN))


async def _assert_sigterm_is_quick(process: asyncio.subprocess.Process) -> None:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0
    assert time.monotonic() - started < 5

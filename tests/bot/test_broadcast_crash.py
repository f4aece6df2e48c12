"""SIGKILL of the bot process in the middle of a broadcast, then a restart.

Nothing may be sent twice (counted in the sandbox, per fan) and every outbox row must end
accounted for: sent, or unknown (claimed when the process died: maybe sent, never resent).
"""

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

import dialogs
from bot import brand
from sandbox.client import SandboxClient
from scheduler import broadcasts
from scheduler.broadcasts import BroadcastDraft
from storage.brand_cache import BrandCache
from storage.clock import utc_now
from storage.database import Database
from storage.models import OutboxMessage, OutboxState, TagSource
from storage.repositories import consents, fans, tags
from storage.repositories.fans import TelegramIdentity
from storage.repositories.outbox import SENDING_LEASE
from tests.bot.conftest import EXAMPLE_BRAND, wait_until
from tests.bot.test_crash_recovery import _environment, _start

FANS = 300
TEXT = "Hello {{ fan.first_name }}: the spring collection is here."

pytestmark = pytest.mark.slow


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now (far from the brand's quiet hours)."""
    offset = (12 - now.astimezone(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT-8 is UTC+8


async def _prepare(database: Database, sandbox: SandboxClient) -> dict[int, int]:
    """The brand, FANS fans who agreed to offers, and a broadcast to all of them."""
    now = utc_now()
    await brand.import_dir(database, EXAMPLE_BRAND, author="test", now=now)
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    chats = {}
    async with database.session() as session:
        for user in users:
            identity = TelegramIdentity(user["id"], user["first_name"])
            fan, _ = await fans.load_or_create(session, identity, user["id"], now)
            fan.timezone = midday_zone(now)
            await consents.record(session, fan.id, "offers", granted=True, proof={}, now=now)
            await tags.add(session, fan.id, "spring", TagSource.RULE, now)
            chats[fan.id] = user["id"]
        compiled = await BrandCache(dialogs.compile_brand).current(session)
        draft = BroadcastDraft("spring", {"tag": "spring"}, {"en": TEXT})
        created = await broadcasts.create(session, compiled, draft, now)
        assert await broadcasts.schedule(session, created.id, now) == FANS
        await session.commit()
    return chats


async def _broadcast_messages(sandbox: SandboxClient, chats: dict[int, int]) -> Counter[int]:
    """How many copies of the broadcast each fan received (other messages do not count)."""
    received: Counter[int] = Counter()
    for fan_id, chat in chats.items():
        for message in await sandbox.messages(chat):
            if (message.text or "").endswith("the spring collection is here."):
                received[fan_id] += 1
    return received


async def _states(database: Database) -> dict[str, int]:
    async with database.session() as session:
        result = await session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.source == broadcasts.SOURCE)
            .group_by(OutboxMessage.state)
        )
        return {state: int(count) for state, count in result}


async def _settled(database: Database) -> bool:
    states = await _states(database)
    return not states.get(OutboxState.PENDING) and not states.get(OutboxState.SENDING)


async def test_sigkill_mid_broadcast_sends_nothing_twice_and_accounts_for_every_row(
    sandbox: SandboxClient, sandbox_url: str, database_url: str
) -> None:
    env = _environment("polling", sandbox_url, database_url)
    env["RAPPORT_SEND_RATE"] = "100"  # 300 fans in about 3 s: time to kill it mid-way
    database = Database(database_url)
    try:
        chats = await _prepare(database, sandbox)
        first = await _start("polling", env)
        try:
            await wait_until(
                lambda: _sent_at_least(sandbox, FANS // 6), timeout=60, what="the first sends"
            )
            first.send_signal(signal.SIGKILL)
            await first.wait()
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
        at_kill = (await sandbox.stats())["sent_messages"]
        assert at_kill < FANS  # killed in the middle of the broadcast
        if database.is_postgres:
            await _lease_runs_out(database)

        second = await _start("polling", env)
        try:
            await wait_until(lambda: _settled(database), timeout=90, what="every row settled")
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 15) == 0
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()

        received = await _broadcast_messages(sandbox, chats)
        assert set(received.values()) <= {1}  # nobody got it twice
        async with database.session() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.fan_id, OutboxMessage.state, OutboxMessage.reason)
                )
            ).all()
        assert len(rows) == FANS
        states = Counter(state for _, state, _ in rows)
        assert set(states) <= {OutboxState.SENT, OutboxState.UNKNOWN}
        assert states[OutboxState.UNKNOWN] > 0  # some were in flight when it died
        for fan_id, state, reason in rows:
            if state == OutboxState.SENT:
                assert received[fan_id] == 1
            else:
                assert reason == "sender_crashed"
        assert sum(received.values()) >= states[OutboxState.SENT]
    finally:
        await database.dispose()


async def _sent_at_least(sandbox: SandboxClient, count: int) -> bool:
    return int((await sandbox.stats())["sent_messages"]) >= count


async def _lease_runs_out(database: Database) -> None:
    """On PostgreSQL a claim is another worker's until its lease ends: let it end."""
    async with database.session() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.SENDING)
            .values(claimed_at=utc_now() - SENDING_LEASE - timedelta(seconds=1))
        )
        await session.commit()

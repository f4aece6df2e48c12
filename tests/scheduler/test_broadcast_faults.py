"""A broadcast through the sandbox when Telegram misbehaves: nothing lost, nothing sent twice.

429 storms, 403s, failed connections, 5xx and timeouts, and two senders on PostgreSQL
sharing one broadcast. (The SIGKILL of a real bot process is in tests/bot.)
"""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import event, select

import dialogs
from scheduler import broadcasts
from scheduler.broadcasts import BroadcastDraft
from scheduler.rate_limit import SLOW_DOWN, RateLimiter
from scheduler.sender import MAX_ATTEMPTS, RETRY_BACKOFF, OutboxSender
from storage.brand_cache import BrandCache
from storage.database import Database
from storage.models import Fan, FanStatus, OutboxMessage, OutboxState, TagSource
from storage.repositories import consents, fans, outbox, tags
from storage.repositories.fans import TelegramIdentity
from tests.bot.conftest import TOKEN, free_port
from tests.scheduler.conftest import World

TEXT = "Hi {{ fan.first_name }}, the spring bags are in!"


async def _audience(world: World, count: int) -> dict[int, int]:
    """`count` fans tagged `bags` who agreed to offers: fan id -> Telegram chat id."""
    users = [await world.sandbox.create_user(first_name=f"Fan{n}") for n in range(count)]
    chats = {}
    async with world.database.session() as session:
        for user in users:
            identity = TelegramIdentity(user["id"], user["first_name"])
            fan, _ = await fans.load_or_create(session, identity, user["id"], world.clock())
            await consents.record(
                session, fan.id, "offers", granted=True, proof={}, now=world.clock()
            )
            await tags.add(session, fan.id, "bags", TagSource.RULE, world.clock())
            chats[fan.id] = user["id"]
        await session.commit()
    return chats


async def _broadcast(world: World) -> int:
    async with world.database.session() as session:
        brand = await BrandCache(dialogs.compile_brand).current(session)
        draft = BroadcastDraft("spring bags", {"tag": "bags"}, {"en": TEXT})
        created = await broadcasts.create(session, brand, draft, world.clock())
        await broadcasts.schedule(session, created.id, world.clock())
        await session.commit()
    return created.id


async def _received(world: World) -> Counter[int]:
    """How many messages the sandbox took for each chat."""
    return Counter(send["chat_id"] for send in (await world.sandbox.stats())["sends"])


async def _rows(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list((await session.execute(select(OutboxMessage))).scalars())


async def _drain(world: World, sender: OutboxSender, step: timedelta) -> None:
    """Send until nothing is pending, moving the fake clock on when only later rows wait."""
    for _ in range(100):
        if await sender.run_batch():
            continue
        if not any(row.state == OutboxState.PENDING for row in await _rows(world.database)):
            return
        world.clock.advance(seconds=step.total_seconds())
    raise AssertionError("the outbox did not drain")


async def test_a_429_storm_delays_but_every_fan_gets_exactly_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    chats = await _audience(world, 150)
    broadcast_id = await _broadcast(world)
    await world.sandbox.set_faults(storm_remaining=12, storm_retry_after=1)
    started = world.clock()
    limiter = world.sender.limiter
    rates_after_429: list[float] = []
    too_many_requests = limiter.too_many_requests

    def watched(retry_after: float) -> None:
        too_many_requests(retry_after)
        rates_after_429.append(limiter.rate)

    monkeypatch.setattr(limiter, "too_many_requests", watched)

    assert await world.sender.run_batch() == 150
    waiting = [row for row in await _rows(world.database) if row.state == OutboxState.PENDING]
    assert len(waiting) == 12
    # retry_after honoured exactly, and the 429s did not count as attempts.
    assert {(row.reason, row.due_at - started, row.attempts) for row in waiting} == {
        ("too_many_requests", timedelta(seconds=1), 0)
    }
    # Slowed down, once: the 429s of a burst answered sends already in flight.
    assert len(rates_after_429) == 12
    assert rates_after_429[0] == limiter.ceiling * SLOW_DOWN
    assert min(rates_after_429) == rates_after_429[0]

    await _drain(world, world.sender, timedelta(seconds=1))
    assert await _received(world) == Counter(chats.values())  # one each, nobody missing
    async with world.database.session() as session:
        result = await broadcasts.stats(session, broadcast_id)
    assert (result.sent, result.total) == (150, 150)
    assert world.sender.stats.too_many_requests == 12
    assert (await world.sandbox.stats())["too_many_requests"] == 12


async def test_fans_who_blocked_the_bot_are_marked_and_their_rows_cancelled(
    world: World,
) -> None:
    chats = await _audience(world, 40)
    blocked_fans = list(chats)[:8]
    for fan_id in blocked_fans:  # a later message of a rule, withdrawn with the rest
        later = world.clock() + timedelta(days=2)
        async with world.database.session() as session:
            values = {"fan_id": fan_id, "source": "rule", "content": {"step": "shop.buy"}}
            await outbox.enqueue(session, [{**values, "due_at": later}], world.clock())
            await session.commit()
    broadcast_id = await _broadcast(world)
    await world.sandbox.set_faults(blocked_user_ids=[chats[fan_id] for fan_id in blocked_fans])

    await _drain(world, world.sender, timedelta(seconds=1))
    assert await _received(world) == Counter(
        chat for fan_id, chat in chats.items() if fan_id not in blocked_fans
    )
    async with world.database.session() as session:
        result = await broadcasts.stats(session, broadcast_id)
        statuses = (
            await session.execute(select(Fan.status).where(Fan.id.in_(blocked_fans)))
        ).scalars()
        assert set(statuses) == {FanStatus.BLOCKED}
    assert (result.sent, result.cancelled) == (32, {"blocked": 8})
    rule_rows = [row for row in await _rows(world.database) if row.source == "rule"]
    assert {(row.state, row.reason) for row in rule_rows} == {(OutboxState.CANCELLED, "blocked")}


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"drop_rate": 1.0}, id="dropped-connections"),
        pytest.param({"error_rate": 1.0}, id="server-errors"),
        pytest.param(None, id="connection-refused"),
    ],
)
async def test_network_errors_retry_with_backoff_then_fail(
    world: World, fault: dict[str, Any] | None
) -> None:
    await _audience(world, 5)
    broadcast_id = await _broadcast(world)
    sender = world.sender
    if fault is None:  # nothing listens there: the request never left
        nowhere = Bot(
            TOKEN,
            session=AiohttpSession(
                api=TelegramAPIServer.from_base(f"http://127.0.0.1:{free_port()}")
            ),
        )
        sender = OutboxSender(
            world.database, nowhere, sender.brand_cache, world.clock, sender.limiter
        )
    else:
        await world.sandbox.set_faults(error_methods=["sendmessage"], **fault)
    try:
        await _retried_then_failed(world, sender)
    finally:
        if sender is not world.sender:
            await sender.bot.session.close()
    async with world.database.session() as session:
        result = await broadcasts.stats(session, broadcast_id)
    assert (result.failed, result.total) == (5, 5)
    assert await _received(world) == Counter()


async def _retried_then_failed(world: World, sender: OutboxSender) -> None:
    for attempt in range(1, MAX_ATTEMPTS):
        claimed_at = world.clock()
        assert await sender.run_batch() == 5
        rows = await _rows(world.database)
        assert {(row.state, row.reason, row.attempts) for row in rows} == {
            (OutboxState.PENDING, "network", attempt)
        }
        # Each retry waits longer than the one before.
        assert {row.due_at - claimed_at for row in rows} == {RETRY_BACKOFF * attempt}
        world.clock.advance(seconds=(RETRY_BACKOFF * attempt).total_seconds())
    assert await sender.run_batch() == 5
    assert await sender.run_batch() == 0
    rows = await _rows(world.database)
    assert {(row.state, row.reason) for row in rows} == {(OutboxState.FAILED, "network")}


async def test_a_timed_out_send_is_unknown_and_never_sent_again(
    world: World, sandbox_url: str
) -> None:
    chats = await _audience(world, 4)
    await _broadcast(world)
    # The sandbox answers after 0.6 s, the bot gives up after 0.2 s. On Telegram such a
    # message may have been delivered; sending it again could make a duplicate.
    await world.sandbox.set_faults(latency_ms=600)
    impatient = Bot(
        TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url), timeout=0.2),
    )
    sender = OutboxSender(
        world.database,
        impatient,
        world.sender.brand_cache,
        world.clock,
        RateLimiter(1000, per_chat_interval=0.0),
    )
    try:
        assert await sender.run_batch() == 4
        world.clock.advance(hours=1)
        assert await sender.run_batch() == 0
    finally:
        await impatient.session.close()
    rows = await _rows(world.database)
    assert {(row.state, row.reason) for row in rows} == {(OutboxState.UNKNOWN, "timeout")}
    assert sender.stats.unknown == 4
    await asyncio.sleep(0.6)  # past the sandbox's latency: nothing turns up late
    # (The sandbox drops a request whose client left; Telegram might have delivered it.)
    assert await _received(world) == Counter()
    assert len(chats) == 4


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_senders_on_postgres_share_a_broadcast_without_duplicates(
    world: World, database_url: str, sandbox_url: str
) -> None:
    chats = await _audience(world, 300)
    await _broadcast(world)
    other_database = Database(database_url)  # another worker: its own engine and pool
    other_bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url)))
    claims: list[str] = []
    for database in (world.database, other_database):
        event.listen(database.engine.sync_engine, "before_cursor_execute", _collect(claims))
    other = OutboxSender(
        other_database,
        other_bot,
        BrandCache(dialogs.compile_brand),
        world.clock,
        RateLimiter(1000, per_chat_interval=0.0),
        batch_size=25,
    )
    world.sender.batch_size = 25
    try:
        await asyncio.gather(_until_idle(world.sender), _until_idle(other))
    finally:
        await other_bot.session.close()
        await other_database.dispose()
    assert await _received(world) == Counter(chats.values())
    assert world.sender.stats.sent + other.stats.sent == 300
    assert world.sender.stats.sent > 0
    assert other.stats.sent > 0
    locking = [sql for sql in claims if "FROM outbox" in sql and "FOR UPDATE" in sql]
    assert locking
    assert all("FOR UPDATE SKIP LOCKED" in sql for sql in locking)
    assert {row.state for row in await _rows(world.database)} == {OutboxState.SENT}


def _collect(statements: list[str]) -> Any:
    def collect(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return collect


async def _until_idle(sender: OutboxSender) -> None:
    while await sender.run_batch():
        pass

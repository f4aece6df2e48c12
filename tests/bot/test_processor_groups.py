"""Updates of different chats share a transaction under a backlog (bot/processor.py).

One failing update must cost the others of its group nothing: they are handled (once
each, no duplicate on the timeline) and a chat's updates and replies keep their order.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update
from sqlalchemy import ColumnElement, event, func, literal_column, select

from bot import processor
from bot.app import App, create_app
from bot.settings import Settings
from dialogs.conditions import Condition
from handlers.inbound_batch import InboundBatch
from handlers.replies import Replies
from sandbox.client import SandboxClient
from scheduler.rules.events import failed_counts
from storage import segments
from storage.models import Event, EventKind, Fan, InboxState, InboxUpdate, OutboxMessage, TagSource
from storage.repositories import inbox, tags
from tests.bot.conftest import wait_until

FANS = 5


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The app without its runner: the test drives the processor itself."""
    app = create_app(settings)
    await app.prepare()
    yield app
    await app.close()


def text_update(update_id: int, user: dict[str, Any], text: str) -> dict[str, Any]:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    sender = {"id": user["id"], "is_bot": False, "first_name": user["first_name"]}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": sender}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def store(app: App, payloads: list[dict[str, Any]]) -> None:
    async with app.database.session() as session:
        await inbox.store(session, payloads, app.clock())
        await session.commit()


async def bot_texts(sandbox: SandboxClient, chat_id: int) -> list[str]:
    logged = await sandbox.messages(chat_id)
    return [str(m.message.get("text")) for m in logged if m.direction == "from_bot"]


async def message_in_counts(app: App) -> dict[int, int]:
    async with app.database.session() as session:
        rows = await session.execute(
            select(Event.update_id, func.count())
            .where(Event.kind == EventKind.MESSAGE_IN.value)
            .group_by(Event.update_id)
        )
        return {int(update_id): int(count) for update_id, count in rows.all()}


async def run_counting(app: App, wanted: Callable[[str], bool]) -> tuple[int, list[str]]:
    """One processor run: how many updates it handled, and the statements `wanted` picked."""
    picked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if wanted(statement):
            picked.append(statement)

    engine = app.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        return await app.processor.run_once(), picked
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_failing_update_costs_its_group_nothing(
    app: App, sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    # Two rounds: /start from every fan, then one message each; fan 2's second one fails.
    payloads = [text_update(1 + n, user, "/start") for n, user in enumerate(users)]
    payloads += [
        text_update(100 + n, user, f"I want to buy a handbag, take {n}")
        for n, user in enumerate(users)
    ]
    failing = 102
    real_feed = app.dispatcher.feed_update
    fed: list[int] = []

    async def feed_update(bot: Bot, update: Update, **kwargs: Any) -> Any:
        fed.append(update.update_id)
        if update.update_id == failing:
            raise RuntimeError("a handler broke")
        return await real_feed(bot, update, **kwargs)

    monkeypatch.setattr(app.dispatcher, "feed_update", feed_update)
    await store(app, payloads)

    handled = await app.processor.run_once()

    assert handled == len(payloads) - 1
    assert max(fed.count(n) for n in range(1, 1 + FANS)) == 1, "first round went in one group"
    async with app.database.session() as session:
        rows = dict(
            (await session.execute(select(InboxUpdate.update_id, InboxUpdate.state))).all()
        )
        failed_row = await session.get(InboxUpdate, failing)
    assert failed_row is not None
    assert failed_row.attempts == 1
    assert failed_row.state == InboxState.PENDING  # to be retried
    assert all(
        state == InboxState.DONE for update_id, state in rows.items() if update_id != failing
    )
    # Rolled back and handled again alone: still exactly one timeline entry each.
    counts = await message_in_counts(app)
    assert counts == {
        payload["update_id"]: 1 for payload in payloads if payload["update_id"] != failing
    }

    # Each fan's replies came in order: the /start welcome first, then the other answer.
    replies = {n: await bot_texts(sandbox, user["id"]) for n, user in enumerate(users)}
    for n, texts in replies.items():
        assert texts[0].endswith(replies[0][0].split("!", 1)[1]), "the /start welcome came first"
        if n != failing - 100:
            assert len(texts) > len(replies[failing - 100]), texts

    monkeypatch.setattr(app.dispatcher, "feed_update", real_feed)
    assert await app.processor.run_once() == 1
    assert (await message_in_counts(app))[failing] == 1
    assert len(await bot_texts(sandbox, users[2]["id"])) > len(replies[2])


async def test_with_no_backlog_an_update_goes_alone(app: App, sandbox: SandboxClient) -> None:
    user = await sandbox.create_user(first_name="Solo")
    await store(app, [text_update(1, user, "/start")])
    assert await app.processor.run_once() == 1
    assert processor.GROUP_SIZE > 1


async def test_a_group_looks_its_fans_up_at_once(app: App, sandbox: SandboxClient) -> None:
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    payloads = [text_update(1 + n, user, "/start") for n, user in enumerate(users)]
    payloads += [text_update(100 + n, user, "hello") for n, user in enumerate(users)]
    await store(app, payloads)
    handled, lookups = await run_counting(
        app,
        lambda statement: (
            "FROM fans" in statement and "telegram_user_id" in statement.split("WHERE")[-1]
        ),
    )
    assert handled == len(payloads)

    assert len(lookups) == 2, "one look-up per round (new fans, then known ones)"
    # Each fan was greeted by their own name and answered twice: nobody got another's fan.
    for n, user in enumerate(users):
        texts = await bot_texts(sandbox, user["id"])
        assert f"Fan{n}" in texts[0], texts
        assert len(texts) >= 2, texts
    async with app.database.session() as session:
        known = (await session.execute(select(func.count()).select_from(Fan))).scalar()
    assert known == FANS


async def test_a_round_goes_as_one_group_on_sqlite_and_in_parallel_groups_on_postgres(
    app: App, sandbox: SandboxClient
) -> None:
    """On SQLite the groups of a round would queue for the one write turn: one group, one
    claim. On PostgreSQL they run side by side, at most GROUP_SIZE updates each."""
    chats = processor.GROUP_SIZE + 5
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(chats)]
    await store(app, [text_update(1 + n, user, "/start") for n, user in enumerate(users)])
    claim = "SELECT inbox_updates.update_id, inbox_updates.payload"
    handled, claims = await run_counting(app, lambda statement: statement.startswith(claim))
    assert handled == chats
    expected = 1 if app.database.is_sqlite else 2
    assert len(claims) == expected, claims


async def test_a_group_fires_each_rule_once_for_all_its_fans(
    app: App, sandbox: SandboxClient
) -> None:
    """The handbag offer's condition asks for the keyword hits the same group wrote; one
    firing statement serves every fan it matched, and a fan it excludes gets nothing."""
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    await store(app, [text_update(1 + n, user, "/start") for n, user in enumerate(users)])
    assert await app.processor.run_once() == FANS
    customer = users[3]["id"]
    async with app.database.session() as session:
        known = {
            fan.telegram_user_id: fan.id for fan in (await session.execute(select(Fan))).scalars()
        }
        await tags.add(session, known[customer], "customer", TagSource.STAFF, app.clock())
        await session.commit()
    await store(
        app,
        [text_update(100 + n, user, "I want to buy a handbag") for n, user in enumerate(users)],
    )
    handled, firings = await run_counting(
        app, lambda statement: statement.startswith("INSERT INTO rule_firings")
    )
    assert handled == FANS

    assert len(firings) == 1, "the handbag offer fired once for the group"
    async with app.database.session() as session:
        offered = set(
            (
                await session.execute(
                    select(OutboxMessage.fan_id).where(OutboxMessage.source_ref == "handbag_offer")
                )
            ).scalars()
        )
    assert offered == {known[user["id"]] for user in users if user["id"] != customer}


async def savepoints_of_a_round(
    app: App, users: list[dict[str, Any]], first_update: int, text: str
) -> tuple[int, list[str]]:
    """Every fan sends `text`; one processor run: how many it handled, its SAVEPOINTs."""
    await store(app, [text_update(first_update + n, u, text) for n, u in enumerate(users)])
    return await run_counting(app, lambda statement: statement.upper().startswith("SAVEPOINT"))


async def test_a_group_fires_its_rules_without_savepoints_and_a_failing_one_alone(
    app: App, sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group fires its rules without a SAVEPOINT each (two round trips fewer per rule).
    A rule failing in the database then fails the group: its updates are handled again one
    by one, each with the rule guarded, so each is handled once and only the rule skipped."""
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    await store(app, [text_update(1 + n, user, "/start") for n, user in enumerate(users)])
    assert await app.processor.run_once() == FANS
    handled, savepoints = await savepoints_of_a_round(app, users, 100, "buy a handbag")
    assert handled == FANS
    assert savepoints == []

    def failing_filter(condition: Condition, now: datetime) -> ColumnElement[bool]:
        return literal_column("no_such_column") == 1  # the database refuses this

    monkeypatch.setattr(segments, "fan_filter", failing_filter)
    failed_before = failed_counts["handbag_offer"]
    handled, savepoints = await savepoints_of_a_round(app, users, 200, "buy that handbag")
    assert handled == FANS
    assert len(savepoints) == FANS, "handled one by one, the rule guarded in each"
    assert failed_counts["handbag_offer"] == failed_before + FANS
    counts = await message_in_counts(app)
    assert all(counts[200 + n] == 1 for n in range(FANS))
    async with app.database.session() as session:
        states = set((await session.execute(select(InboxUpdate.state))).scalars())
    assert states == {InboxState.DONE}


async def test_a_preloaded_profile_serves_only_while_it_is_current(
    app: App, sandbox: SandboxClient
) -> None:
    """Read for the group before its first update, a fan's profile serves that fan's first
    update only: not once the fan's facts changed, nor after a staff update (any fan)."""
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(3)]
    await store(app, [text_update(1 + n, user, "/start") for n, user in enumerate(users)])
    assert await app.processor.run_once() == 3
    async with app.database.session() as session:
        ids = list((await session.execute(select(Fan.id).order_by(Fan.id))).scalars())
        await tags.add(session, ids[0], "vip", TagSource.STAFF, app.clock())
        batch = InboundBatch()
        await batch.preload(session, ids)

    batch.fan_arrived(ids[0])
    profile = batch.take_profile(ids[0])
    assert profile is not None
    assert "vip" in profile.facts.tags
    assert batch.take_profile(ids[0]) is None, "taken once: the engine run may change it"

    batch.fan_arrived(ids[1])
    batch.fan_arrived(ids[1])  # a second update of the same fan in the group
    assert batch.take_profile(ids[1]) is None

    batch.others_arrived()  # the staff chat may have tagged anyone
    assert batch.take_profile(ids[2]) is None


async def test_a_group_writes_its_timelines_in_a_statement_or_two(
    app: App, sandbox: SandboxClient
) -> None:
    """What the fans sent goes in one flush, what the bot answered in one statement: on
    SQLite too, where the ORM inserts rows one by one unless the table has an insert
    sentinel, and even when the handlers tag the fans in between (no autoflush there)."""
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    await store(app, [text_update(1 + n, user, "/start") for n, user in enumerate(users)])
    assert await app.processor.run_once() == FANS
    await store(app, [text_update(100 + n, user, "yes") for n, user in enumerate(users)])
    handled, inserts = await run_counting(
        app, lambda statement: statement.startswith("INSERT INTO events")
    )
    assert handled == FANS

    assert len(inserts) <= 2, inserts
    counts = await message_in_counts(app)
    assert all(counts[100 + n] == 1 for n in range(FANS))


async def test_the_next_round_is_handled_while_replies_go_out_in_order(
    app: App, sandbox: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await sandbox.create_user(first_name=f"Fan{n}") for n in range(FANS)]
    texts = ["/start", "hello", "still there?"]
    await store(
        app,
        [
            text_update(1 + turn * FANS + n, user, text)
            for turn, text in enumerate(texts)
            for n, user in enumerate(users)
        ],
    )
    held = asyncio.Event()
    deliver = app.processor._deliver

    async def slow_deliver(replies: Replies) -> None:
        await held.wait()  # Telegram is slow to answer, slowest for the welcome
        if any("Welcome" in reply.text for reply in replies.items):
            await asyncio.sleep(0.3)
        await deliver(replies)

    monkeypatch.setattr(app.processor, "_deliver", slow_deliver)
    run = asyncio.create_task(app.processor.run_once())
    await wait_until(
        lambda: _handled(app, FANS * len(texts)), what="every round handled, no reply sent"
    )
    assert not run.done()  # run_once sends what it handled before it returns
    held.set()
    assert await run == FANS * len(texts)
    for user in users:
        said = await bot_texts(sandbox, user["id"])
        # /start's two messages, then an answer to each text: the later rounds' replies
        # waited for the slow welcome of their chat.
        assert len(said) == 1 + len(texts)
        assert "Welcome" in said[0]


async def _handled(app: App, count: int) -> bool:
    return app.processor.stats.handled >= count


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, []), (1, [1]), (20, [20]), (21, [10, 11]), (50, [16, 17, 17]), (100, [20] * 5)],
)
def test_a_round_is_split_into_even_groups(size: int, expected: list[int]) -> None:
    """At most GROUP_SIZE each, in order, none much bigger than another (the round waits
    for its slowest group)."""
    round_ = list(range(size))
    groups = processor._split(round_, processor.GROUP_SIZE)
    assert [len(group) for group in groups] == expected
    assert [item for group in groups for item in group] == round_

"""Whatever Telegram delivers, the full pipeline neither crashes nor loses an update.

hypothesis writes raw updates of every kind aiogram models (odd Unicode, huge texts,
missing optional fields, unknown users, other chats, malformed payloads), they are stored
in the inbox as the poller or the webhook would store them, and the real InboxProcessor
feeds them through the real Dispatcher; the bot's replies go to the sandbox over HTTP.
After each batch no update is left pending, every well-formed update is done (none failed
in a handler), and each fan's message, edit and button press is on their timeline.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import App, create_app
from bot.settings import Settings
from sandbox.client import SandboxClient
from sandbox.server import serve_sandbox
from storage.models import Event, InboxState, InboxUpdate
from storage.repositories import inbox
from tests.bot.conftest import EXAMPLE_BRAND, TOKEN

SANDBOX_USERS = 4
UNKNOWN_USER_ID = 999_000_001  # a user the sandbox has never heard of: replies fail
GROUP_CHAT_ID = -100_777

# Any Unicode Telegram can carry in JSON (no lone surrogates), plus the texts that mean
# something to the example brand.
ODD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
HUGE_TEXT = st.integers(4000, 12000).map(lambda n: ("长文本 long text " * (n // 14 + 1))[:n])
MEANINGFUL = st.sampled_from(
    ["/start", "/start spring_gift", "/start x" * 20, "/stop", "/mydata", "/forget",
     "help", "人工", "human", "stop", "I want to buy a handbag", "38", "/start bad!code"]
)  # fmt: skip
TEXT = st.one_of(ODD_TEXT, HUGE_TEXT, MEANINGFUL)


# Telegram never sends these, but a broken proxy might.
MALFORMED = ({"message": {"text": "no chat"}}, {"callback_query": {"id": 5}})


@dataclass
class World:
    """What one run shares across hypothesis examples: the loop, the sandbox, the app."""

    runner: asyncio.Runner
    app: App
    user_ids: list[int]
    update_ids: Iterator[int]


def users(world_user_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "id": st.sampled_from([*world_user_ids, UNKNOWN_USER_ID]),
            "is_bot": st.just(False),
            "first_name": ODD_TEXT.filter(bool) | st.sampled_from(["{{7*7}}", "<script>"]),
        },
        optional={
            "last_name": ODD_TEXT,
            "username": st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,31}", fullmatch=True),
            "language_code": st.sampled_from(["en", "zh", "zh-hans", "xx", "", "pt-br"]),
        },
    )


def contents() -> st.SearchStrategy[dict[str, Any]]:
    photo = {"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}
    return st.one_of(
        st.builds(lambda text: {"text": text}, TEXT),
        st.builds(lambda caption: {"photo": [photo], "caption": caption}, ODD_TEXT),
        st.just(
            {
                "sticker": {
                    **photo,
                    "type": "regular",
                    "is_animated": False,
                    "is_video": False,
                }
            }
        ),
        st.just({"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 3}}),
        st.just({"document": {"file_id": "d1", "file_unique_id": "d1", "file_name": "a.pdf"}}),
        st.builds(
            lambda lat, lon: {"location": {"latitude": lat, "longitude": lon}},
            st.floats(-90, 90),
            st.floats(-180, 180),
        ),
        st.just({"contact": {"phone_number": "+100", "first_name": "Ada"}}),
        st.just({"dice": {"emoji": "🎲", "value": 3}}),
    )


def message(user: dict[str, Any], chat: dict[str, Any], content: dict[str, Any]) -> Any:
    sender = {"from": user} if user else {}  # channel posts have no sender
    return {"message_id": 1, "date": 1_700_000_000, "chat": chat, **sender, **content}


def inline_query(user: dict[str, Any], query: str) -> dict[str, Any]:
    return {"id": "q", "from": user, "query": query, "offset": ""}


def poll_answer(user: dict[str, Any]) -> dict[str, Any]:
    return {"poll_id": "p", "user": user, "option_ids": [0], "option_persistent_ids": ["a"]}


def updates(world_user_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    """One raw update (without its update_id) of some kind."""
    user = users(world_user_ids)

    def private(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    group = {"id": GROUP_CHAT_ID, "type": "supergroup", "title": "staff", "is_forum": True}
    channel = {"id": -5, "type": "channel", "title": "news"}
    fan_message = st.builds(lambda u, c: message(u, private(u), c), user, contents())
    bot_user = {"id": 1, "is_bot": True, "first_name": "b"}
    statuses = st.sampled_from(
        [{"status": "member"}, {"status": "kicked", "until_date": 0}, {"status": "left"}]
    )
    member = st.builds(
        lambda u, old, new: {
            "chat": private(u),
            "from": u,
            "date": 1_700_000_000,
            "old_chat_member": {**old, "user": bot_user},
            "new_chat_member": {**new, "user": bot_user},
        },
        user,
        statuses,
        statuses,
    )
    callback = st.builds(
        lambda u, data, with_message: {
            "id": "cb1",
            "from": u,
            "chat_instance": "ci",
            "data": data,
            **({"message": message(u, private(u), {"text": "old"})} if with_message else {}),
        },
        user,
        st.text(max_size=64) | st.sampled_from(["d:", "d:zzzz", "rapport:resume"]),
        st.booleans(),
    )
    return st.one_of(
        fan_message.map(lambda m: {"message": m}),
        fan_message.map(lambda m: {"edited_message": {**m, "edit_date": 1_700_000_100}}),
        callback.map(lambda c: {"callback_query": c}),
        member.map(lambda m: {"my_chat_member": m}),
        st.builds(lambda u, c: {"message": message(u, group, c)}, user, contents()),
        st.builds(
            lambda c: {"channel_post": {**message({}, channel, c)}},
            contents(),
        ),
        st.builds(lambda u, q: {"inline_query": inline_query(u, q)}, user, ODD_TEXT),
        st.builds(lambda u: {"poll_answer": poll_answer(u)}, user),
        st.sampled_from(MALFORMED),
    )  # fmt: skip


def fan_texts(payloads: list[dict[str, Any]]) -> list[str]:
    """Long enough texts and captions of fans' messages (short ones match by chance)."""
    texts = []
    for payload in payloads:
        for key in ("message", "edited_message"):
            message = payload.get(key, {})
            text = message.get("text") or message.get("caption")
            if isinstance(text, str) and len(text.strip()) >= 12:
                texts.append(text)
    return texts


def is_well_formed(payload: dict[str, Any]) -> bool:
    update = {key: value for key, value in payload.items() if key != "update_id"}
    return update not in MALFORMED


def from_fan(payload: dict[str, Any]) -> bool:
    """Updates that must leave an event on a fan's timeline."""
    for key in ("message", "edited_message"):
        if key in payload and payload[key].get("chat", {}).get("type") == "private":
            return True
    return "callback_query" in payload and "from" in payload["callback_query"]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        url = runner.run(stack.enter_async_context(serve_sandbox(port=0)))
        sandbox = runner.run(stack.enter_async_context(SandboxClient(url, TOKEN)))
        user_ids = [
            int(runner.run(sandbox.create_user(first_name=f"Fan{n}"))["id"])
            for n in range(SANDBOX_USERS)
        ]
        settings_ = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_url=url,
            database_url=database_url,
            brand_dir=EXAMPLE_BRAND,
        )
        app = create_app(settings_)
        runner.run(app.prepare())
        try:
            yield World(runner, app, user_ids, itertools.count(1))
        finally:
            runner.run(app.close())
            runner.run(stack.aclose())


async def process(app: App, payloads: list[dict[str, Any]]) -> None:
    async with app.database.session() as session:
        await inbox.store(session, payloads, app.clock())
        await session.commit()
    for _ in range(50):  # each round handles or retries; a failing update gives up in 5
        await app.processor.run_once()
        async with app.database.session() as session:
            if await inbox.count_pending(session) == 0:
                return
    raise AssertionError("updates still pending after 50 rounds")


async def states(app: App, update_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """update_id -> (state, error)."""
    async with app.database.session() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.state, InboxUpdate.error).where(
                InboxUpdate.update_id.in_(update_ids)
            )
        )
        return {update_id: (state, error) for update_id, state, error in rows}


async def timeline_update_ids(app: App, update_ids: list[int]) -> set[int]:
    async with app.database.session() as session:
        rows = await session.execute(
            select(Event.update_id)
            .where(Event.update_id.in_(update_ids))
            .group_by(Event.update_id)
        )
        return {update_id for (update_id,) in rows}


async def handler_failures(app: App) -> int:
    async with app.database.session() as session:
        return int(
            (
                await session.execute(
                    select(func.count()).where(
                        InboxUpdate.state == InboxState.FAILED.value,
                        InboxUpdate.error.not_like("unparseable%"),
                    )
                )
            ).scalar_one()
        )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_updates_neither_crash_nor_get_lost(
    world: World, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    batch = data.draw(st.lists(updates(world.user_ids), min_size=1, max_size=8))
    payloads = [{"update_id": next(world.update_ids), **update} for update in batch]
    world.runner.run(process(world.app, payloads))

    ids = [payload["update_id"] for payload in payloads]
    final = world.runner.run(states(world.app, ids))
    assert set(final) == set(ids), "an update was not stored"
    for payload in payloads:
        expected = InboxState.DONE if is_well_formed(payload) else InboxState.FAILED
        state, error = final[payload["update_id"]]
        assert state == expected, (error, payload)
    assert world.runner.run(handler_failures(world.app)) == 0
    on_timeline = world.runner.run(timeline_update_ids(world.app, ids))
    for payload in payloads:
        if from_fan(payload) and is_well_formed(payload):
            assert payload["update_id"] in on_timeline, payload
    # What fans write never reaches the logs at INFO or above.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for text in fan_texts(payloads):
        assert text not in logged


def test_a_nul_character_from_a_fan_is_dropped_not_fatal(world: World) -> None:
    user = {"id": world.user_ids[0], "is_bot": False, "first_name": "A\x00da"}
    chat = {"id": world.user_ids[0], "type": "private", "first_name": "A\x00da"}
    payload = {
        "update_id": next(world.update_ids),
        "message": message(user, chat, {"text": "hi\x00"}),
    }
    world.runner.run(process(world.app, [payload]))
    assert world.runner.run(states(world.app, [payload["update_id"]])) == {
        payload["update_id"]: (InboxState.DONE, None)
    }
    assert world.runner.run(timeline_update_ids(world.app, [payload["update_id"]])) == {
        payload["update_id"]
    }

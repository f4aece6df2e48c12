"""The fans' commands sit behind one check: a plain message skips them all at once; and
every filter and handler is awaited on the event loop, none sent to a thread."""

from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.types import Message

from handlers.routers import feature_routers, is_command, is_plain_fan_message, setup_dispatcher
from storage.models import Fan


def message(**content: Any) -> Message:
    chat = {"id": 1, "type": "private"}
    return Message.model_validate({"message_id": 1, "date": 0, "chat": chat, **content})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"text": "/start"}, True),
        ({"text": "/mydata@rapport_bot"}, True),
        # aiogram's Command filter reads a caption too: a photo captioned /stop is /stop.
        ({"caption": "/stop", "photo": []}, True),
        ({"text": "I want to buy a handbag"}, False),
        ({"text": "a / b"}, False),
        ({"sticker": None}, False),
    ],
)
async def test_what_counts_as_a_command(content: dict[str, Any], expected: bool) -> None:
    assert await is_command(message(**content)) is expected


def test_every_command_router_is_behind_the_check_and_their_buttons_are_not() -> None:
    commands = next(r for r in feature_routers() if r.name == "commands")
    assert [r.name for r in commands.sub_routers] == ["start", "privacy", "console"]
    assert [f.callback for f in commands.message._handler.filters or []] == [is_command]
    assert not commands.callback_query._handler.filters


def _routers(router: Router) -> list[Router]:
    return [router, *(inner for sub in router.sub_routers for inner in _routers(sub))]


def test_no_filter_or_handler_runs_in_a_worker_thread() -> None:
    # aiogram runs a callable it cannot await (a plain function, a magic filter) through
    # asyncio.to_thread: a thread hop per check on every update.
    dispatcher = Dispatcher()
    setup_dispatcher(dispatcher)
    in_threads = [
        f"{router.name}.{name}: {callable_.callback!r}"
        for router in _routers(dispatcher)
        for name, observer in router.observers.items()
        # An observer's own handler only carries the router-level filters.
        for callable_ in [
            *(observer._handler.filters or []),
            *(c for handler in observer.handlers for c in [handler, *(handler.filters or [])]),
        ]
        if not callable_.awaitable
    ]
    assert in_threads == []


async def test_only_a_plain_fan_message_takes_the_short_way_to_the_conversation() -> None:
    """The first router hands a fan's plain message to the conversation; whatever one of
    the routers after it would take (a command, a fan with staff, the staff chat, no fan)
    it declines."""
    fan = Fan(id=1)
    plain = message(text="I want to buy a handbag")
    assert await is_plain_fan_message(plain, fan, None)
    assert await is_plain_fan_message(message(sticker=None), fan, None)
    assert not await is_plain_fan_message(message(text="/start"), fan, None)
    assert not await is_plain_fan_message(message(caption="/stop", photo=[]), fan, None)
    assert not await is_plain_fan_message(plain, fan, 7)  # an open handoff: the relay's
    assert not await is_plain_fan_message(plain, None, None)
    in_group = Message.model_validate(
        {"message_id": 1, "date": 0, "chat": {"id": -5, "type": "supergroup"}, "text": "hi"}
    )
    assert not await is_plain_fan_message(in_group, fan, None)
    assert feature_routers()[0].name == "fan_messages"

"""The fans' commands sit behind one check: a plain message skips them all at once."""

from typing import Any

import pytest
from aiogram.types import Message

from handlers.routers import create_root_router, is_command


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
def test_what_counts_as_a_command(content: dict[str, Any], expected: bool) -> None:
    assert is_command(message(**content)) is expected


def test_every_command_router_is_behind_the_check_and_their_buttons_are_not() -> None:
    commands = next(r for r in create_root_router().sub_routers if r.name == "commands")
    assert [r.name for r in commands.sub_routers] == ["start", "privacy", "console"]
    assert [f.callback for f in commands.message._handler.filters or []] == [is_command]
    assert not commands.callback_query._handler.filters

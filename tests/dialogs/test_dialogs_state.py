"""The conversation state: JSON round trip and forgiving reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import ConversationState


def test_round_trip_through_json() -> None:
    state = ConversationState(
        dialog="profile",
        step="ask_city",
        reasks=1,
        stack=("spring_gift.claim",),
        asked={"city": "2025-04-01"},
        topics_done=("weekend_plans",),
        version="v3",
    )

    stored = json.loads(json.dumps(state.to_json()))

    assert ConversationState.from_json(stored) == state
    assert stored == {
        "format": 1,
        "dialog": "profile",
        "step": "ask_city",
        "reasks": 1,
        "stack": ["spring_gift.claim"],
        "asked": {"city": "2025-04-01"},
        "topics_done": ["weekend_plans"],
        "version": "v3",
    }


@pytest.mark.parametrize("stored", [None, "garbage", 3, [], {"dialog": 5, "reasks": -1}])
def test_unreadable_state_reads_as_empty(stored: Any) -> None:
    assert ConversationState.from_json(stored) == ConversationState()


def test_partly_broken_state_keeps_what_is_readable() -> None:
    state = ConversationState.from_json(
        {"dialog": "menu", "step": None, "stack": ["a.b", 3], "asked": {"city": 5, "x": "d"}}
    )

    assert state.position is None
    assert state.stack == ("a.b",)
    assert state.asked == {"x": "d"}


KEYS = ["format", "dialog", "step", "reasks", "stack", "asked", "topics_done", "version"]
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = (
    scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(max_size=3), scalars)
)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), json_values))
def test_any_json_reads_without_error(stored: dict[str, Any]) -> None:
    state = ConversationState.from_json(stored)

    assert ConversationState.from_json(state.to_json()) == state

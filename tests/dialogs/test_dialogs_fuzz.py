"""Whatever a fan sends, in whatever order, the engine answers without crashing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs import (
    ButtonPress,
    CompiledBrand,
    ConversationState,
    DailyOpener,
    FanSnapshot,
    GoTo,
    Input,
    Media,
    Reply,
    Start,
    Text,
    handle,
)
from dialogs.callbacks import CALLBACK_LIMIT
from dialogs.templates import MESSAGE_LIMIT, utf16_length

CODES = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
WORDS = st.sampled_from(
    ["help", "stop", "人工", "想买个包包", "I want to buy a handbag", "38", "Shanghai", "中文"]
)


def inputs(brand: CompiledBrand) -> st.SearchStrategy[Input]:
    real_buttons = st.sampled_from(sorted(brand.buttons))
    steps = st.sampled_from(sorted(brand.steps))
    return st.one_of(
        st.builds(Text, st.text() | WORDS),
        st.builds(ButtonPress, real_buttons | st.text(max_size=70), st.none() | st.integers()),
        st.builds(Start, st.none() | CODES | st.sampled_from(sorted(brand.campaigns))),
        st.builds(Media, st.sampled_from(["photo", "sticker", "voice"])),
        st.just(DailyOpener()),
        st.builds(GoTo, steps | st.text(max_size=20)),
    )


def fans() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "telegram_language_code": st.none() | st.sampled_from(["en", "zh-hans", "fr", ""]),
            "language": st.none() | st.sampled_from(["en", "zh", "xx"]),
            "consents": st.frozensets(st.sampled_from(["daily", "offers", "profiling"])),
            "timezone": st.none() | st.sampled_from(["Europe/Paris", "Nowhere/Land", ""]),
            "is_new": st.booleans(),
        }
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_sequence_of_inputs_is_handled(
    data: st.DataObject, demo_brand: CompiledBrand, make_fan: Callable[..., FanSnapshot]
) -> None:
    fan = make_fan(**data.draw(fans()))
    now = datetime(2025, 4, 1, 2, 0, tzinfo=UTC)
    for event in data.draw(st.lists(inputs(demo_brand), min_size=1, max_size=8)):
        outcome = handle(demo_brand, fan, event, now)
        for effect in outcome.effects:
            if isinstance(effect, Reply):
                assert effect.text.strip()
                assert utf16_length(effect.text) <= MESSAGE_LIMIT
                assert "{{" not in effect.text
                for row in effect.buttons:
                    assert all(len(b.callback_data.encode()) <= CALLBACK_LIMIT for b in row)
        assert ConversationState.from_json(outcome.state.to_json()) == outcome.state
        fan = FanSnapshot(**{**fan.__dict__, "conversation": outcome.state, "is_new": False})
        now += timedelta(hours=5)


def stored_states(brand: CompiledBrand) -> st.SearchStrategy[dict[str, Any]]:
    refs = st.sampled_from(sorted(brand.steps)) | st.text(max_size=12)
    names = st.sampled_from(sorted(brand.dialogs)) | st.text(max_size=8)
    anything = st.none() | st.integers() | st.text(max_size=8) | st.lists(st.integers())
    return st.fixed_dictionaries(
        {},
        optional={
            "dialog": names | anything,
            "step": st.sampled_from(["ask_city", "claim", "nope"]) | anything,
            "reasks": st.integers() | anything,
            "stack": st.lists(refs | anything, max_size=4) | anything,
            "asked": st.dictionaries(st.text(max_size=8), st.text(max_size=10)) | anything,
            "topics_done": st.lists(names, max_size=5) | anything,
        },
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), text=st.text(max_size=20) | WORDS)
def test_a_garbled_stored_state_never_breaks_the_engine(
    data: st.DataObject,
    text: str,
    demo_brand: CompiledBrand,
    make_fan: Callable[..., FanSnapshot],
) -> None:
    state = ConversationState.from_json(data.draw(stored_states(demo_brand)))
    fan = make_fan(conversation=state, consents=frozenset({"daily", "profiling"}))

    for event in (Text(text), DailyOpener()):
        outcome = handle(demo_brand, fan, event, datetime(2025, 4, 1, tzinfo=UTC))
        assert outcome.replies

"""A new brand version while a fan is mid-dialog: the rule in dialogs/engine.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from dialogs import (
    ButtonPress,
    CompiledBrand,
    ConversationState,
    FanSnapshot,
    SetField,
    Text,
    compile_brand,
    handle,
)

NOW = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)

V1 = """\
entries:
  start: survey
  fallback: help.sorry
keywords:
  help: {en: [help], zh: [帮助]}
fields:
  city: {type: text, category: registration}
dialogs:
  survey:
    steps:
      intro:
        text: {en: Two questions!, zh: 两个问题！}
        next: ask_city
      ask_city:
        text: {en: "Your city?", zh: 你的城市？}
        capture: {field: city}
        next: ask_mood
      ask_mood:
        text: {en: "Happy today?", zh: 今天开心吗？}
        buttons:
          - label: {en: Yes, zh: 是}
            add_tags: [happy]
          - label: {en: No, zh: 否}
            add_tags: [sad]
  help:
    steps:
      sorry:
        text: {en: "Sorry?", zh: 什么？}
"""


@pytest.fixture
def versions(minimal_files: dict[str, str]) -> Callable[[str], CompiledBrand]:
    def make(dialogs_yaml: str) -> CompiledBrand:
        files = {**minimal_files, "dialogs/main.yaml": dialogs_yaml}
        return compile_brand(files, f"v{len(dialogs_yaml)}")

    return make


def fan_at(make_fan: Callable[..., FanSnapshot], position: str, **state: object) -> FanSnapshot:
    dialog, step = position.split(".")
    conversation = ConversationState(dialog=dialog, step=step, **state)  # type: ignore[arg-type]
    return make_fan(is_new=False, conversation=conversation)


def test_the_step_still_exists_so_the_fan_continues_there(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v2 = versions(V1.replace("Your city?", "Which city do you live in?"))
    assert v2.steps["survey.ask_city"].capture is not None

    outcome = handle(v2, fan_at(make_fan, "survey.ask_city"), Text("Lyon"), NOW)

    assert outcome.effects[0] == SetField(
        "city",
        "Lyon",
        outcome.effects[0].source,
        "registration",  # type: ignore[union-attr]
    )
    assert outcome.state.position == "survey.ask_mood"
    assert outcome.state.version == v2.version


def test_the_step_is_gone_so_the_dialog_starts_again(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v2 = versions(V1.replace("ask_city", "ask_town"))

    outcome = handle(v2, fan_at(make_fan, "survey.ask_city"), Text("Lyon"), NOW)

    assert [reply.step for reply in outcome.replies] == ["survey.intro", "survey.ask_town"]
    assert not any(isinstance(effect, SetField) for effect in outcome.effects)


def test_the_dialog_is_gone_so_the_text_is_handled_as_if_no_dialog_was_open(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v2 = versions(V1.replace("  survey:", "  poll:").replace("start: survey", "start: poll"))
    fan = fan_at(make_fan, "survey.ask_city")

    outcome = handle(v2, fan, Text("Lyon"), NOW)

    assert [reply.step for reply in outcome.replies] == ["help.sorry"]
    assert outcome.state.position is None


def test_a_step_that_stopped_capturing_no_longer_takes_the_text(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v2 = versions(V1.replace("        capture: {field: city}\n", ""))

    outcome = handle(v2, fan_at(make_fan, "survey.ask_city", reasks=1), Text("Lyon"), NOW)

    assert outcome.replies[0].step == "help.sorry"


def test_buttons_follow_their_step_and_label_not_their_position(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v1 = versions(V1)
    old_yes = v1.steps["survey.ask_mood"].buttons[0].data
    swapped = V1.replace(
        "          - label: {en: Yes, zh: 是}\n            add_tags: [happy]\n"
        "          - label: {en: No, zh: 否}\n            add_tags: [sad]\n",
        "          - label: {en: No, zh: 否}\n            add_tags: [sad]\n"
        "          - label: {en: Yes, zh: 是}\n            add_tags: [happy]\n",
    )
    v2 = versions(swapped)

    outcome = handle(v2, fan_at(make_fan, "survey.ask_mood"), ButtonPress(old_yes), NOW)

    assert [effect.tag for effect in outcome.effects if hasattr(effect, "tag")] == ["happy"]


def test_a_button_whose_label_changed_has_expired(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    old_yes = versions(V1).steps["survey.ask_mood"].buttons[0].data
    v2 = versions(V1.replace("{en: Yes, zh: 是}", "{en: Yes!, zh: 是！}"))

    outcome = handle(v2, fan_at(make_fan, "survey.ask_mood"), ButtonPress(old_yes), NOW)

    assert [reply.text for reply in outcome.replies] == [
        "Sorry, that button has expired. Please use the buttons of my latest message."
    ]
    assert outcome.state.position == "survey.ask_mood"


def test_a_return_point_that_is_gone_is_skipped(
    versions: Callable[[str], CompiledBrand], make_fan: Callable[..., FanSnapshot]
) -> None:
    v2 = versions(V1)
    fan = fan_at(make_fan, "survey.ask_city", stack=("survey.removed", "help.sorry"))

    outcome = handle(v2, fan, Text("Lyon"), NOW)
    outcome = handle(
        v2,
        fan_at(make_fan, "survey.ask_mood", stack=outcome.state.stack),
        ButtonPress(v2.steps["survey.ask_mood"].buttons[0].data),
        NOW,
    )

    assert [reply.step for reply in outcome.replies] == ["help.sorry"]
    assert outcome.state.stack == ()

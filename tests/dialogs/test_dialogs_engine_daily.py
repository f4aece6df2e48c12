"""The daily conversation: a pool of topics that never repeats until it is exhausted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dialogs import CompiledBrand, RecordEvent, Skipped, compile_brand

Chat = Callable[..., Any]
AGREED = frozenset({"daily", "offers", "profiling"})


def topic_of(outcome: Any) -> str:
    (event,) = [
        e for e in outcome.effects if isinstance(e, RecordEvent) and e.kind == "daily_topic"
    ]
    return str(event.data["topic"])


def test_no_daily_topic_without_consent(chat: Chat) -> None:
    fan = chat(consents=frozenset({"offers"}))

    outcome = fan.daily()

    assert outcome.effects == (Skipped("the fan has not agreed to the daily conversation"),)
    assert outcome.state == fan.fan.conversation


def test_topics_do_not_repeat_until_the_pool_is_exhausted(
    chat: Chat, demo_brand: CompiledBrand
) -> None:
    fan = chat(consents=AGREED)
    pool = demo_brand.daily_topics

    first_round = []
    for _ in pool:
        first_round.append(topic_of(fan.daily()))
        fan.next_day()

    assert sorted(first_round) == sorted(pool)
    second_round_start = topic_of(fan.daily())
    assert second_round_start != first_round[-1]  # a new round, but not yesterday's topic
    assert fan.fan.conversation.topics_done == (second_round_start,)


def test_a_daily_topic_shows_its_first_step(chat: Chat) -> None:
    fan = chat(consents=AGREED, first_name="Lin", telegram_language_code="zh")

    outcome = fan.daily()

    assert outcome.replies[0].step == "weekend_plans.ask"
    assert outcome.replies[0].text == "早上好，Lin！这个周末有什么计划？"
    assert [button.label for button in outcome.replies[0].buttons[0]] == [
        "🏙 城市漫步",
        "⛰ 徒步",
        "🛋 宅在家",
    ]


def test_a_poll_answer_tags_then_asks_a_due_profile_question(chat: Chat) -> None:
    fan = chat(consents=AGREED)
    fan.daily()

    outcome = fan.press("Hiking")

    assert "weekend_outdoor" in fan.fan.tags
    assert [reply.step for reply in outcome.replies] == [
        "daily_thanks.thanks",
        "profile.ask_gender",
    ]


def test_topics_removed_in_a_new_version_are_forgotten(
    chat: Chat, demo_files: dict[str, str], demo_brand: CompiledBrand
) -> None:
    fan = chat(consents=AGREED)
    for _ in range(3):
        fan.daily()
    done = fan.fan.conversation.topics_done
    files = dict(demo_files)
    files["dialogs/daily.yaml"] = files["dialogs/daily.yaml"].replace(
        "  weekend_plans:\n    daily: true\n", "  weekend_plans:\n    daily: false\n"
    )
    fan.brand = compile_brand(files, "demo-2")

    outcome = fan.daily()

    assert done[0] == "weekend_plans"
    assert fan.fan.conversation.topics_done == (*done[1:], topic_of(outcome))
    assert topic_of(outcome) == demo_brand.daily_topics[3]

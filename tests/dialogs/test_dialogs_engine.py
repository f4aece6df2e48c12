"""Engine rules one at a time: language, captures, profiling, keywords, buttons, hand-backs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from dialogs import (
    AddTag,
    ButtonPress,
    CampaignStart,
    CompiledBrand,
    FanSnapshot,
    GoTo,
    KeywordHit,
    OptIn,
    OptOut,
    RecordEvent,
    Reply,
    SetField,
    SetLanguage,
    Skipped,
    Source,
    Text,
    handle,
    pick_language,
)

Chat = Callable[..., Any]
PROFILED = frozenset({"daily", "offers", "profiling"})


@pytest.mark.parametrize(
    ("code", "chosen", "language"),
    [
        ("zh-hans", None, "zh"),
        ("zh-TW", None, "zh"),
        ("zh_CN", None, "zh"),
        ("en-GB", None, "en"),
        ("fr", None, "en"),
        (None, None, "en"),
        ("en", "zh", "zh"),
        ("zh-hans", "xx", "zh"),
    ],
)
def test_language_from_choice_then_telegram_then_brand(
    demo_brand: CompiledBrand,
    make_fan: Callable[..., FanSnapshot],
    code: str | None,
    chosen: str | None,
    language: str,
) -> None:
    fan = make_fan(telegram_language_code=code, language=chosen)

    assert pick_language(demo_brand, fan) == language


def test_switching_language_by_keyword(chat: Chat) -> None:
    fan = chat(telegram_language_code="en")

    outcome = fan.text("中文")

    assert SetLanguage("zh") in outcome.effects
    assert outcome.replies[0].text == "好的，我们用中文聊吧。随时输入“帮助”查看菜单。"
    assert outcome.language == "zh"


def test_switching_language_by_button(chat: Chat) -> None:
    fan = chat(telegram_language_code="en")
    fan.text("help")

    fan.press("English / 中文")
    outcome = fan.press("中文")

    assert SetLanguage("zh") in outcome.effects
    assert fan.fan.language == "zh"


def test_a_returning_fan_gets_the_restart_entry(chat: Chat) -> None:
    fan = chat(is_new=False)

    outcome = fan.start()

    assert outcome.replies[0].text.startswith("Good morning, Ann! Good to see you again.")


def test_an_unknown_deep_link_is_recorded_and_treated_as_a_plain_start(chat: Chat) -> None:
    fan = chat()

    outcome = fan.start("old_poster_2019")

    assert outcome.effects[0] == CampaignStart("old_poster_2019", known=False)
    assert outcome.replies[0].step == "onboarding.welcome"


def test_a_campaign_without_start_tags_then_welcomes(chat: Chat) -> None:
    fan = chat()

    outcome = fan.start("ig_bio")

    assert AddTag("instagram", Source("campaign", "ig_bio")) in outcome.effects
    assert [reply.step for reply in outcome.replies] == [
        "onboarding.welcome",
        "onboarding.consent_daily",
    ]


def test_consent_steps_are_skipped_when_already_granted(chat: Chat) -> None:
    fan = chat(consents=frozenset({"daily", "offers"}))

    outcome = fan.start()

    assert [reply.step for reply in outcome.replies] == [
        "onboarding.welcome",
        "onboarding.consent_profiling",
    ]


def test_without_profiling_consent_no_profile_question_is_asked(chat: Chat) -> None:
    fan = chat(consents=frozenset({"daily", "offers"}))
    fan.start()

    outcome = fan.press("No, don't")

    assert [reply.step for reply in outcome.replies] == ["onboarding.thanks"]
    assert fan.position is None


def test_a_profile_question_is_asked_at_most_once_a_day(chat: Chat) -> None:
    fan = chat(consents=PROFILED)
    fan.send(GoTo("onboarding.thanks"))
    assert fan.position == "profile.ask_gender"

    fan.text("help")  # the fan wanders off without answering
    outcome = fan.send(GoTo("onboarding.thanks"))
    assert fan.position == "profile.ask_age"  # gender was asked today: the next one
    assert fan.fan.conversation.asked == {"gender": "2025-04-01", "age_band": "2025-04-01"}

    fan.next_day()
    outcome = fan.send(GoTo("onboarding.thanks"))
    assert [reply.step for reply in outcome.replies][-1] == "profile.ask_gender"


def test_an_answered_profile_question_is_never_asked_again(chat: Chat) -> None:
    fan = chat(consents=PROFILED, fields={"gender": "male", "birthday": date(1990, 1, 2)})

    outcome = fan.send(GoTo("profile.ask_gender"))  # even when sent there directly

    assert [reply.step for reply in outcome.replies] == ["profile.ask_city"]


def test_after_too_many_wrong_answers_the_engine_moves_on(chat: Chat) -> None:
    fan = chat(consents=PROFILED, fields={"gender": "male", "age_band": "age_18_24"})
    fan.send(GoTo("profile.ask_shoe_size"))

    fan.text("huge")
    fan.text("tiny")
    outcome = fan.text("medium")

    assert RecordEvent(
        "capture_gave_up", {"step": "profile.ask_shoe_size", "field": "shoe_size"}
    ) in (outcome.effects)
    assert outcome.replies[0].step == "profile.done"
    assert "shoe_size" not in fan.fan.fields


def test_while_answering_only_a_bare_keyword_leaves_the_question(chat: Chat) -> None:
    fan = chat(consents=PROFILED, fields={"gender": "male", "age_band": "age_18_24"})
    fan.send(GoTo("profile.ask_city"))

    outcome = fan.text("Stopford")  # a city that starts like "stop"
    assert SetField("city", "Stopford", Source("capture", "profile.ask_city"), "registration") in (
        outcome.effects
    )
    assert KeywordHit("stop") in outcome.effects

    fan.send(GoTo("profile.ask_city"))
    outcome = fan.text("Help!")
    assert fan.position == "menu.help"


def test_typing_a_button_label_presses_it(chat: Chat) -> None:
    fan = chat()
    fan.text("stop")

    outcome = fan.text("no, keep chatting")

    assert outcome.replies[0].text == "Lovely, we'll keep chatting! 😊"


def test_a_poll_button_sets_a_field_with_its_source_and_category(chat: Chat) -> None:
    fan = chat(consents=PROFILED)
    fan.send(GoTo("bag_size"))

    outcome = fan.press("Roomy tote")

    source = Source("button", "bag_size.poll#roomy tote")
    assert SetField("bag_style", "tote", source, "operation") in outcome.effects
    assert AddTag("pref_tote", source) in outcome.effects
    assert RecordEvent(
        "button", {"step": "bag_size.poll", "button": "roomy tote", "label": "Roomy tote"}
    ) in (outcome.effects)


def test_stop_and_resume(chat: Chat) -> None:
    fan = chat()
    fan.text("please stop")

    outcome = fan.press("Yes, stop")
    assert OptOut() in outcome.effects

    outcome = fan.press("Resume our chats")
    assert OptIn() in outcome.effects


def test_media_goes_to_the_media_entry_or_asks_again(chat: Chat) -> None:
    fan = chat(consents=PROFILED)

    outcome = fan.media("sticker")
    assert outcome.replies[0].step == "menu.media"

    fan.send(GoTo("profile.ask_city"))
    outcome = fan.media("photo")
    assert outcome.replies[0].step == "profile.ask_city"  # the re-ask
    assert fan.fan.conversation.reasks == 1


def test_an_expired_button_gets_a_polite_text_and_changes_nothing(chat: Chat) -> None:
    fan = chat()
    fan.text("stop")
    before = fan.fan.conversation

    outcome = fan.send(ButtonPress("d:notours"))

    assert outcome.effects == (
        Reply('Sorry, that button has expired. Type "help" to see the menu.'),
    )
    assert outcome.state.position == before.position


def test_buttons_of_an_older_message_still_work(chat: Chat) -> None:
    fan = chat()
    fan.text("stop")
    old_keep = fan.button_data("No, keep chatting")
    fan.text("help")

    outcome = fan.send(ButtonPress(old_keep))

    assert outcome.replies[0].step == "stop.kept"


def test_staff_hand_back_at_a_named_step(chat: Chat) -> None:
    fan = chat()

    outcome = fan.send(GoTo("menu.help"))
    assert outcome.replies[0].step == "menu.help"

    outcome = fan.send(GoTo("menu.nope"))
    assert outcome.effects == (Skipped("unknown step 'menu.nope'"),)


def test_the_clock_must_have_a_timezone(
    demo_brand: CompiledBrand, make_fan: Callable[..., FanSnapshot]
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        handle(demo_brand, make_fan(), Text("hi"), datetime(2025, 4, 1, 10, 0))


def test_the_greeting_follows_the_fan_clock(chat: Chat) -> None:
    morning_in_shanghai = chat()
    evening_in_new_york = chat(timezone="America/New_York")  # 22:00 there
    unknown_zone = chat(timezone="Mars/Olympus")  # falls back to the brand's

    assert morning_in_shanghai.start().replies[0].text.startswith("Good morning")
    assert evening_in_new_york.start().replies[0].text.startswith("Good evening")
    assert unknown_zone.start().replies[0].text.startswith("Good morning")


def test_a_birthday_is_stored_as_a_date(chat: Chat) -> None:
    fan = chat(consents=PROFILED, fields={"gender": "male"})
    fan.send(GoTo("profile.ask_age"))
    fan.press("I'd rather share my birthday")

    outcome = fan.text("My birthday is 21.08.1995")

    assert SetField(
        "birthday", date(1995, 8, 21), Source("capture", "profile.ask_birthday"), "registration"
    ) in (outcome.effects)
    assert outcome.replies[0].step == "profile.ask_city"  # the age question is answered


def test_advance_records_first_and_latest_origin(chat: Chat) -> None:
    fan = chat()

    fan.start("store_qr")
    fan.start("ig_bio")

    assert (fan.fan.first_origin, fan.fan.latest_origin) == ("store_qr", "ig_bio")
    assert {"store_visitor", "instagram"} <= fan.fan.tags

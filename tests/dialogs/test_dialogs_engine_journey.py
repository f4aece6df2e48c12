"""A fan's whole journey through the demo brand, in English and in Chinese.

spring_gift deep link -> consent -> profile answers (with re-asks) -> gift claim ->
shopping keywords -> talk to a person -> something we do not understand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from dialogs import (
    AddTag,
    CampaignStart,
    Escalate,
    GrantConsent,
    KeywordHit,
    Outcome,
    RecordEvent,
    SetField,
    Source,
)


@dataclass(frozen=True)
class Words:
    """What a fan types and taps, per language."""

    telegram_code: str
    yes_daily: str
    yes_offers: str
    yes_profiling: str
    gender: str
    bad_age: str
    age: str
    city: str
    bad_size: str
    size: str
    claim: str
    shopping: str
    person: str
    connect: str
    nonsense: str
    # what the bot says
    reask_size: str
    claimed: str
    fallback: str


ENGLISH = Words(
    telegram_code="en-US",
    yes_daily="Yes, happy to",
    yes_offers="Yes, please",
    yes_profiling="Yes, remember me",
    gender="I'm a woman",
    bad_age="old enough",
    age="25-34",
    city="Shanghai",
    bad_size="99",
    size="38",
    claim="Claim my tote",
    shopping="I want to buy a handbag",
    person="can I talk to a human?",
    connect="Yes, connect me",
    nonsense="asdf qwerty",
    reask_size="Please send an EU size between 33 and 48, for example 38.",
    claimed="It's yours!",
    fallback="Sorry, I didn't quite get that. Pick an option below",
)

CHINESE = Words(
    telegram_code="zh-hans",
    yes_daily="好的，可以",
    yes_offers="好的，请发给我",
    yes_profiling="可以，记住我",
    gender="我是女生",
    bad_age="保密",
    age="25到34",
    city="上海",
    bad_size="九十九",
    size="３８",
    claim="领取托特包",
    shopping="想买个包包",
    person="人工",
    connect="好的，请帮我联系",
    nonsense="啊啊啊",
    reask_size="请发送 33 到 48 之间的欧码，例如 38。",
    claimed="领取成功！",
    fallback="抱歉，我没太明白。请选择下面的选项",
)


def only(outcome: Outcome, kind: type) -> list[object]:
    return [effect for effect in outcome.effects if isinstance(effect, kind)]


@pytest.mark.parametrize("words", [ENGLISH, CHINESE], ids=["en", "zh"])
def test_spring_gift_journey(chat: Callable[..., object], words: Words) -> None:
    fan = chat(telegram_language_code=words.telegram_code)

    # The deep link records the campaign and its tags, then asks for consent.
    outcome = fan.start("spring_gift")
    assert outcome.language == words.telegram_code[:2]
    assert only(outcome, CampaignStart) == [CampaignStart("spring_gift", known=True)]
    assert [effect.tag for effect in only(outcome, AddTag)] == ["giveaway", "spring"]
    assert [reply.step for reply in outcome.replies] == [
        "spring_gift.intro",
        "onboarding.consent_daily",
    ]

    # Consent, one purpose at a time, with proof of what was agreed to.
    outcome = fan.press(words.yes_daily)
    (grant,) = only(outcome, GrantConsent)
    assert grant.purpose == "daily"
    assert grant.proof["version"] == "demo-1"
    assert grant.proof["step"] == "onboarding.consent_daily"
    assert grant.proof["message_id"] == 7
    assert grant.proof["language"] == outcome.language
    fan.press(words.yes_offers)
    outcome = fan.press(words.yes_profiling)
    assert fan.fan.consents == {"daily", "offers", "profiling"}
    assert [reply.step for reply in outcome.replies] == [
        "onboarding.thanks",
        "profile.ask_gender",
    ]

    # Profile questions, one at a time; a wrong answer is asked again.
    outcome = fan.text(words.gender)
    assert only(outcome, SetField) == [
        SetField("gender", "female", Source("capture", "profile.ask_gender"), "registration")
    ]
    outcome = fan.text(words.bad_age)
    assert [reply.step for reply in outcome.replies] == ["profile.ask_age"]
    assert fan.fan.conversation.reasks == 1
    outcome = fan.text(words.age)
    assert only(outcome, SetField)[0] == SetField(
        "age_band", "age_25_34", Source("capture", "profile.ask_age"), "registration"
    )
    fan.text(words.city)
    outcome = fan.text(words.bad_size)
    assert [reply.text for reply in outcome.replies] == [words.reask_size]
    outcome = fan.text(words.size)
    assert fan.fan.fields == {
        "gender": "female",
        "age_band": "age_25_34",
        "city": words.city,
        "shoe_size": 38,
    }
    # No question left: back to where the campaign wanted to continue.
    assert [reply.step for reply in outcome.replies] == ["profile.done", "spring_gift.claim"]

    # The gift claim is an event and a tag.
    outcome = fan.press(words.claim)
    assert RecordEvent("gift_claimed", {"campaign": "spring_gift", "gift": "SPRING-TOTE"}) in (
        outcome.effects
    )
    assert "spring_gift_claimed" in fan.fan.tags
    assert outcome.replies[0].text.startswith(words.claimed)
    assert words.city in outcome.replies[0].text  # personalized from the profile
    assert fan.position is None

    # Shopping words are keyword hits (and a routed keyword opens the shop).
    outcome = fan.text(words.shopping)
    assert only(outcome, KeywordHit) == [KeywordHit("buy"), KeywordHit("handbag")]
    assert AddTag("interest_bags", Source("keyword", "handbag")) in outcome.effects
    assert fan.position == "shop.buy"

    # Talk to a person.
    outcome = fan.text(words.person)
    assert fan.position == "human.ask"
    outcome = fan.press(words.connect)
    assert only(outcome, Escalate) == [Escalate("the fan asked for a person")]

    # Anything else gets the fallback.
    outcome = fan.text(words.nonsense)
    assert outcome.replies[0].text.startswith(words.fallback)
    assert fan.position == "menu.fallback"


def test_claiming_twice_gets_the_already_claimed_step(chat: Callable[..., object]) -> None:
    fan = chat(tags=frozenset({"spring_gift_claimed"}), consents=frozenset({"daily", "offers"}))

    fan.start("spring_gift")
    outcome = fan.press("No, don't")  # profiling refused: no profile questions follow

    assert [reply.step for reply in outcome.replies] == [
        "onboarding.thanks",
        "spring_gift.already_claimed",
    ]

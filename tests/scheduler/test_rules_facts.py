"""Trigger facts from the engine's input and effects (pure), and how triggers match them."""

from datetime import UTC, datetime

import pytest

import dialogs
from dialogs.rule_model import EventTrigger
from scheduler.rules.facts import facts_of
from tests.bot.conftest import EXAMPLE_BRAND

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def brand() -> dialogs.CompiledBrand:
    return dialogs.compile_brand_dir(EXAMPLE_BRAND, "v1")


def test_a_new_fans_deep_link_is_a_join_via_that_campaign_and_its_tags(
    brand: dialogs.CompiledBrand,
) -> None:
    facts = facts_of(brand, dialogs.Start("spring_gift"), (), NOW, is_new=True)
    assert facts.matches(EventTrigger("joined"))
    assert facts.matches(EventTrigger("joined", "spring_gift"))
    assert not facts.matches(EventTrigger("joined", "store_qr"))
    assert facts.matches(EventTrigger("tag_added", "giveaway"))
    assert not facts.matches(EventTrigger("message"))


def test_a_known_fans_start_is_no_join(brand: dialogs.CompiledBrand) -> None:
    facts = facts_of(brand, dialogs.Start(None), (), NOW, is_new=False)
    assert not facts.matches(EventTrigger("joined"))
    assert not facts


def test_effects_become_facts(brand: dialogs.CompiledBrand) -> None:
    source = dialogs.Source("keyword", "handbag")
    effects = (
        dialogs.KeywordHit("handbag"),
        dialogs.AddTag("interest_bags", source),
        dialogs.SetField("city", "Shanghai", dialogs.Source("capture", "p.c"), "registration"),
        dialogs.RecordEvent("gift_claimed", {"campaign": "spring_gift", "gift": "SPRING-TOTE"}),
    )
    facts = facts_of(brand, dialogs.Text("a bag please"), effects, NOW, is_new=False)
    for trigger in (
        EventTrigger("message"),
        EventTrigger("keyword", "handbag"),
        EventTrigger("tag_added", "interest_bags"),
        EventTrigger("field_set", "city"),
        EventTrigger("gift_claimed"),
        EventTrigger("gift_claimed", "spring_gift"),
    ):
        assert facts.matches(trigger), trigger
    assert not facts.matches(EventTrigger("keyword", "buy"))


def test_a_button_press_names_its_step_and_its_button(brand: dialogs.CompiledBrand) -> None:
    data, button = next((data, b) for data, b in brand.buttons.items() if b.step == "shop.buy")
    facts = facts_of(brand, dialogs.ButtonPress(data), (), NOW, is_new=False)
    assert facts.matches(EventTrigger("button", "shop.buy"))
    assert facts.matches(EventTrigger("button", f"shop.buy#{button.key}"))
    assert not facts.matches(EventTrigger("message"))


@pytest.mark.parametrize("event", [dialogs.GoTo("shop.buy"), dialogs.DailyOpener()])
def test_what_the_bot_starts_itself_triggers_nothing(
    brand: dialogs.CompiledBrand, event: dialogs.Input
) -> None:
    effects = (dialogs.AddTag("x", dialogs.Source("button", "a.b#c")),)
    assert not facts_of(brand, event, effects, NOW, is_new=False)

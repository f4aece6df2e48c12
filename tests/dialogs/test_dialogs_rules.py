"""rules.yaml compiled into the brand: short forms, defaults, and problems on the key written."""

from datetime import time, timedelta

import pytest

import dialogs
from dialogs.conditions import HasTag, Not
from dialogs.rule_model import (
    AddTags,
    AnniversaryTrigger,
    EventTrigger,
    InactivityTrigger,
    Limit,
    NotifyStaff,
    ScheduleTrigger,
    SendStep,
    SendText,
)
from tests.bot.conftest import EXAMPLE_BRAND


def compile_rules(rules_yaml: str) -> dialogs.CompiledBrand:
    files = dialogs.read_brand_dir(EXAMPLE_BRAND) | {"rules.yaml": rules_yaml}
    return dialogs.compile_brand(files, "test")


def problems_of(rules_yaml: str) -> list[str]:
    files = dialogs.read_brand_dir(EXAMPLE_BRAND) | {"rules.yaml": rules_yaml}
    return [str(problem) for problem in dialogs.check_brand(files)]


def test_the_example_brands_rules() -> None:
    brand = dialogs.compile_brand_dir(EXAMPLE_BRAND, "v1")
    rules = brand.rules
    reminder = rules["spring_gift_reminder"]
    assert reminder.trigger == EventTrigger("joined", "spring_gift")
    assert reminder.delay == timedelta(days=3)
    assert reminder.recheck == reminder.condition  # `recheck: true`
    assert (reminder.limit, reminder.priority, reminder.purpose) == (Limit("once"), 5, "offers")
    assert rules["handbag_offer"].limit == Limit("every", timedelta(days=30))
    assert isinstance(rules["handbag_offer"].actions[1], NotifyStaff)
    assert rules["welcome_day_1"].trigger == ScheduleTrigger("0 11 * * *", fan_clock=True)
    assert rules["birthday_greeting"].trigger == AnniversaryTrigger("birthday", time(10))
    assert rules["birthday_greeting"].actions == (
        SendStep("follow_ups.birthday"),
        AddTags(("birthday_greeted",)),
    )
    assert rules["win_back"].trigger == InactivityTrigger(timedelta(days=14))
    assert rules["win_back"].condition == Not(not_=HasTag(tag="customer"))


def test_short_forms_and_defaults() -> None:
    brand = compile_rules(
        """
rules:
  hello:
    trigger: message
    actions:
      - message: {en: "Hi {{ fan.first_name }}", zh: "你好 {{ fan.first_name }}"}
      - start: shop
"""
    )
    rule = brand.rules["hello"]
    assert rule.trigger == EventTrigger("message")
    assert (rule.limit, rule.delay, rule.priority, rule.purpose, rule.enabled) == (
        Limit("once"),
        timedelta(0),
        0,
        "offers",
        True,
    )
    assert rule.actions == (
        SendText({"en": "Hi {{ fan.first_name }}", "zh": "你好 {{ fan.first_name }}"}),
        SendStep("shop.buy"),
    )
    assert rule.recheck is None


@pytest.mark.parametrize(
    ("rules_yaml", "expected"),
    [
        (
            "rules:\n  a:\n    trigger: {event: joined}\n    actions: [{send: shop.nope}]\n",
            ["rules.yaml:4:22: dialog 'shop' has no step 'nope'"],
        ),
        (
            "rules:\n  a:\n    trigger: {event: tag_added}\n    actions: [{add_tags: x}]\n",
            ["rules.yaml:3:14: a tag_added trigger needs tag"],
        ),
        (
            "rules:\n  a:\n    trigger: {inactive_for: 2 weeks}\n    actions: [{add_tags: x}]\n",
            ["rules.yaml:3:29: a duration is a number and a unit: 45m, 12h, 3d or 2w"],
        ),
        (
            "rules:\n  a:\n    trigger: {event: gift_claimed, campaign: store_qr}\n"
            "    actions: [{add_tags: x}]\n",
            ["rules.yaml:3:46: campaign 'store_qr' has no gift"],
        ),
        (
            "rules:\n  a:\n    trigger: message\n    condition: {field: shoe_sise, set: true}\n"
            "    actions: [{add_tags: x}]\n",
            ["rules.yaml:4:24: unknown field 'shoe_sise'"],
        ),
        (
            "rules:\n  a:\n    trigger: message\n"
            "    condition: {all: [{tag: a}, {origin: nope}]}\n"
            "    actions: [{add_tags: x}]\n",
            ["rules.yaml:4:42: unknown campaign 'nope'"],
        ),
        (
            "rules:\n  a:\n    trigger: message\n    actions: [{add_tags: x}]\n    colour: red\n",
            ["rules.yaml:5:5: unknown key 'colour'"],
        ),
    ],
)
def test_problems_point_at_the_key(rules_yaml: str, expected: list[str]) -> None:
    assert problems_of(rules_yaml) == expected


def test_an_invalid_rules_file_rejects_the_whole_version() -> None:
    with pytest.raises(dialogs.InvalidBrandError):
        compile_rules("rules:\n  a:\n    trigger: {schedule: every day}\n    actions: []\n")

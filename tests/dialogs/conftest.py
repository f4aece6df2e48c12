"""Fixtures for the dialog-script tests: brands, fans, and a stand-in for the adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialogs import (
    ButtonPress,
    CompiledBrand,
    DailyOpener,
    FanSnapshot,
    Input,
    Media,
    Outcome,
    Start,
    Text,
    advance,
    compile_brand,
    handle,
    read_brand_dir,
)

DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo_brand"
# 02:00 UTC is 10:00 in Shanghai (the demo brand's zone): inside the morning.
NOW = datetime(2025, 4, 1, 2, 0, tzinfo=UTC)

MINIMAL_BRAND: Mapping[str, str] = {
    "brand.yaml": """\
name: Mini
default_language: en
languages: [en, zh]
timezone: Europe/Paris
quiet_hours: "22:00-08:00"
frequency_caps: {per_day: 1, per_week: 3}
daily_time: "10:00"
consent:
  daily: {en: Daily chat, zh: 每日聊天}
  offers: {en: Offers, zh: 优惠}
  profiling: {en: Profile, zh: 个人资料}
""",
    "campaigns.yaml": """\
campaigns:
  promo:
    name: Promo
    tags: [promo]
""",
    "dialogs/main.yaml": """\
entries:
  start: hello
  fallback: hello.sorry
keywords:
  help: {en: [help], zh: [帮助]}
fields:
  city: {type: text, category: registration}
dialogs:
  hello:
    steps:
      hi:
        text: {en: Hi, zh: 你好}
        buttons:
          - label: {en: Go, zh: 走}
            go: sorry
      sorry:
        text: {en: Sorry, zh: 抱歉}
""",
}


@pytest.fixture(scope="session")
def demo_files() -> dict[str, str]:
    return read_brand_dir(DEMO_DIR)


@pytest.fixture(scope="session")
def demo_brand(demo_files: dict[str, str]) -> CompiledBrand:
    return compile_brand(demo_files, "demo-1")


@pytest.fixture
def minimal_files() -> dict[str, str]:
    return dict(MINIMAL_BRAND)


@pytest.fixture
def make_fan() -> Callable[..., FanSnapshot]:
    def make(**overrides: Any) -> FanSnapshot:
        values: dict[str, Any] = {"fan_id": 42, "first_name": "Ann", "is_new": True}
        values.update(overrides)
        return FanSnapshot(**values)

    return make


class FanChat:
    """Plays the adapter: feeds inputs to the engine and stores what the effects say."""

    def __init__(self, brand: CompiledBrand, fan: FanSnapshot, now: datetime = NOW) -> None:
        self.brand = brand
        self.fan = fan
        self.now = now
        self.outcomes: list[Outcome] = []

    def send(self, event: Input) -> Outcome:
        outcome = handle(self.brand, self.fan, event, self.now)
        self.outcomes.append(outcome)
        self.fan = advance(self.fan, outcome)
        return outcome

    def start(self, payload: str | None = None) -> Outcome:
        return self.send(Start(payload))

    def text(self, text: str) -> Outcome:
        return self.send(Text(text))

    def media(self, kind: str = "photo") -> Outcome:
        return self.send(Media(kind))

    def daily(self) -> Outcome:
        return self.send(DailyOpener())

    def press(self, label: str) -> Outcome:
        """Tap the button whose label contains `label` on the latest keyboard."""
        return self.send(ButtonPress(self.button_data(label), message_id=7))

    def button_data(self, label: str) -> str:
        for outcome in reversed(self.outcomes):
            for reply in reversed(outcome.replies):
                for row in reply.buttons:
                    for button in row:
                        if label in button.label:
                            return button.callback_data
                if reply.buttons:
                    raise AssertionError(f"no button {label!r} in {reply.buttons}")
        raise AssertionError("no keyboard was sent yet")

    def next_day(self) -> None:
        self.now += timedelta(days=1)

    @property
    def position(self) -> str | None:
        return self.fan.conversation.position


@pytest.fixture
def chat(
    demo_brand: CompiledBrand, make_fan: Callable[..., FanSnapshot]
) -> Callable[..., FanChat]:
    def make(brand: CompiledBrand | None = None, **fan: Any) -> FanChat:
        return FanChat(brand or demo_brand, make_fan(**fan))

    return make

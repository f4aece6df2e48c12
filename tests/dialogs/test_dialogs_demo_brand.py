"""The example brand (examples/demo_brand) is complete, valid and compiles."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from dialogs import CompiledBrand, check_brand, check_brand_dir
from dialogs.callbacks import CALLBACK_LIMIT, is_dialog_callback

DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo_brand"


def test_the_demo_brand_has_no_problems() -> None:
    assert check_brand_dir(DEMO_DIR) == []


def test_the_demo_brand_checks_from_a_mapping_too(demo_files: dict[str, str]) -> None:
    assert "rules.yaml" in demo_files  # present, and left to the rules engine
    assert check_brand(demo_files) == []


def test_settings(demo_brand: CompiledBrand) -> None:
    settings = demo_brand.settings

    assert settings.languages == ("en", "zh")
    assert settings.default_language == "en"
    assert settings.timezone == "Asia/Shanghai"
    assert (settings.per_day, settings.per_week) == (2, 8)
    assert str(settings.daily_time) == "10:30:00"
    assert set(settings.consent) == {"daily", "offers", "profiling"}


def test_quiet_hours_cross_midnight(demo_brand: CompiledBrand) -> None:
    settings = demo_brand.settings

    assert settings.is_quiet(time(22, 0))
    assert settings.is_quiet(time(8, 59))
    assert not settings.is_quiet(time(9, 0))
    assert not settings.is_quiet(time(20, 59))


def test_campaigns(demo_brand: CompiledBrand) -> None:
    spring = demo_brand.campaigns["spring_gift"]

    assert set(spring.tags) == {"giveaway", "spring"}
    assert spring.gift is not None
    assert spring.gift.code == "SPRING-TOTE"
    assert {"store_qr", "ig_bio"} <= set(demo_brand.campaigns)


def test_at_least_ten_daily_topics(demo_brand: CompiledBrand) -> None:
    assert len(demo_brand.daily_topics) >= 10


def test_every_text_and_label_exists_in_both_languages(demo_brand: CompiledBrand) -> None:
    for step in demo_brand.steps.values():
        assert set(step.text) == {"en", "zh"}, step.ref
        for button in step.buttons:
            assert set(button.label) == {"en", "zh"}, (step.ref, button.key)


def test_button_data_is_short_unique_and_ours(demo_brand: CompiledBrand) -> None:
    datas = [button.data for step in demo_brand.steps.values() for button in step.buttons]

    assert len(datas) == len(set(datas))
    assert all(len(data.encode()) <= CALLBACK_LIMIT for data in datas)
    assert all(is_dialog_callback(data) for data in datas)
    assert set(datas) == set(demo_brand.buttons)


def test_entry_points(demo_brand: CompiledBrand) -> None:
    routes = demo_brand.routes
    keywords = [route.keyword for route in routes.keywords]

    assert {"help", "human", "stop"} <= set(keywords)
    assert routes.fallback.go == "menu.fallback"
    assert [question.step for question in routes.profile_questions] == [
        "profile.ask_gender",
        "profile.ask_age",
        "profile.ask_city",
        "profile.ask_shoe_size",
    ]


def test_fields_have_categories(demo_brand: CompiledBrand) -> None:
    categories = {name: field.category for name, field in demo_brand.fields.items()}

    assert categories["city"] == "registration"
    assert categories["bag_style"] == "operation"
    assert categories["order_number"] == "transaction"

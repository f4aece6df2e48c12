"""Reading free-text answers into typed field values."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs import CompiledBrand
from dialogs.answers import parse_answer
from dialogs.model import FieldDef

TODAY = date(2025, 4, 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [("38", 38), ("I wear 38.5", 38.5), ("３８", 38), ("38,5", 38.5), ("size: 40 EU", 40)],
)
def test_number_is_read_from_the_sentence(
    demo_brand: CompiledBrand, text: str, value: float
) -> None:
    assert parse_answer(demo_brand.fields["shoe_size"], text, TODAY) == value


@pytest.mark.parametrize("text", ["99", "12", "38 or 39", "big", ""])
def test_number_out_of_range_or_unclear_is_refused(demo_brand: CompiledBrand, text: str) -> None:
    assert parse_answer(demo_brand.fields["shoe_size"], text, TODAY) is None


def test_integer_numbers() -> None:
    field = FieldDef("kids", "number", "registration", 0, 10, integer=True)

    assert parse_answer(field, "2", TODAY) == 2
    assert parse_answer(field, "2.5", TODAY) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Woman", "female"),
        ("I'm a woman", "female"),
        ("我是女生", "female"),
        ("男", "male"),
        ("rather not say", "other"),
    ],
)
def test_choice_by_label_or_synonym(demo_brand: CompiledBrand, text: str, value: str) -> None:
    assert parse_answer(demo_brand.fields["gender"], text, TODAY) == value


@pytest.mark.parametrize("text", ["banana", "man or woman", ""])
def test_choice_unknown_or_ambiguous_is_refused(demo_brand: CompiledBrand, text: str) -> None:
    assert parse_answer(demo_brand.fields["gender"], text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1995-08-21", "1995-08-21"),
        ("1995/8/21", "1995-08-21"),
        ("1995年8月21日", "1995-08-21"),
        ("21.08.1995", "1995-08-21"),
        ("08/21/1995", "1995-08-21"),
        ("21/08/1995", "1995-08-21"),
    ],
)
def test_dates_in_common_forms(demo_brand: CompiledBrand, text: str, value: str) -> None:
    assert parse_answer(demo_brand.fields["birthday"], text, TODAY) == date.fromisoformat(value)


@pytest.mark.parametrize("text", ["05/06/1995", "1995-02-30", "2030-01-01", "1800-01-01", "soon"])
def test_ambiguous_impossible_or_out_of_range_dates(demo_brand: CompiledBrand, text: str) -> None:
    assert parse_answer(demo_brand.fields["birthday"], text, TODAY) is None


def test_text_is_tidied_and_length_checked(demo_brand: CompiledBrand) -> None:
    city = demo_brand.fields["city"]

    assert parse_answer(city, "  New   York ", TODAY) == "New York"
    assert parse_answer(city, "🙂!!", TODAY) is None
    assert parse_answer(city, "x" * 61, TODAY) is None

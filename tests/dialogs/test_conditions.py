"""The condition language: parsing, the round trip through plain data, and its error messages."""

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from dialogs.conditions import (
    AgeRange,
    AllOf,
    ClaimedGift,
    ConditionError,
    FieldIs,
    FromOrigin,
    HasTag,
    Not,
    Said,
    StatusIs,
    condition_to_data,
    format_duration,
    parse_condition,
    parse_duration,
)
from tests.storage.test_segments import conditions_strategy


def test_the_issue_example_parses_from_yaml() -> None:
    condition = parse_condition(
        yaml.safe_load(
            """
            all:
              - said: [buy, handbag]
                within: 30d
              - origin: spring_gift
                touch: first
              - not: {tag: customer}
            """
        )
    )
    assert condition == AllOf(
        all=[
            Said(said=["buy", "handbag"], within=timedelta(days=30)),
            FromOrigin(origin="spring_gift", touch="first"),
            Not(not_=HasTag(tag="customer")),
        ]
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"said": "buy", "within": "12h"}, Said(said=["buy"], within=timedelta(hours=12))),
        ({"status": "active"}, StatusIs(status=["active"])),
        ({"origin": "x"}, FromOrigin(origin="x", touch="any")),
        ({"claimed_gift": "any"}, ClaimedGift(claimed_gift="any")),
        (
            {"field": "birthday", "age": {"min": 18}},
            FieldIs(field="birthday", age=AgeRange(min=18)),
        ),
        # YAML reads 2024-05-01 as a date; JSON gives the same text: both are dates.
        (
            {"field": "since", "equals": "2024-05-01"},
            FieldIs(field="since", equals=date(2024, 5, 1)),
        ),
        ({"field": "size", "in": [38, "M"]}, FieldIs(field="size", in_=[38.0, "M"])),
    ],
)
def test_short_forms(data: Any, expected: Any) -> None:
    assert parse_condition(data) == expected


def test_durations() -> None:
    assert parse_duration("45m") == timedelta(minutes=45)
    assert parse_duration(" 2w ") == timedelta(weeks=2)
    assert format_duration(timedelta(days=14)) == "2w"
    assert format_duration(timedelta(hours=36)) == "36h"
    with pytest.raises(ValueError, match="a duration is a number and a unit"):
        parse_duration("3 days")


@settings(max_examples=200, deadline=None)
@given(conditions_strategy)
def test_round_trip_through_plain_data(data: Any) -> None:
    condition = parse_condition(data)
    plain = condition_to_data(condition)
    assert parse_condition(plain) == condition
    assert yaml.safe_load(yaml.safe_dump(plain)) == plain  # plain data, YAML/JSON-able


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("tag", "condition: a condition starts with one of: all, any, not, tag, field,"),
        ({"colour": "blue"}, "condition: a condition starts with one of: all,"),
        ({"tag": "a", "colour": 1}, "colour: Extra inputs are not permitted"),
        ({"all": []}, "all: List should have at least 1 item"),
        ({"not": {"said": "buy"}}, "not.within: Field required"),
        ({"any": [{"tag": "a"}, {"origin": "x", "touch": "last"}]}, "any.1.touch: Input should"),
        ({"joined_within": "3 days"}, "joined_within: a duration is a number and a unit"),
        ({"all": [{"not": {"all": [{"tag": 1}]}}]}, "all.0.not.all.0.tag: Input should be a"),
        ({"status": "sleeping"}, "status.0: Input should be 'active', 'opted_out',"),
        ({"field": "x"}, "condition: a field condition needs exactly one of equals, in,"),
        ({"field": "x", "equals": 1, "set": True}, "condition: a field condition needs exactly"),
        ({"field": "b", "age": {"min": "old"}}, "age.min: Input should be a valid integer"),
    ],
)
def test_error_messages_say_where_and_what(data: Any, message: str) -> None:
    with pytest.raises(ConditionError) as raised:
        parse_condition(data)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "Value error" not in str(raised.value)
    assert "\n" not in str(raised.value)

"""The condition language: one tree for rules, broadcasts and the console's fan filters.

A brand writes it in YAML (or JSON); `storage.segments` compiles it to one SQL query.
Each node is a mapping whose first key says what it is:

    all:                                  # every child holds
      - said: [buy, handbag]              # each keyword at least once ...
        within: 30d                       # ... in the last 30 days
      - origin: spring_gift               # came via this campaign code
        touch: first                      # as the first touch (default: any touch)
      - not: {tag: customer}

Leaves: `tag`, `field` (with one of `equals`, `in`, `min`/`max`, `age`, `set`), `origin`,
`joined_within`, `joined_before`, `said`, `claimed_gift`, `replied_within`, `silent_for`,
`status`, `language`, `consent`. Combinators: `all`, `any`, `not`. Durations are a number
and a unit: `45m`, `12h`, `3d`, `2w`.

Pure data: no SQL and no clock here; "within 30d" is measured from the `now` the
compiler is given.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

__all__ = [
    "AgeRange",
    "AllOf",
    "AnyOf",
    "ClaimedGift",
    "Condition",
    "ConditionError",
    "FieldIs",
    "FromOrigin",
    "HasConsent",
    "HasTag",
    "JoinedBefore",
    "JoinedWithin",
    "LanguageIs",
    "Not",
    "RepliedWithin",
    "Said",
    "SilentFor",
    "StatusIs",
    "clean_location",
    "condition_to_data",
    "format_duration",
    "parse_condition",
    "parse_duration",
]

_DURATION = re.compile(r"\s*(\d+)\s*([mhdw])\s*")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)


class ConditionError(ValueError):
    """A condition that is not valid; `str()` says where and what (for the CLI and console)."""


def parse_duration(value: object) -> timedelta:
    """`30d` -> 30 days. Units: m(inutes), h(ours), d(ays), w(eeks)."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not (match := _DURATION.fullmatch(value)):
        raise ValueError("a duration is a number and a unit: 45m, 12h, 3d or 2w")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(value: timedelta) -> str:
    """The shortest exact form: 30 days -> `30d`, 36 hours -> `36h`."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = int(_UNITS[unit].total_seconds())
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ValueError(f"{value} is not a whole number of minutes")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Names = Annotated[list[str], BeforeValidator(_one_or_many), Field(min_length=1)]


def _iso_date(value: object) -> object:
    """`"2000-01-31"` is a date, as YAML reads it unquoted, so JSON round trips stay equal."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Scalar = Annotated[str | float | bool | date, BeforeValidator(_iso_date)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HasTag(_Node):
    """The fan has this tag."""

    tag: str


class AgeRange(_Node):
    """Whole years since a date field (a birthday), inclusive bounds."""

    min: int | None = None
    max: int | None = None


class FieldIs(_Node):
    """A profile field compared with exactly one operator."""

    field: str
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    min: float | date | None = None
    max: float | date | None = None
    age: AgeRange | None = None
    set: bool | None = None  # True: the field has a value; False: it has none

    @model_validator(mode="after")
    def _one_operator(self) -> FieldIs:
        given = [
            name
            for name, present in (
                ("equals", self.equals is not None),
                ("in", self.in_ is not None),
                ("min/max", self.min is not None or self.max is not None),
                ("age", self.age is not None),
                ("set", self.set is not None),
            )
            if present
        ]
        if len(given) != 1:
            raise ValueError(
                "a field condition needs exactly one of equals, in, min/max, age, set"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class FromOrigin(_Node):
    """The fan came via this campaign code (`touch: first` for the first touch only)."""

    origin: str
    touch: Literal["first", "any"] = "any"


class JoinedWithin(_Node):
    joined_within: Duration


class JoinedBefore(_Node):
    """Joined longer ago than this."""

    joined_before: Duration


class Said(_Node):
    """Each keyword of the lexicon was hit at least once in the window."""

    said: Names
    within: Duration


class ClaimedGift(_Node):
    """Claimed the gift of this campaign code (`any`: any gift)."""

    claimed_gift: str


class RepliedWithin(_Node):
    """The fan themselves wrote or pressed something in the window."""

    replied_within: Duration


class SilentFor(_Node):
    """Nothing from the fan for at least this long (counted from joining if never)."""

    silent_for: Duration


Status = Literal["active", "opted_out", "blocked", "forgotten"]


class StatusIs(_Node):
    status: Annotated[list[Status], BeforeValidator(_one_or_many), Field(min_length=1)]


class LanguageIs(_Node):
    language: Names


class HasConsent(_Node):
    """The fan granted this purpose (daily, offers, profiling)."""

    consent: str


class AllOf(_Node):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Node):
    any: list[Condition] = Field(min_length=1)


class Not(_Node):
    not_: Condition = Field(alias="not")


# The key that names each kind of node, in the order they are looked for.
_KINDS: dict[str, type[_Node]] = {
    "all": AllOf,
    "any": AnyOf,
    "not": Not,
    "tag": HasTag,
    "field": FieldIs,
    "origin": FromOrigin,
    "joined_within": JoinedWithin,
    "joined_before": JoinedBefore,
    "said": Said,
    "claimed_gift": ClaimedGift,
    "replied_within": RepliedWithin,
    "silent_for": SilentFor,
    "status": StatusIs,
    "language": LanguageIs,
    "consent": HasConsent,
}


def _kind_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((key for key in _KINDS if key in value), None)
    for key, model in _KINDS.items():
        if isinstance(value, model):
            return key
    return None


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[HasTag, Tag("tag")]
    | Annotated[FieldIs, Tag("field")]
    | Annotated[FromOrigin, Tag("origin")]
    | Annotated[JoinedWithin, Tag("joined_within")]
    | Annotated[JoinedBefore, Tag("joined_before")]
    | Annotated[Said, Tag("said")]
    | Annotated[ClaimedGift, Tag("claimed_gift")]
    | Annotated[RepliedWithin, Tag("replied_within")]
    | Annotated[SilentFor, Tag("silent_for")]
    | Annotated[StatusIs, Tag("status")]
    | Annotated[LanguageIs, Tag("language")]
    | Annotated[HasConsent, Tag("consent")],
    Discriminator(
        _kind_of,
        custom_error_type="unknown_condition",
        custom_error_message="a condition starts with one of: " + ", ".join(_KINDS),
    ),
]

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()

_ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)


def parse_condition(data: object) -> Condition:
    """A condition from plain data (parsed YAML or JSON); ConditionError says what is wrong."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in clean_location(first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        raise ConditionError(f"{where or 'condition'}: {message}") from error


def condition_to_data(condition: Condition) -> dict[str, Any]:
    """Plain JSON-able data that `parse_condition` reads back to an equal condition."""
    data: dict[str, Any] = _ADAPTER.dump_python(
        condition, mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
    )
    return data


def clean_location(location: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A pydantic error location without the union's tags: the path in the brand's data.

    pydantic puts the chosen tag before each node's keys: ("all", "all", 0, "said",
    "within") is the key `all`, item 0, key `within`.
    """
    path: list[int | str] = []
    tag_expected = True
    for part in location:
        if tag_expected and isinstance(part, str) and part in _KINDS:
            tag_expected = False
            continue
        path.append(part)
        tag_expected = isinstance(part, int) or part == "not"
    return tuple(path)

"""The segment compiler on SQLite and PostgreSQL: every node kind, and a reference evaluator.

The hypothesis test writes small random data to both databases, compiles random
conditions, and checks that both databases return the same fans as a plain Python
evaluator of the same condition.
"""

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from dialogs.conditions import (
    AllOf,
    AnyOf,
    ClaimedGift,
    Condition,
    FieldIs,
    FromOrigin,
    HasConsent,
    HasTag,
    JoinedBefore,
    JoinedWithin,
    LanguageIs,
    Not,
    RepliedWithin,
    Said,
    SilentFor,
    StatusIs,
    parse_condition,
)
from storage import segments
from storage.database import Database
from storage.repositories.fields import FieldValue
from tests.conftest import POSTGRES_SERVER, _postgres_admin
from tests.storage.segment_data import FanSpec, ago, delete_everything, insert_fans

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _ids(database: Database, condition: Condition, now: datetime = NOW) -> set[int]:
    async with database.session() as session:
        result = await session.execute(segments.matching_fan_ids(condition, now))
        return set(result.scalars())


async def _setup(database: Database, specs: list[FanSpec]) -> list[int]:
    async with database.session() as session:
        ids = await insert_fans(session, specs, NOW)
        await session.commit()
    return ids


async def _check(database: Database, specs: list[FanSpec], cases: dict[str, list[int]]) -> None:
    """Each YAML-ish condition (as JSON text) selects exactly the fans at these positions."""
    ids = await _setup(database, specs)
    for text, positions in cases.items():
        condition = parse_condition(_yaml(text))
        assert await _ids(database, condition) == {ids[i] for i in positions}, text
        # The complement is exact, whatever is NULL.
        assert await _ids(database, Not(not_=condition)) == set(ids) - {
            ids[i] for i in positions
        }, f"not {text}"


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


async def test_the_issue_example(database: Database) -> None:
    condition = parse_condition(
        _yaml(
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
    specs = [
        FanSpec(hits=[("buy", 3), ("handbag", 10)], touches=["spring_gift"]),  # yes
        FanSpec(hits=[("buy", 3)], touches=["spring_gift"]),  # only one keyword
        FanSpec(hits=[("buy", 3), ("handbag", 31)], touches=["spring_gift"]),  # too long ago
        FanSpec(hits=[("buy", 1), ("handbag", 1)], touches=["tiktok", "spring_gift"]),  # later
        FanSpec(
            hits=[("buy", 1), ("handbag", 1)],
            touches=["spring_gift"],
            tags=frozenset({"customer"}),
        ),
        FanSpec(
            hits=[("buy", 1), ("handbag", 2)], touches=["spring_gift"], tags=frozenset({"vip"})
        ),
    ]
    ids = await _setup(database, specs)
    assert await _ids(database, condition) == {ids[0], ids[5]}


async def test_tags_consents_status_and_language(database: Database) -> None:
    specs = [
        FanSpec(tags=frozenset({"customer"}), consents={"offers": True}, language="zh"),
        FanSpec(consents={"offers": False}, status="opted_out", language=None),
        FanSpec(tags=frozenset({"vip"}), status="blocked"),
    ]
    await _check(
        database,
        specs,
        {
            "tag: customer": [0],
            "tag: nobody": [],
            "consent: offers": [0],
            "status: active": [0],
            "status: [opted_out, blocked]": [1, 2],
            "language: zh": [0],
            "language: [en, zh]": [0, 2],
        },
    )


async def test_fields_by_type(database: Database) -> None:
    specs = [
        FanSpec(fields={"city": "Paris", "shoe_size": 38, "vip": True, "since": date(2024, 5, 1)}),
        FanSpec(fields={"city": "Rome", "shoe_size": 40.5, "vip": False}),
        FanSpec(fields={}),
    ]
    await _check(
        database,
        specs,
        {
            "{field: city, equals: Paris}": [0],
            "{field: city, in: [Paris, Rome, Oslo]}": [0, 1],
            "{field: shoe_size, equals: 38}": [0],
            "{field: shoe_size, equals: '38'}": [0],  # the text form of the number
            "{field: shoe_size, min: 39}": [1],
            "{field: shoe_size, max: 38}": [0],
            "{field: shoe_size, min: 38, max: 40.5}": [0, 1],
            "{field: vip, equals: true}": [0],
            "{field: vip, equals: false}": [1],
            "{field: since, equals: 2024-05-01}": [0],
            "{field: since, min: 2024-05-02}": [],
            "{field: since, max: 2024-05-01}": [0],
            "{field: city, set: true}": [0, 1],
            "{field: city, set: false}": [2],
            "{field: since, set: false}": [1, 2],
        },
    )


async def test_age_bands_from_a_birthday(database: Database) -> None:
    today = NOW.date()  # 2026-03-01
    specs = [
        FanSpec(fields={"birthday": date(2008, 3, 1)}),  # 18 today
        FanSpec(fields={"birthday": date(2008, 3, 2)}),  # 18 tomorrow
        FanSpec(fields={"birthday": date(1990, 6, 15)}),  # 35
        FanSpec(fields={"birthday": "not a date"}),
        FanSpec(),
    ]
    assert today == date(2026, 3, 1)
    await _check(
        database,
        specs,
        {
            "{field: birthday, age: {min: 18}}": [0, 2],
            "{field: birthday, age: {max: 17}}": [1],
            "{field: birthday, age: {min: 18, max: 34}}": [0],
            "{field: birthday, age: {min: 35, max: 35}}": [2],
        },
    )


def test_age_cutoff_on_29_february() -> None:
    assert segments.age_cutoff(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert segments.age_cutoff(date(2024, 2, 29), 4) == date(2020, 2, 29)
    assert segments.age_cutoff(date(2026, 3, 1), 18) == date(2008, 3, 1)


async def test_born_on_29_february_is_a_year_older_on_1_march(database: Database) -> None:
    specs = [FanSpec(fields={"birthday": date(2008, 2, 29)})]
    ids = await _setup(database, specs)
    condition = parse_condition({"field": "birthday", "age": {"min": 18}})
    on_28th = datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert await _ids(database, condition, on_28th) == set()
    assert await _ids(database, condition, NOW) == {ids[0]}  # 1 March 2026


async def test_origins_and_gifts(database: Database) -> None:
    specs = [
        FanSpec(touches=["spring_gift"], gifts=["spring_gift"]),
        FanSpec(touches=["tiktok", "spring_gift"], gifts=[None]),
        FanSpec(gifts=["tiktok"]),
        FanSpec(),
    ]
    await _check(
        database,
        specs,
        {
            "origin: spring_gift": [0, 1],
            "{origin: spring_gift, touch: first}": [0],
            "{origin: tiktok, touch: any}": [1],
            "claimed_gift: spring_gift": [0],
            "claimed_gift: tiktok": [2],
            "claimed_gift: decoy": [],  # named by another kind of event only
            "claimed_gift: any": [0, 1, 2],
        },
    )


async def test_time_windows(database: Database) -> None:
    specs = [
        FanSpec(joined_days_ago=2, last_message_days_ago=1),
        FanSpec(joined_days_ago=40, last_message_days_ago=20, hits=[("buy", 5)]),
        FanSpec(joined_days_ago=10, last_message_days_ago=None),  # never wrote
        FanSpec(joined_days_ago=7, last_message_days_ago=None),  # exactly on the boundary
    ]
    await _check(
        database,
        specs,
        {
            "joined_within: 7d": [0, 3],
            "joined_before: 7d": [1, 2],
            "replied_within: 2d": [0],
            "replied_within: 3w": [0, 1],
            "silent_for: 7d": [1, 2, 3],
            "silent_for: 21d": [],
            "{said: buy, within: 5d}": [1],
            "{said: buy, within: 4d}": [],
            "{said: [buy, handbag], within: 30d}": [],
        },
    )


async def test_combinators(database: Database) -> None:
    specs = [
        FanSpec(tags=frozenset({"a"})),
        FanSpec(tags=frozenset({"b"})),
        FanSpec(tags=frozenset({"a", "b"})),
        FanSpec(language=None),
    ]
    await _check(
        database,
        specs,
        {
            "all: [{tag: a}, {tag: b}]": [2],
            "any: [{tag: a}, {tag: b}]": [0, 1, 2],
            "not: {tag: a}": [1, 3],
            "not: {not: {language: en}}": [0, 1, 2],
            "any: [{not: {language: en}}, {tag: b}]": [1, 2, 3],
        },
    )


async def test_fan_matches_and_count_and_sample(database: Database) -> None:
    specs = [FanSpec(tags=frozenset({"a"})) for _ in range(4)] + [FanSpec()]
    ids = await _setup(database, specs)
    condition = HasTag(tag="a")
    async with database.session() as session:
        assert await segments.fan_matches(session, condition, ids[0], NOW)
        assert not await segments.fan_matches(session, condition, ids[4], NOW)
        assert not await segments.fan_matches(session, condition, 999_999, NOW)
        total, sample = await segments.count_and_sample(session, condition, NOW, sample=3)
    assert total == 4
    assert [fan.id for fan in sample] == ids[:3]


async def test_a_segment_is_one_query_whatever_its_size(database: Database) -> None:
    await _setup(database, [FanSpec(tags=frozenset({"a"})) for _ in range(30)])
    condition = parse_condition(
        _yaml(
            """
            all:
              - any: [{tag: a}, {said: [buy, handbag], within: 30d}]
              - not: {claimed_gift: any}
              - {field: birthday, age: {max: 40}}
              - {origin: spring_gift, touch: first}
            """
        )
    )
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session() as session:
            await session.execute(segments.matching_fan_ids(condition, NOW))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    # Six child-table look-ups: the first touch drives as `fans.id IN (SELECT ...)`, the
    # other five are EXISTS probes.
    sql = " ".join(selects[0].upper().split())
    assert sql.count("EXISTS") == 5
    assert sql.count("IN (SELECT") == 1


# --- the reference evaluator: the documented semantics in plain Python ---------------------


def _text(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: FieldValue) -> float | None:
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _date(value: FieldValue) -> date | None:
    return value if isinstance(value, date) else None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _equals(stored: FieldValue, wanted: Any) -> bool:
    if isinstance(wanted, bool | int | float):
        return _number(stored) == float(wanted)
    if isinstance(wanted, date):
        return _date(stored) == wanted or _text(stored) == wanted.isoformat()
    return _text(stored) == wanted


def _field(node: FieldIs, fan: FanSpec, now: datetime) -> bool:
    if node.field not in fan.fields:
        return node.set is False
    stored = fan.fields[node.field]
    if node.set is not None:
        return node.set
    if node.equals is not None:
        return _equals(stored, node.equals)
    if node.in_ is not None:
        return any(_equals(stored, value) for value in node.in_)
    if node.age is not None:
        born = _date(stored)
        if born is None:
            return False
        age = _age(born, now.date())
        return (node.age.min is None or age >= node.age.min) and (
            node.age.max is None or age <= node.age.max
        )
    for bound, at_least in ((node.min, True), (node.max, False)):
        if bound is None:
            continue
        have: Any = _date(stored) if isinstance(bound, date) else _number(stored)
        if have is None or (have < bound if at_least else have > bound):
            return False
    return True


def evaluate(node: Condition, fan: FanSpec, now: datetime) -> bool:
    match node:
        case AllOf(all=children):
            return all(evaluate(child, fan, now) for child in children)
        case AnyOf(any=children):
            return any(evaluate(child, fan, now) for child in children)
        case Not(not_=child):
            return not evaluate(child, fan, now)
        case HasTag(tag=tag):
            return tag in fan.tags
        case FieldIs():
            return _field(node, fan, now)
        case FromOrigin(origin=code, touch=touch):
            return code in (fan.touches[:1] if touch == "first" else fan.touches)
        case JoinedWithin(joined_within=window):
            return ago(now, fan.joined_days_ago) >= now - window
        case JoinedBefore(joined_before=window):
            return ago(now, fan.joined_days_ago) < now - window
        case Said(said=keywords, within=window):
            return all(
                any(k == keyword and ago(now, days) >= now - window for k, days in fan.hits)
                for keyword in keywords
            )
        case ClaimedGift(claimed_gift=code):
            return any(code in ("any", campaign) for campaign in fan.gifts)
        case RepliedWithin(replied_within=window):
            last = fan.last_message_days_ago
            return last is not None and ago(now, last) >= now - window
        case SilentFor(silent_for=window):
            days = fan.joined_days_ago if fan.last_message_days_ago is None else None
            last = fan.last_message_days_ago if days is None else days
            assert last is not None
            return ago(now, last) <= now - window
        case StatusIs(status=statuses):
            return fan.status in statuses
        case LanguageIs(language=languages):
            return fan.language in languages
        case HasConsent(consent=purpose):
            return fan.consents.get(purpose, False)
    raise TypeError(node)


# --- random data and conditions --------------------------------------------------------------

TAGS = ["customer", "vip", "giveaway"]
KEYWORDS = ["buy", "handbag", "shoes"]
CODES = ["spring_gift", "tiktok"]
PURPOSES = ["daily", "offers"]
DAYS = st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0, 7.5, 30.0, 45.0])
TODAY = NOW.date()
BIRTHDAYS = [
    TODAY.replace(year=TODAY.year - 18),
    TODAY.replace(year=TODAY.year - 18) + timedelta(days=1),
    TODAY.replace(year=TODAY.year - 18) - timedelta(days=1),
    date(2008, 2, 29),
    date(1990, 6, 15),
    date(2000, 1, 1),
]

field_values: dict[str, st.SearchStrategy[FieldValue]] = {
    "city": st.sampled_from(["Paris", "Rome", "38"]),
    "shoe_size": st.sampled_from([36, 38, 40.5]),
    "vip": st.booleans(),
    "birthday": st.sampled_from(BIRTHDAYS),
}

fans_strategy = st.lists(
    st.builds(
        FanSpec,
        joined_days_ago=DAYS,
        last_message_days_ago=st.none() | DAYS,
        status=st.sampled_from(["active", "opted_out", "blocked", "forgotten"]),
        language=st.sampled_from([None, "en", "zh"]),
        tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
        fields=st.fixed_dictionaries({}, optional=field_values),
        hits=st.lists(st.tuples(st.sampled_from(KEYWORDS), DAYS), max_size=3),
        touches=st.lists(st.sampled_from(CODES), max_size=2),
        gifts=st.lists(st.sampled_from([*CODES, None]), max_size=2),
        consents=st.dictionaries(st.sampled_from(PURPOSES), st.booleans(), max_size=2),
    ),
    max_size=6,
)

DURATIONS = st.sampled_from(["12h", "1d", "3d", "7d", "30d", "1w"])
field_leaves = st.one_of(
    st.builds(lambda v: {"field": "city", "equals": v}, st.sampled_from(["Paris", "38"])),
    st.builds(lambda v: {"field": "shoe_size", "equals": v}, st.sampled_from([38, 40.5, "38"])),
    st.builds(lambda v: {"field": "vip", "equals": v}, st.booleans()),
    st.builds(
        lambda vs: {"field": "city", "in": vs}, st.lists(st.sampled_from(["Rome", 38]), min_size=1)
    ),
    st.builds(
        lambda lo, hi: {"field": "shoe_size", **lo, **hi},
        st.sampled_from([{}, {"min": 38}]),
        st.sampled_from([{"max": 40}, {"max": 40.5}]),
    ),
    st.builds(lambda b: {"field": "birthday", "max": b.isoformat()}, st.sampled_from(BIRTHDAYS)),
    st.builds(
        lambda lo, hi: {"field": "birthday", "age": {**lo, **hi}},
        st.sampled_from([{}, {"min": 18}, {"min": 19}]),
        st.sampled_from([{"max": 17}, {"max": 18}, {"max": 40}]),
    ),
    st.builds(
        lambda name, value: {"field": name, "set": value},
        st.sampled_from(list(field_values)),
        st.booleans(),
    ),
)
leaves = st.one_of(
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    field_leaves,
    st.builds(
        lambda c, t: {"origin": c, "touch": t},
        st.sampled_from(CODES),
        st.sampled_from(["first", "any"]),
    ),
    st.builds(lambda d: {"joined_within": d}, DURATIONS),
    st.builds(lambda d: {"joined_before": d}, DURATIONS),
    st.builds(
        lambda ks, d: {"said": ks, "within": d},
        st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=2),
        DURATIONS,
    ),
    st.builds(lambda c: {"claimed_gift": c}, st.sampled_from([*CODES, "any"])),
    st.builds(lambda d: {"replied_within": d}, DURATIONS),
    st.builds(lambda d: {"silent_for": d}, DURATIONS),
    st.builds(
        lambda s: {"status": s},
        st.lists(st.sampled_from(["active", "opted_out", "blocked"]), min_size=1, max_size=2),
    ),
    st.builds(lambda ls: {"language": ls}, st.lists(st.sampled_from(["en", "zh"]), min_size=1)),
    st.builds(lambda p: {"consent": p}, st.sampled_from(PURPOSES)),
)
conditions_strategy = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=6,
)


@pytest.fixture
def both_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """One SQLite and one PostgreSQL database at the latest schema, for the same test."""
    sqlite_path = tmp_path / "hypothesis.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), sqlite_path)
    template = request.getfixturevalue("postgres_template")
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"sqlite+aiosqlite:///{sqlite_path}", f"{POSTGRES_SERVER}/{name}"
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _ids_on(url: str, specs: list[FanSpec], conditions: list[Condition]) -> list[list[int]]:
    """Positions (in `specs`) of the fans each condition selects, on one database."""
    database = Database(url)
    try:
        async with database.session() as session:
            await delete_everything(session)
            ids = await insert_fans(session, specs, NOW)
            await session.commit()
        position = {fan_id: index for index, fan_id in enumerate(ids)}
        found = []
        for condition in conditions:
            selected = await _ids(database, condition)
            found.append(sorted(position[fan_id] for fan_id in selected))
        return found
    finally:
        await database.dispose()


@pytest.mark.postgres
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=fans_strategy, condition_data=st.lists(conditions_strategy, min_size=1, max_size=4))
def test_both_databases_agree_with_the_reference(
    both_databases: tuple[str, str], specs: list[FanSpec], condition_data: list[Any]
) -> None:
    conditions = [parse_condition(data) for data in condition_data]
    sqlite_url, postgres_url = both_databases
    on_sqlite = asyncio.run(_ids_on(sqlite_url, specs, conditions))
    on_postgres = asyncio.run(_ids_on(postgres_url, specs, conditions))
    expected = [
        [index for index, fan in enumerate(specs) if evaluate(condition, fan, NOW)]
        for condition in conditions
    ]
    assert on_sqlite == on_postgres
    assert on_sqlite == expected, condition_data

"""Segments: conditions of the kinds rules use, compiled to SQL, against a Python loop.

Generated data (seeded, reproducible): N fans and about 10 rows per fan of what they did
over 90 days: campaign touches (origins), tags, keyword hits and inbound messages; loaded
in bulk (COPY on PostgreSQL, executemany on SQLite). Each condition is counted by the
segment compiler (storage.segments, one query) and by the baseline: a plain Python loop
over the same rows loaded into memory (the load time is stated separately). Both counts
must agree, or the run says so.

    python -m bench.segments [--fans 1000000] [--repeat 3] [--databases sqlite,postgres]
"""

import argparse
import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bench import bulk
from bench.common import Databases, median, print_table, write_result
from dialogs.conditions import (
    AllOf,
    AnyOf,
    Condition,
    FromOrigin,
    HasConsent,
    HasTag,
    JoinedWithin,
    LanguageIs,
    Not,
    RepliedWithin,
    Said,
    SilentFor,
    StatusIs,
    parse_condition,
)
from storage import migrate
from storage.database import Database
from storage.models import Consent, Fan, FanOrigin, FanTag, KeywordHit, Origin, Tag

TARGET_SECONDS = 1.0
TARGET_SPEED_UP = 50.0
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAYS = 90
CAMPAIGNS = [f"campaign_{n:02d}" for n in range(20)]
TAGS = ["customer", "vip", "newsletter", "runner", "bags", "shoes", "gift_seeker"] + [
    f"topic_{n:02d}" for n in range(23)
]
KEYWORDS = ["buy", "handbag", "shoes", "price", "size", "gift", "sale", "help", "boots", "red"]
CONDITIONS: dict[str, dict[str, Any]] = {
    "said buy+handbag 30d, first origin, not customer": {
        "all": [
            {"said": ["buy", "handbag"], "within": "30d"},
            {"origin": "campaign_03", "touch": "first"},
            {"not": {"tag": "customer"}},
        ]
    },
    "tag vip and replied within 7d": {"all": [{"tag": "vip"}, {"replied_within": "7d"}]},
    "any of two origins, language zh": {
        "all": [
            {"any": [{"origin": "campaign_01"}, {"origin": "campaign_02"}]},
            {"language": "zh"},
        ]
    },
    "consent offers, silent 14d, active": {
        "all": [{"consent": "offers"}, {"silent_for": "14d"}, {"status": "active"}]
    },
    "said shoes 7d, joined within 60d, not customer": {
        "all": [
            {"said": ["shoes"], "within": "7d"},
            {"joined_within": "60d"},
            {"not": {"tag": "customer"}},
        ]
    },
}


@dataclass
class Generated:
    fans: list[tuple[Any, ...]] = field(default_factory=list)
    origins: list[tuple[Any, ...]] = field(default_factory=list)
    fan_origins: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    fan_tags: list[tuple[Any, ...]] = field(default_factory=list)
    consents: list[tuple[Any, ...]] = field(default_factory=list)
    keyword_hits: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def activity_rows(self) -> int:
        return (
            len(self.fan_origins) + len(self.fan_tags) + len(self.keyword_hits) + len(self.events)
        )


COLUMNS = {
    "fans": ("id", "telegram_user_id", "chat_id", "first_name", "language", "status",
             "joined_at", "last_seen_at", "last_message_at", "conversation", "daily_ignored"),
    "origins": ("id", "code", "name", "known", "tags", "created_at"),
    "fan_origins": ("fan_id", "origin_id", "is_first", "created_at"),
    "tags": ("id", "name"),
    "fan_tags": ("fan_id", "tag_id", "source", "created_at"),
    "consents": ("fan_id", "purpose", "granted", "proof", "updated_at"),
    "keyword_hits": ("fan_id", "keyword", "created_at"),
    "events": ("fan_id", "kind", "content_kind", "text", "data", "created_at"),
}  # fmt: skip


def generate(fans: int, seed: int, chunk: int = 50_000) -> Iterator[Generated]:
    """About ten activity rows per fan: 1.3 touches, 2 tags, 3.5 keyword hits, 3.2 messages.

    In chunks of fans, so that ten million rows never sit in memory at once.
    """
    rng = random.Random(seed)
    start = NOW - timedelta(days=DAYS)
    data = Generated()
    data.origins = [(n + 1, code, code, True, [], start) for n, code in enumerate(CAMPAIGNS)]
    data.tags = [(n + 1, name) for n, name in enumerate(TAGS)]
    for fan_id in range(1, fans + 1):
        _one_fan(rng, data, fan_id, start)
        if fan_id % chunk == 0:
            yield data
            data = Generated()
    yield data


def _one_fan(rng: random.Random, data: Generated, fan_id: int, start: datetime) -> None:
    joined = start + timedelta(seconds=rng.randrange(DAYS * 86_400))
    active_seconds = max(1, int((NOW - joined).total_seconds()))

    def after_joining() -> datetime:
        return joined + timedelta(seconds=rng.randrange(active_seconds))

    last_message = after_joining() if rng.random() < 0.9 else None
    status = "active" if rng.random() < 0.93 else rng.choice(["opted_out", "blocked"])
    language = "zh" if rng.random() < 0.4 else "en"
    data.fans.append(
        (fan_id, fan_id, fan_id, f"Fan{fan_id}", language, status, joined,
         last_message or joined, last_message, {}, 0)
    )  # fmt: skip
    for touch in range(rng.choice((0, 1, 1, 1, 1, 2, 2, 3))):
        origin = 1 + min(int(rng.expovariate(0.25)), len(CAMPAIGNS) - 1)
        data.fan_origins.append((fan_id, origin, touch == 0, after_joining()))
    for tag_id in rng.sample(range(1, len(TAGS) + 1), rng.choice((0, 1, 2, 2, 3, 4))):
        data.fan_tags.append((fan_id, tag_id, "reply", after_joining()))
    if rng.random() < 0.6:
        data.consents.append((fan_id, "offers", True, {}, joined))
    for _ in range(rng.choice((0, 1, 2, 3, 4, 5, 6, 7))):
        keyword = KEYWORDS[min(int(rng.expovariate(0.35)), len(KEYWORDS) - 1)]
        data.keyword_hits.append((fan_id, keyword, after_joining()))
    for _ in range(rng.choice((0, 1, 2, 3, 4, 5, 6, 4))):
        data.events.append((fan_id, "message_in", "text", "hello", {}, after_joining()))


async def load(database: Database, fans: int, seed: int) -> tuple[int, float]:
    """Generate and load; the number of activity rows and the seconds spent generating."""
    rows, generating = 0, 0.0
    chunks = generate(fans, seed)
    while True:
        started = time.perf_counter()
        data = next(chunks, None)
        generating += time.perf_counter() - started
        if data is None:
            break
        rows += data.activity_rows
        # Parents before children: fans, origins and tags before the rows that point at them.
        for table in COLUMNS:
            await bulk.load(database, table, COLUMNS[table], getattr(data, table))
    for table in ("fans", "origins", "tags"):
        await bulk.reset_sequence(database, table)
    await bulk.analyze(database)
    return rows, generating


# --- the baseline: the same rows in memory, a loop in Python --------------------------


@dataclass
class FanInMemory:
    joined_at: datetime
    last_message_at: datetime | None
    status: str
    language: str | None
    tags: set[str] = field(default_factory=set)
    consents: set[str] = field(default_factory=set)
    first_origin: str | None = None
    origins: set[str] = field(default_factory=set)
    last_said: dict[str, datetime] = field(default_factory=dict)


async def load_into_memory(database: Database) -> dict[int, FanInMemory]:
    """Every fan with what the conditions look at, read back from the database."""
    fans: dict[int, FanInMemory] = {}
    async with database.read_session() as session:
        rows = await session.stream(
            select(Fan.id, Fan.joined_at, Fan.last_message_at, Fan.status, Fan.language)
        )
        async for fan_id, joined, last, status, language in rows:
            fans[fan_id] = FanInMemory(joined, last, status, language)
        tag_rows = await session.stream(
            select(FanTag.fan_id, Tag.name).join(Tag, Tag.id == FanTag.tag_id)
        )
        async for fan_id, name in tag_rows:
            fans[fan_id].tags.add(name)
        consent_rows = await session.stream(
            select(Consent.fan_id, Consent.purpose).where(Consent.granted.is_(True))
        )
        async for fan_id, purpose in consent_rows:
            fans[fan_id].consents.add(purpose)
        touches = await session.stream(
            select(FanOrigin.fan_id, Origin.code, FanOrigin.is_first).join(
                Origin, Origin.id == FanOrigin.origin_id
            )
        )
        async for fan_id, code, is_first in touches:
            fans[fan_id].origins.add(code)
            if is_first:
                fans[fan_id].first_origin = code
        hits = await session.stream(
            select(KeywordHit.fan_id, KeywordHit.keyword, KeywordHit.created_at)
        )
        said: defaultdict[int, dict[str, datetime]] = defaultdict(dict)
        async for fan_id, keyword, at in hits:
            latest = said[fan_id]
            if keyword not in latest or latest[keyword] < at:
                latest[keyword] = at
        for fan_id, latest in said.items():
            fans[fan_id].last_said = latest
    return fans


def matches(fan: FanInMemory, condition: Condition, now: datetime) -> bool:
    """The condition for one fan in memory: the loop a bot without a compiler would run."""
    match condition:
        case AllOf(all=children):
            return all(matches(fan, child, now) for child in children)
        case AnyOf(any=children):
            return any(matches(fan, child, now) for child in children)
        case Not(not_=child):
            return not matches(fan, child, now)
        case HasTag(tag=name):
            return name in fan.tags
        case FromOrigin(origin=code, touch=touch):
            return fan.first_origin == code if touch == "first" else code in fan.origins
        case Said(said=keywords, within=window):
            since = now - window
            return all(fan.last_said.get(k, since - window) >= since for k in keywords)
        case RepliedWithin(replied_within=window):
            return fan.last_message_at is not None and fan.last_message_at >= now - window
        case SilentFor(silent_for=window):
            return (fan.last_message_at or fan.joined_at) <= now - window
        case JoinedWithin(joined_within=window):
            return fan.joined_at >= now - window
        case StatusIs(status=statuses):
            return fan.status in statuses
        case LanguageIs(language=languages):
            return fan.language is not None and fan.language in languages
        case HasConsent(consent=purpose):
            return purpose in fan.consents
    raise TypeError(f"the baseline does not know {type(condition).__name__}")


def python_count(fans: dict[int, FanInMemory], condition: Condition) -> int:
    return sum(1 for fan in fans.values() if matches(fan, condition, NOW))


async def sql_count(database: Database, condition: Condition) -> int:
    from storage.segments import count_and_sample

    async with database.read_session() as session:
        count, _sample = await count_and_sample(session, condition, NOW)
    return count


async def run(fans: int, repeat: int, databases: list[str], seed: int) -> dict[str, Any]:
    results: dict[str, Any] = {"fans": fans, "repeat": repeat}
    activity_rows = 0
    conditions = {name: parse_condition(raw) for name, raw in CONDITIONS.items()}
    rows = []
    async with Databases() as fresh:
        for kind in databases:
            database = Database(await fresh.url(kind))
            try:
                await migrate.upgrade(database)
                started = time.perf_counter()
                activity_rows, generating = await load(database, fans, seed)
                loaded = time.perf_counter() - started - generating
                started = time.perf_counter()
                in_memory = await load_into_memory(database)
                memory_load = time.perf_counter() - started
                per_condition = {}
                for name, condition in conditions.items():
                    sql_times, loop_times = [], []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        sql = await sql_count(database, condition)
                        sql_times.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        loop = python_count(in_memory, condition)
                        loop_times.append(time.perf_counter() - started)
                    sql_s, loop_s = median(sql_times), median(loop_times)
                    per_condition[name] = {
                        "matching": sql,
                        "python_matching": loop,
                        "agree": sql == loop,
                        "sql_seconds": round(sql_s, 4),
                        "python_loop_seconds": round(loop_s, 4),
                        "speed_up": round(loop_s / sql_s, 1) if sql_s else 0.0,
                    }
                    rows.append(
                        [kind, name, sql, "yes" if sql == loop else "NO", round(sql_s, 3),
                         round(loop_s, 3), per_condition[name]["speed_up"]]
                    )  # fmt: skip
                results[kind] = {
                    "activity_rows": activity_rows,
                    "generate_seconds": round(generating, 1),
                    "bulk_load_seconds": round(loaded, 1),
                    "python_load_seconds": round(memory_load, 1),
                    "conditions": per_condition,
                    "targets": {"sql_seconds": TARGET_SECONDS, "speed_up": TARGET_SPEED_UP},
                }
                print(
                    f"{kind}: {activity_rows} activity rows generated in {generating:.1f} s, "
                    f"bulk loaded in {loaded:.1f} s; "
                    f"the loop's load into memory {memory_load:.1f} s (not in its times)"
                )
            finally:
                await database.dispose()
    print_table(
        f"Segments: {fans} fans, {activity_rows} activity rows over {DAYS} days, "
        f"median of {repeat} (targets: <= {TARGET_SECONDS:g} s, >= {TARGET_SPEED_UP:g}x)",
        ["database", "condition", "fans", "loop agrees", "SQL s", "loop s", "speed-up"],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.segments")
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.fans, args.repeat, args.databases.split(","), args.seed))
    print(f"written to {write_result('segments', results)}")


if __name__ == "__main__":
    main()

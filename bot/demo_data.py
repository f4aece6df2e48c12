"""Synthetic fans for the demo, so the console's dashboard shows something real on first
start: a few thousand fans over 60 days with origins, answers, keyword hits, gift claims,
daily openers and replies, and a few handoffs. Deterministic (a seeded random generator).

Seeded fans have no chat (`chat_id` is None) and are kept out of the daily planner
(`daily_next_on` far ahead): rules, openers and broadcasts never try to message them, so
only the fans created in the sandbox's chat page get messages.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import brand, console
from bot.settings import Settings
from storage import migrate
from storage.database import Database
from storage.models import (
    Consent,
    ConsoleRole,
    Event,
    EventKind,
    Fan,
    FanField,
    FanOrigin,
    FanStatus,
    FanTag,
    Handoff,
    HandoffState,
    KeywordHit,
    OutboxMessage,
    OutboxState,
)
from storage.repositories import origins, tags

DAYS = 60
# Synthetic Telegram ids, far from real and sandbox users.
FIRST_USER_ID = 7_000_000_000
ORIGIN_WEIGHTS = {"spring_gift": 5, "store_qr": 3, "ig_bio": 2, None: 4}
ORIGIN_TAGS = {
    "spring_gift": ("giveaway", "spring"),
    "store_qr": ("store_visitor",),
    "ig_bio": ("instagram",),
}
NAMES = ("Mia", "Leo", "Ana", "Bo", "Lin", "Wei", "Sara", "Tom", "Yu", "Noor", "Ivy", "Max")
CITIES = ("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Paris", "London")
GENDERS = ("female", "male", "other")
AGE_BANDS = ("age_18_24", "age_25_34", "age_35_44", "age_45_plus", "under_18")
KEYWORDS = ("buy", "handbag", "sneakers", "size", "discount", "delivery", "leather")
TYPED = ("hi!", "do you have this in size 38?", "love the new bag", "when is the sale?")


@dataclass(frozen=True)
class SeedReport:
    fans: int
    events: int


async def prepare(settings: Settings, now: datetime) -> tuple[SeedReport | None, str]:
    """Before the demo starts: schema, brand, synthetic fans, and an admin login link."""
    database = Database(settings.database_url)
    try:
        await migrate.upgrade(database)
        if settings.brand_dir is not None:
            await brand.ensure_imported(database, settings.brand_dir, now)
        report = await seed(database, now)
        async with database.session() as session:
            link = await console.login_links(settings).issue(session, ConsoleRole.ADMIN, None, now)
            await session.commit()
    finally:
        await database.dispose()
    return report, link


async def seed(database: Database, now: datetime, fans: int = 2500) -> SeedReport | None:
    """Add synthetic fans unless the database has fans already (then None)."""
    async with database.session() as session:
        if (await session.execute(select(func.count()).select_from(Fan))).scalar_one():
            return None
        report = await _seed(session, random.Random(20260301), now, fans)  # noqa: S311
        await session.commit()
    return report


async def _seed(
    session: AsyncSession, rng: random.Random, now: datetime, count: int
) -> SeedReport:
    origin_ids = {
        code: (await origins.get_or_create(session, code, now)).id
        for code in ORIGIN_WEIGHTS
        if code is not None
    }
    codes = list(ORIGIN_WEIGHTS)
    weights = list(ORIGIN_WEIGHTS.values())
    rows: list[dict[str, Any]] = []
    for n in range(count):
        # More fans joined lately: the brand is growing.
        joined = now - timedelta(days=DAYS * rng.random() ** 1.6, minutes=rng.randrange(1440))
        language = rng.choice(("zh", "zh", "en"))
        rows.append(
            {
                "telegram_user_id": FIRST_USER_ID + n,
                "chat_id": None,
                "first_name": rng.choice(NAMES),
                "telegram_language": language,
                "language": language,
                "status": rng.choices(
                    [s.value for s in (FanStatus.ACTIVE, FanStatus.OPTED_OUT, FanStatus.BLOCKED)],
                    [90, 7, 3],
                )[0],
                "joined_at": joined,
                "last_seen_at": joined,
                "conversation": {},
                "daily_ignored": 0,
                "daily_next_on": (now + timedelta(days=3650)).date(),
            }
        )
    result = await session.execute(
        insert(Fan).returning(Fan.id, Fan.joined_at, sort_by_parameter_order=True), rows
    )
    fans = list(result)
    batch = _Batch()
    tag_ids = {name: await tags.tag_id(session, name) for name in _all_tags()}
    for fan_id, joined in fans:
        code = rng.choices(codes, weights)[0]
        _joined(batch, fan_id, joined, code, origin_ids, tag_ids)
        _profile(batch, rng, fan_id, joined, tag_ids)
        _conversation(batch, rng, fan_id, joined, now, code)
    for model, values in batch.rows.items():
        for chunk in _chunks(values, 2000):
            await session.execute(insert(model), chunk)
    last_typed = (
        select(func.max(Event.created_at))
        .where(Event.fan_id == Fan.id, Event.kind == EventKind.MESSAGE_IN)
        .scalar_subquery()
    )
    await session.execute(
        update(Fan).values(
            last_message_at=last_typed, last_seen_at=func.coalesce(last_typed, Fan.joined_at)
        )
    )
    return SeedReport(len(fans), len(batch.rows.get(Event, [])))


class _Batch:
    """Rows to insert, by model, written in a few multi-row INSERTs at the end."""

    def __init__(self) -> None:
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def add(self, model: Any, **values: Any) -> None:
        self.rows.setdefault(model, []).append(values)


def _all_tags() -> list[str]:
    return ["giveaway", "spring", "store_visitor", "instagram", "sneaker_fan", "bag_lover", "vip"]


def _joined(
    batch: _Batch,
    fan_id: int,
    joined: datetime,
    code: str | None,
    origin_ids: dict[str, int],
    tag_ids: dict[str, int],
) -> None:
    batch.add(
        Event, fan_id=fan_id, kind=EventKind.JOINED, data={"origin": code}, created_at=joined
    )
    if code is None:
        return
    batch.add(
        FanOrigin, fan_id=fan_id, origin_id=origin_ids[code], is_first=True, created_at=joined
    )
    batch.add(Event, fan_id=fan_id, kind=EventKind.ORIGIN, data={"code": code}, created_at=joined)
    for tag in ORIGIN_TAGS[code]:
        batch.add(FanTag, fan_id=fan_id, tag_id=tag_ids[tag], source="origin", created_at=joined)


def _profile(
    batch: _Batch, rng: random.Random, fan_id: int, joined: datetime, tag_ids: dict[str, int]
) -> None:
    later = joined + timedelta(minutes=rng.randrange(5, 600))
    if rng.random() < 0.8:
        for purpose in ("daily", "offers") if rng.random() < 0.7 else ("daily",):
            batch.add(
                Consent, fan_id=fan_id, purpose=purpose, granted=True, proof={}, updated_at=later
            )
    for name, values, share in (
        ("gender", GENDERS, 0.7),
        ("age_band", AGE_BANDS, 0.55),
        ("city", CITIES, 0.45),
    ):
        if rng.random() < share:
            batch.add(
                FanField,
                fan_id=fan_id,
                name=name,
                value_text=rng.choice(values),
                category="registration",
                source="capture:profile",
                updated_at=later,
            )
    for tag, share in (("sneaker_fan", 0.3), ("bag_lover", 0.35), ("vip", 0.05)):
        if rng.random() < share:
            batch.add(FanTag, fan_id=fan_id, tag_id=tag_ids[tag], source="reply", created_at=later)


def _conversation(
    batch: _Batch,
    rng: random.Random,
    fan_id: int,
    joined: datetime,
    now: datetime,
    code: str | None,
) -> None:
    if code == "spring_gift" and rng.random() < 0.55:
        batch.add(
            Event,
            fan_id=fan_id,
            kind=EventKind.GIFT_CLAIMED,
            data={"campaign": code, "gift": "SPRING-TOTE"},
            created_at=joined + timedelta(minutes=3),
        )
    keen = rng.random()  # how chatty this fan is
    day = joined + timedelta(days=1)
    while day < now:
        opener = day.replace(hour=2, minute=30)  # 10:30 in Shanghai
        if opener < now:
            batch.add(
                OutboxMessage,
                fan_id=fan_id,
                source="daily",
                content={"daily": True},
                due_at=opener,
                state=OutboxState.SENT,
                sent_at=opener,
                created_at=opener,
            )
            if rng.random() < keen * 0.8:
                at = opener + timedelta(minutes=rng.randrange(2, 300))
                if at < now:
                    _typed(batch, rng, fan_id, at)
        day += timedelta(days=rng.choice((1, 1, 2, 3)))
    if rng.random() < 0.02:
        opened = now - timedelta(hours=rng.randrange(1, 24 * 20))
        answered = rng.random() < 0.8
        batch.add(
            Handoff,
            fan_id=fan_id,
            reason="asked for a person",
            state=HandoffState.CLOSED if answered else HandoffState.WAITING,
            opened_at=opened,
            # Staff "were told" already: the staff queue has no topic to open for them.
            notified_at=opened,
            first_response_at=opened + timedelta(minutes=rng.randrange(1, 45))
            if answered
            else None,
        )


def _typed(batch: _Batch, rng: random.Random, fan_id: int, at: datetime) -> None:
    batch.add(
        Event,
        fan_id=fan_id,
        kind=EventKind.MESSAGE_IN,
        content_kind="text",
        text=rng.choice(TYPED),
        data={},
        created_at=at,
    )
    if rng.random() < 0.4:
        batch.add(KeywordHit, fan_id=fan_id, keyword=rng.choice(KEYWORDS), created_at=at)


def _chunks(values: Sequence[dict[str, Any]], size: int) -> list[Sequence[dict[str, Any]]]:
    return [values[start : start + size] for start in range(0, len(values), size)]

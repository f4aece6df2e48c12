"""Fans described as plain data, written to the database for segment tests."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Consent,
    Event,
    EventKind,
    Fan,
    FanField,
    FanOrigin,
    FanTag,
    KeywordHit,
    Origin,
    Tag,
    TagSource,
)
from storage.repositories import consents, fields, origins, tags
from storage.repositories.fields import FieldValue

_user_ids = count(50_000)


@dataclass
class FanSpec:
    joined_days_ago: float = 100.0
    last_message_days_ago: float | None = None
    status: str = "active"
    language: str | None = "en"
    tags: frozenset[str] = frozenset()
    fields: dict[str, FieldValue] = field(default_factory=dict)
    hits: list[tuple[str, float]] = field(default_factory=list)  # keyword, days ago
    touches: list[str] = field(default_factory=list)  # origin codes, the first one first
    gifts: list[str | None] = field(default_factory=list)  # campaign of each claim
    consents: dict[str, bool] = field(default_factory=dict)
    first_name: str = "Ann"
    username: str | None = None


def ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


async def insert_fans(session: AsyncSession, specs: list[FanSpec], now: datetime) -> list[int]:
    """Write the fans and everything about them; their ids in the order given."""
    ids = []
    for spec in specs:
        user_id = next(_user_ids)
        fan = Fan(
            telegram_user_id=user_id,
            chat_id=user_id,
            first_name=spec.first_name,
            username=spec.username,
            language=spec.language,
            status=spec.status,
            joined_at=ago(now, spec.joined_days_ago),
            last_seen_at=now,
            last_message_at=(
                None
                if spec.last_message_days_ago is None
                else ago(now, spec.last_message_days_ago)
            ),
            conversation={},
        )
        session.add(fan)
        await session.flush()
        await _write_details(session, fan.id, spec, now)
        ids.append(fan.id)
    await session.flush()
    return ids


async def _write_details(session: AsyncSession, fan_id: int, spec: FanSpec, now: datetime) -> None:
    for name in sorted(spec.tags):
        await tags.add(session, fan_id, name, TagSource.RULE, now)
    for name, value in spec.fields.items():
        await fields.set_value(
            session, fan_id, name, value, category="registration", source="test", now=now
        )
    for keyword, days in spec.hits:
        session.add(KeywordHit(fan_id=fan_id, keyword=keyword, created_at=ago(now, days)))
    for code in spec.touches:
        origin = await origins.get_or_create(session, code, now)
        await origins.record_touch(session, fan_id, origin.id, now)
    for campaign in spec.gifts:
        data = {} if campaign is None else {"campaign": campaign, "gift": "g"}
        session.add(Event(fan_id=fan_id, kind=EventKind.GIFT_CLAIMED, data=data, created_at=now))
    # An event of another kind that names a campaign must not count as a claim.
    session.add(
        Event(fan_id=fan_id, kind=EventKind.ORIGIN, data={"campaign": "decoy"}, created_at=now)
    )
    for purpose, granted in spec.consents.items():
        await consents.record(session, fan_id, purpose, granted=granted, proof={}, now=now)


async def delete_everything(session: AsyncSession) -> None:
    for model in (KeywordHit, Event, FanTag, FanField, FanOrigin, Consent, Fan, Tag, Origin):
        await session.execute(delete(model))

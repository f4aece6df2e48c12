"""A fan's data, openly: everything stored about them (export), erased on request (forget),
and kept no longer than the brand's retention settings say.

Forgetting keeps only what counts need, with nothing that identifies the fan: the fan row
loses every identity column, events lose their text and data, keyword hits, tags, fields,
consents and pending sends are deleted, and stored raw updates are blanked.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, false, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Consent,
    Event,
    EventKind,
    Fan,
    FanField,
    FanOrigin,
    FanStatus,
    FanTag,
    FanTopic,
    InboxState,
    InboxUpdate,
    KeywordHit,
    Origin,
    OutboxMessage,
    OutboxState,
    RelayedMessage,
    Tag,
)

# Events whose text is something the fan (or the bot, to them) wrote.
MESSAGE_KINDS = (EventKind.MESSAGE_IN, EventKind.MESSAGE_EDITED, EventKind.MESSAGE_OUT)


async def export_fan(session: AsyncSession, fan: Fan) -> dict[str, Any]:
    """Everything stored about a fan, as plain JSON-ready data."""
    return {
        "fan": {
            "telegram_user_id": fan.telegram_user_id,
            "first_name": fan.first_name,
            "last_name": fan.last_name,
            "username": fan.username,
            "telegram_language": fan.telegram_language,
            "language": fan.language,
            "timezone": fan.timezone,
            "status": fan.status,
            "joined_at": _iso(fan.joined_at),
            "last_message_at": _iso(fan.last_message_at),
        },
        "profile": await _fields(session, fan.id),
        "tags": await _tags(session, fan.id),
        "origins": await _origins(session, fan.id),
        "consents": await _consents(session, fan.id),
        "keyword_hits": await _keyword_hits(session, fan.id),
        "events": await _events(session, fan.id),
        "pending_messages": await _pending(session, fan.id),
    }


async def forget_fan(session: AsyncSession, fan: Fan, now: datetime) -> None:
    """Erase the fan's personal data; what stays for counts identifies no one."""
    telegram_id = fan.telegram_user_id
    for model in (FanField, FanTag, KeywordHit, Consent, RelayedMessage, FanTopic):
        await session.execute(delete(model).where(model.fan_id == fan.id))
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.fan_id == fan.id, OutboxMessage.state == OutboxState.PENDING
        )
    )
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.fan_id == fan.id).values(error=None)
    )
    await session.execute(update(Event).where(Event.fan_id == fan.id).values(text=None, data={}))
    if telegram_id is not None:
        await _blank_raw_updates(session, telegram_id)
    for column in (
        "telegram_user_id",
        "chat_id",
        "first_name",
        "last_name",
        "username",
        "telegram_language",
        "timezone",
        "daily_next_on",
    ):
        setattr(fan, column, None)
    fan.conversation = {}
    fan.status = FanStatus.FORGOTTEN
    fan.status_changed_at = now
    await session.flush()


@dataclass(frozen=True)
class Retention:
    """How long each kind of data is kept (None: for ever)."""

    message_text_days: int | None = 180
    keyword_hit_days: int | None = 365
    raw_update_days: int = 7


@dataclass(frozen=True)
class RetentionReport:
    message_texts: int
    keyword_hits: int
    raw_updates: int


async def apply_retention(
    session: AsyncSession, retention: Retention, now: datetime, *, dry_run: bool = False
) -> RetentionReport:
    """Erase what is older than the retention; with dry_run, only count it."""
    counts = []
    for model, conditions, erase in _cleanups(retention, now):
        if dry_run:
            query = select(func.count()).select_from(model).where(*conditions)
            counts.append(int((await session.execute(query)).scalar_one()))
        else:
            key = inspect(model).primary_key[0]
            changed = await session.execute(erase.where(*conditions).returning(key))
            counts.append(len(changed.scalars().all()))
    return RetentionReport(*counts)


def _cleanups(retention: Retention, now: datetime) -> list[tuple[Any, list[Any], Any]]:
    """(table, which rows are too old, what to do with them) per kind of data."""
    texts_kept = retention.message_text_days
    hits_kept = retention.keyword_hit_days
    return [
        (
            Event,
            [
                Event.kind.in_([kind.value for kind in MESSAGE_KINDS]),
                Event.text.is_not(None),
                Event.created_at < now - timedelta(days=texts_kept)
                if texts_kept is not None
                else false(),
            ],
            update(Event).values(text=None),
        ),
        (
            KeywordHit,
            [
                KeywordHit.created_at < now - timedelta(days=hits_kept)
                if hits_kept is not None
                else false()
            ],
            delete(KeywordHit),
        ),
        (
            InboxUpdate,
            [
                InboxUpdate.state != InboxState.PENDING,
                InboxUpdate.received_at < now - timedelta(days=retention.raw_update_days),
            ],
            delete(InboxUpdate),
        ),
    ]


async def _blank_raw_updates(session: AsyncSession, telegram_id: int) -> None:
    # Kept (blanked) rather than deleted: the update_id still guards against a late repeat,
    # and the update being handled right now is marked done in this transaction.
    rows = await session.execute(select(InboxUpdate).where(InboxUpdate.chat_id == telegram_id))
    for row in rows.scalars():
        row.payload = {"update_id": row.update_id}
        row.chat_id = None
        row.error = None


async def _fields(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(FanField).where(FanField.fan_id == fan_id))
    return [
        {
            "name": field.name,
            "value": field.value_text,
            "category": field.category,
            "source": field.source,
            "updated_at": _iso(field.updated_at),
        }
        for field in rows.scalars()
    ]


async def _tags(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Tag.name, FanTag)
        .join(FanTag, FanTag.tag_id == Tag.id)
        .where(FanTag.fan_id == fan_id)
    )
    return [
        {
            "tag": name,
            "source": tag.source,
            "detail": tag.source_detail,
            "at": _iso(tag.created_at),
        }
        for name, tag in rows
    ]


async def _origins(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(FanOrigin, Origin)
        .join(Origin, Origin.id == FanOrigin.origin_id)
        .where(FanOrigin.fan_id == fan_id)
        .order_by(FanOrigin.id)
    )
    return [
        {
            "code": origin.code,
            "name": origin.name,
            "first": touch.is_first,
            "at": _iso(touch.created_at),
        }
        for touch, origin in rows
    ]


async def _consents(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(Consent).where(Consent.fan_id == fan_id))
    return [
        {"purpose": c.purpose, "granted": c.granted, "proof": c.proof, "at": _iso(c.updated_at)}
        for c in rows.scalars()
    ]


async def _keyword_hits(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(KeywordHit).where(KeywordHit.fan_id == fan_id).order_by(KeywordHit.id)
    )
    return [{"keyword": hit.keyword, "at": _iso(hit.created_at)} for hit in rows.scalars()]


async def _events(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(Event).where(Event.fan_id == fan_id).order_by(Event.id))
    return [
        {
            "kind": event.kind,
            "content": event.content_kind,
            "text": event.text,
            "data": event.data,
            "at": _iso(event.created_at),
        }
        for event in rows.scalars()
    ]


async def _pending(session: AsyncSession, fan_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OutboxMessage).where(
            OutboxMessage.fan_id == fan_id, OutboxMessage.state == OutboxState.PENDING
        )
    )
    return [
        {"what": row.content, "why": row.source, "rule": row.source_ref, "due": _iso(row.due_at)}
        for row in rows.scalars()
    ]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

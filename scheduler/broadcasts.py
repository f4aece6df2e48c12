"""Broadcasts: one message, personalised per fan, to every fan of a segment.

    draft = BroadcastDraft(name, condition, {"en": "Hi {{ fan.first_name }}", ...})
    broadcast = await create(session, brand, draft, now)   # checked, all or nothing
    await preview(session, brand, ...)                     # count + a rendered sample
    await schedule(session, broadcast.id, now)             # one INSERT ... SELECT
    await stats(session, broadcast.id)                     # from the outbox

A broadcast never calls Telegram: `schedule` writes one outbox row per fan (dedupe key
`broadcast:<id>:<fan_id>`, so scheduling again adds nothing) and the sender does the rest
under the contact policy (consent, quiet hours on the fan's clock, caps, opt-out). The
condition is stored on every row and checked again when the row is sent.

The audience is the condition AND an active fan with a chat AND the broadcast's consent
purpose granted: fans who would only be skipped are not queued.

Session-based like the repositories: the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, cast, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand, RenderError
from dialogs.conditions import (
    AllOf,
    Condition,
    ConditionError,
    HasConsent,
    StatusIs,
    condition_to_data,
    parse_condition,
)
from dialogs.messages import message_problems, render_message
from handlers.dialog_adapter import load_snapshot
from storage import segments
from storage.models import Broadcast, BroadcastState, Fan, OutboxMessage, OutboxState
from storage.repositories import outbox
from storage.repositories._upsert import dialect_insert
from storage.types import UTCDateTime

__all__ = [
    "SOURCE",
    "BroadcastDraft",
    "BroadcastError",
    "BroadcastNotFoundError",
    "BroadcastStats",
    "InvalidBroadcastError",
    "Preview",
    "PreviewMessage",
    "audience_filter",
    "cancel",
    "check",
    "create",
    "get",
    "list_recent",
    "preview",
    "schedule",
    "stats",
]

SOURCE = "broadcast"  # outbox.source of broadcast rows; source_ref is the broadcast id


class BroadcastError(Exception):
    """A broadcast that cannot be created, scheduled or found; `str()` says why."""


class InvalidBroadcastError(BroadcastError):
    """The condition or a text is wrong; `problems` lists every mistake found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class BroadcastNotFoundError(BroadcastError, LookupError):
    pass


@dataclass(frozen=True)
class BroadcastDraft:
    """What an editor asks for. `condition` is parsed data (YAML/JSON) or a Condition."""

    name: str
    condition: Any
    texts: Mapping[str, str]  # language -> template
    purpose: str | None = "offers"  # the consent the message needs
    priority: int = 0
    scheduled_at: datetime | None = None  # None: as soon as it is scheduled
    created_by: str = "cli"


@dataclass(frozen=True)
class PreviewMessage:
    fan_id: int
    first_name: str | None
    username: str | None
    language: str | None  # the language the text was rendered in
    text: str | None  # None when it could not be rendered (then `error` says why)
    error: str | None = None


@dataclass(frozen=True)
class Preview:
    count: int  # fans the broadcast would be queued for now
    sample: list[PreviewMessage]


@dataclass
class BroadcastStats:
    """Where the broadcast's outbox rows are; `unknown` rows were claimed during a crash."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # by reason
    cancelled: dict[str, int] = field(default_factory=dict)  # by reason

    @property
    def total(self) -> int:
        settled = sum(self.skipped.values()) + sum(self.cancelled.values())
        return self.pending + self.sending + self.sent + self.failed + self.unknown + settled


def check(brand: CompiledBrand, draft: BroadcastDraft) -> Condition:
    """The parsed condition if the whole draft is valid; else every problem at once."""
    problems: list[str] = []
    condition: Condition | None = None
    try:
        condition = parse_condition(draft.condition)  # data or an already parsed tree
    except ConditionError as error:
        problems.append(f"condition: {error}")
    if not draft.name.strip():
        problems.append("name: a broadcast needs a name")
    if not draft.texts:
        problems.append("text: a broadcast needs a text")
    else:
        problems.extend(f"text.{problem}" for problem in message_problems(brand, draft.texts))
    if draft.purpose is not None and draft.purpose not in brand.settings.consent:
        known = ", ".join(brand.settings.consent)
        problems.append(f"purpose: '{draft.purpose}' is not a consent of the brand ({known})")
    if problems or condition is None:
        raise InvalidBroadcastError(problems)
    return condition


async def create(
    session: AsyncSession, brand: CompiledBrand, draft: BroadcastDraft, now: datetime
) -> Broadcast:
    """Store a checked draft (state `draft`); InvalidBroadcastError stores nothing."""
    condition = check(brand, draft)
    broadcast = Broadcast(
        name=draft.name.strip(),
        condition=condition_to_data(condition),
        content={"text": dict(draft.texts)},
        purpose=draft.purpose,
        priority=draft.priority,
        scheduled_at=draft.scheduled_at,
        created_by=draft.created_by,
        created_at=now,
        state=BroadcastState.DRAFT,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


def audience_filter(condition: Condition, purpose: str | None) -> Condition:
    """The condition plus what the sender would check anyway: active, consent given."""
    parts: list[Condition] = [condition, StatusIs(status=["active"])]
    if purpose is not None:
        parts.append(HasConsent(consent=purpose))
    return AllOf(all=parts)


async def preview(
    session: AsyncSession,
    brand: CompiledBrand,
    draft: BroadcastDraft,
    now: datetime,
    sample: int = 5,
) -> Preview:
    """How many fans it would go to, and the message rendered for the first few of them."""
    condition = check(brand, draft)
    where = _audience_where(condition, draft.purpose, now)
    count = (await session.execute(select(func.count()).select_from(Fan).where(where))).scalar()
    fans = (await session.execute(select(Fan).where(where).order_by(Fan.id).limit(sample))).all()
    messages = [await _render_for(session, brand, fan, draft.texts, now) for (fan,) in fans]
    return Preview(int(count or 0), messages)


async def schedule(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Queue the broadcast for its audience in one INSERT ... SELECT; how many rows were added.

    Scheduling again adds nothing for fans already queued (their dedupe key exists).
    """
    broadcast = await get(session, broadcast_id)
    if broadcast.state == BroadcastState.CANCELLED:
        raise BroadcastError(f"broadcast {broadcast_id} was cancelled")
    condition = parse_condition(broadcast.condition)
    due = broadcast.scheduled_at or now
    rows = select(
        Fan.id,
        literal(SOURCE),
        literal(str(broadcast.id)),
        literal(broadcast.content, JSON),
        literal(broadcast.purpose, String),
        literal(broadcast.priority, Integer),
        literal(due, UTCDateTime()),
        literal(OutboxState.PENDING.value),
        literal(f"{SOURCE}:{broadcast.id}:") + cast(Fan.id, String),
        literal(broadcast.condition, JSON),
        literal(0),
        literal(now, UTCDateTime()),
    ).where(_audience_where(condition, broadcast.purpose, now))
    columns = [
        "fan_id",
        "source",
        "source_ref",
        "content",
        "purpose",
        "priority",
        "due_at",
        "state",
        "dedupe_key",
        "recheck",
        "attempts",
        "created_at",
    ]
    insert = dialect_insert(session, OutboxMessage)
    statement = (
        insert.from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    added = len((await session.execute(statement)).scalars().all())
    broadcast.state = BroadcastState.SCHEDULED
    if broadcast.scheduled_at is None:
        broadcast.scheduled_at = due
    return added


async def cancel(session: AsyncSession, broadcast_id: int) -> int:
    """Withdraw the broadcast: its rows not yet sent are cancelled; how many."""
    broadcast = await get(session, broadcast_id)
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.source == SOURCE,
            OutboxMessage.source_ref == str(broadcast_id),
            OutboxMessage.state == OutboxState.PENDING,
        )
        .values(state=OutboxState.CANCELLED, reason="broadcast_cancelled")
        .returning(OutboxMessage.id)
    )
    broadcast.state = BroadcastState.CANCELLED
    return len(result.scalars().all())


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFoundError(f"no broadcast with id {broadcast_id}")
    return broadcast


async def list_recent(session: AsyncSession, limit: int = 50) -> list[Broadcast]:
    result = await session.execute(
        select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(limit)
    )
    return list(result.scalars())


async def stats(session: AsyncSession, broadcast_id: int) -> BroadcastStats:
    """Delivery so far, counted from the outbox rows of the broadcast."""
    await get(session, broadcast_id)
    result = BroadcastStats()
    counts = await outbox.counts(session, source=SOURCE, source_ref=str(broadcast_id))
    for key, count in counts.items():
        state, _, reason = key.partition(":")
        reason = reason or "none"
        if state == OutboxState.SKIPPED:
            result.skipped[reason] = result.skipped.get(reason, 0) + count
        elif state == OutboxState.CANCELLED:
            result.cancelled[reason] = result.cancelled.get(reason, 0) + count
        elif state in ("pending", "sending", "sent", "failed", "unknown"):
            setattr(result, state, getattr(result, state) + count)
    return result


def _audience_where(condition: Condition, purpose: str | None, now: datetime) -> Any:
    return segments.fan_filter(audience_filter(condition, purpose), now) & Fan.chat_id.is_not(None)


async def _render_for(
    session: AsyncSession,
    brand: CompiledBrand,
    fan: Fan,
    texts: Mapping[str, str],
    now: datetime,
) -> PreviewMessage:
    snapshot = await load_snapshot(session, fan, is_new=False)
    try:
        language, text = render_message(brand, snapshot, texts, now)
    except RenderError as error:
        return PreviewMessage(fan.id, fan.first_name, fan.username, None, None, str(error))
    return PreviewMessage(fan.id, fan.first_name, fan.username, language, text)

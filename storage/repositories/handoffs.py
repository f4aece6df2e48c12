"""Handoffs to staff, the fans' staff topics, and the messages relayed between the two."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.id_lists import in_ids
from storage.models import FanTopic, Handoff, HandoffState, RelayedMessage

OPEN_STATES = (HandoffState.WAITING, HandoffState.TAKEN)
TO_STAFF = "to_staff"
TO_FAN = "to_fan"


# --- handoffs ----------------------------------------------------------------------------


async def open_of(session: AsyncSession, fan_id: int) -> Handoff | None:
    """The fan's open handoff (waiting or taken), if any."""
    result = await session.execute(
        select(Handoff)
        .where(Handoff.fan_id == fan_id, Handoff.state.in_(OPEN_STATES))
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def open_handoff(
    session: AsyncSession, fan_id: int, reason: str, now: datetime
) -> tuple[Handoff, bool]:
    """The fan's open handoff, or a new waiting one; True if it is new."""
    existing = await open_of(session, fan_id)
    if existing is not None:
        return existing, False
    handoff = Handoff(
        fan_id=fan_id, state=HandoffState.WAITING, reason=reason[:128], opened_at=now
    )
    session.add(handoff)
    await session.flush()
    return handoff, True


def take(handoff: Handoff, staff_id: int, now: datetime) -> bool:
    """A staff member takes the chat; False if they already had it."""
    if handoff.state == HandoffState.TAKEN and handoff.taken_by == staff_id:
        return False
    handoff.state = HandoffState.TAKEN
    handoff.taken_by = staff_id
    handoff.taken_at = handoff.taken_at or now
    return True


def staff_spoke(handoff: Handoff, now: datetime) -> None:
    """A staff message went to the fan: first response time and the idle clock."""
    handoff.first_response_at = handoff.first_response_at or now
    handoff.last_staff_message_at = now


def close(handoff: Handoff, reason: str, now: datetime) -> bool:
    if handoff.state == HandoffState.CLOSED:
        return False
    handoff.state = HandoffState.CLOSED
    handoff.closed_at = now
    handoff.close_reason = reason
    return True


async def claim_queued(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Handoff]:
    """Claim up to `limit` waiting handoffs whose staff have not been told yet, oldest first.

    The claim is a lease: a worker that dies holding it leaves it for another after `lease`.
    """
    if limit <= 0:
        return []
    claimable = (Handoff.state == HandoffState.WAITING) & Handoff.notified_at.is_(None)
    free = or_(Handoff.claimed_at.is_(None), Handoff.claimed_at < now - lease)
    candidates = (
        select(Handoff.id).where(claimable, free).order_by(Handoff.opened_at, Handoff.id)
    ).limit(limit)
    ids = list((await session.execute(candidates)).scalars())
    if not ids:
        return []
    # Re-checked in the UPDATE: a concurrent worker may have claimed some meanwhile.
    claimed = await session.execute(
        update(Handoff)
        .where(Handoff.id.in_(ids), claimable, free)
        .values(claimed_at=now)
        .returning(Handoff.id)
        .execution_options(synchronize_session=False)
    )
    claimed_ids = list(claimed.scalars())
    if not claimed_ids:
        return []
    result = await session.execute(
        select(Handoff)
        .where(Handoff.id.in_(claimed_ids))
        .order_by(Handoff.opened_at, Handoff.id)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def queued_count(session: AsyncSession) -> int:
    query = select(func.count()).where(
        Handoff.state == HandoffState.WAITING, Handoff.notified_at.is_(None)
    )
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True)
class IdleClosed:
    handoff_id: int
    fan_id: int
    answered: bool  # a staff member had written to the fan


async def close_idle(session: AsyncSession, now: datetime, idle: timedelta) -> list[IdleClosed]:
    """Close every open handoff without a staff message for `idle`, in one statement."""
    quiet_since = func.coalesce(Handoff.last_staff_message_at, Handoff.taken_at, Handoff.opened_at)
    result = await session.execute(
        update(Handoff)
        .where(Handoff.state.in_(OPEN_STATES), quiet_since < now - idle)
        .values(state=HandoffState.CLOSED, closed_at=now, close_reason="auto")
        .returning(Handoff.id, Handoff.fan_id, Handoff.first_response_at)
        .execution_options(synchronize_session=False)
    )
    return [
        IdleClosed(handoff_id, fan_id, first_response is not None)
        for handoff_id, fan_id, first_response in result
    ]


async def open_fan_ids(session: AsyncSession, fan_ids: Iterable[int]) -> set[int]:
    """Which of these fans are with staff (or waiting for them) right now."""
    result = await session.execute(
        select(Handoff.fan_id).where(
            in_ids(Handoff.fan_id, list(fan_ids)), Handoff.state.in_(OPEN_STATES)
        )
    )
    return set(result.scalars())


@dataclass(frozen=True)
class HandoffMetrics:
    """Support metrics over the handoffs opened in a period."""

    opened: int
    taken: int
    closed: int
    open_now: int
    mean_first_response_seconds: float | None
    mean_duration_seconds: float | None
    by_staff: dict[int, int]  # staff user id -> handoffs taken


async def metrics(session: AsyncSession, since: datetime) -> HandoffMetrics:
    rows = (
        await session.execute(
            select(
                Handoff.state,
                Handoff.taken_by,
                Handoff.opened_at,
                Handoff.first_response_at,
                Handoff.closed_at,
            ).where(Handoff.opened_at >= since)
        )
    ).all()
    responses = [(r.first_response_at - r.opened_at).total_seconds() for r in rows if r[3]]
    durations = [(r.closed_at - r.opened_at).total_seconds() for r in rows if r.closed_at]
    by_staff: dict[int, int] = {}
    for row in rows:
        if row.taken_by is not None:
            by_staff[row.taken_by] = by_staff.get(row.taken_by, 0) + 1
    return HandoffMetrics(
        opened=len(rows),
        taken=sum(1 for r in rows if r.taken_by is not None),
        closed=sum(1 for r in rows if r.state == HandoffState.CLOSED),
        open_now=sum(1 for r in rows if r.state != HandoffState.CLOSED),
        mean_first_response_seconds=sum(responses) / len(responses) if responses else None,
        mean_duration_seconds=sum(durations) / len(durations) if durations else None,
        by_staff=by_staff,
    )


# --- topics ------------------------------------------------------------------------------


async def topic_of(session: AsyncSession, fan_id: int) -> FanTopic | None:
    return await session.get(FanTopic, fan_id)


async def topic_by_thread(
    session: AsyncSession, staff_chat_id: int, thread_id: int
) -> FanTopic | None:
    result = await session.execute(
        select(FanTopic).where(
            FanTopic.staff_chat_id == staff_chat_id, FanTopic.thread_id == thread_id
        )
    )
    return result.scalars().first()


async def save_topic(
    session: AsyncSession,
    fan_id: int,
    staff_chat_id: int,
    thread_id: int,
    title: str,
    now: datetime,
) -> FanTopic:
    """The fan's topic (a new one replaces one in another staff chat)."""
    topic = await topic_of(session, fan_id)
    if topic is None:
        topic = FanTopic(fan_id=fan_id, created_at=now)
        session.add(topic)
    topic.staff_chat_id, topic.thread_id, topic.title = staff_chat_id, thread_id, title[:128]
    topic.card_message_id = None
    await session.flush()
    return topic


# --- relayed messages --------------------------------------------------------------------


async def record_relay(
    session: AsyncSession,
    fan_id: int,
    direction: str,
    *,
    fan_message_id: int,
    staff_chat_id: int,
    staff_message_id: int,
    now: datetime,
) -> None:
    session.add(
        RelayedMessage(
            fan_id=fan_id,
            direction=direction,
            fan_message_id=fan_message_id,
            staff_chat_id=staff_chat_id,
            staff_message_id=staff_message_id,
            created_at=now,
        )
    )


async def copy_in_fan_chat(
    session: AsyncSession, staff_chat_id: int, staff_message_id: int
) -> RelayedMessage | None:
    """The fan's copy of a staff message (to mirror the staff member's edits)."""
    result = await session.execute(
        select(RelayedMessage).where(
            RelayedMessage.staff_chat_id == staff_chat_id,
            RelayedMessage.staff_message_id == staff_message_id,
            RelayedMessage.direction == TO_FAN,
        )
    )
    return result.scalars().first()


async def copy_in_topic(
    session: AsyncSession, fan_id: int, fan_message_id: int
) -> RelayedMessage | None:
    """The topic's copy of a fan message (to mirror the fan's edits)."""
    result = await session.execute(
        select(RelayedMessage)
        .where(
            RelayedMessage.fan_id == fan_id,
            RelayedMessage.fan_message_id == fan_message_id,
            RelayedMessage.direction == TO_STAFF,
        )
        .order_by(RelayedMessage.id.desc())
    )
    return result.scalars().first()


async def in_fan_chat(
    session: AsyncSession, staff_chat_id: int, staff_message_id: int
) -> int | None:
    """The fan-chat side of a message in the topic, whichever way it was relayed."""
    result = await session.execute(
        select(RelayedMessage.fan_message_id)
        .where(
            RelayedMessage.staff_chat_id == staff_chat_id,
            RelayedMessage.staff_message_id == staff_message_id,
        )
        .limit(1)
    )
    return result.scalar_one_or_none()


async def in_topic(session: AsyncSession, fan_id: int, fan_message_id: int) -> int | None:
    """The topic side of a message in the fan's chat, whichever way it was relayed."""
    result = await session.execute(
        select(RelayedMessage.staff_message_id)
        .where(RelayedMessage.fan_id == fan_id, RelayedMessage.fan_message_id == fan_message_id)
        .order_by(RelayedMessage.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()

"""Fans: looked up by their Telegram identity, created on first contact."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.id_lists import in_id_list
from storage.models import Fan, FanStatus, Handoff
from storage.repositories.handoffs import OPEN_STATES


@dataclass(frozen=True)
class TelegramIdentity:
    """What Telegram tells us about a user with each update."""

    user_id: int
    first_name: str | None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Arrival:
    """The fan an update comes from, and whether staff have their chat (one round trip)."""

    fan: Fan
    is_new: bool
    open_handoff_id: int | None


# A fan with the id of their open handoff, if any.
FoundFan = tuple[Fan, int | None]

# Built once: on every inbound update, building the statement cost as much as running it.
_BY_TELEGRAM_ID = select(Fan).where(Fan.telegram_user_id == bindparam("user_id"))
_OPEN_HANDOFF_ID = (
    select(Handoff.id)
    .where(Handoff.fan_id == Fan.id, Handoff.state.in_(OPEN_STATES))
    .order_by(Handoff.id.desc())
    .limit(1)
    .scalar_subquery()
)
_WITH_OPEN_HANDOFF = select(Fan, _OPEN_HANDOFF_ID).where(
    Fan.telegram_user_id == bindparam("user_id")
)
_MANY_WITH_OPEN_HANDOFF = select(Fan, _OPEN_HANDOFF_ID).where(
    in_id_list(Fan.telegram_user_id, "user_ids")
)


async def get_by_telegram_id(session: AsyncSession, user_id: int) -> Fan | None:
    result = await session.execute(_BY_TELEGRAM_ID, {"user_id": user_id})
    return result.scalar_one_or_none()


async def get(session: AsyncSession, fan_id: int) -> Fan | None:
    return await session.get(Fan, fan_id)


async def load_or_create(
    session: AsyncSession, identity: TelegramIdentity, chat_id: int | None, now: datetime
) -> tuple[Fan, bool]:
    """The fan for this Telegram user, their profile refreshed; True if they are new."""
    arrival = await arrive(session, identity, chat_id, now)
    return arrival.fan, arrival.is_new


async def find_many(
    session: AsyncSession, user_ids: Collection[int]
) -> dict[int, FoundFan | None]:
    """The fans of these Telegram users with their open handoffs, in one statement, for a
    group of updates; every asked id is a key (None: not a fan yet)."""
    found: dict[int, FoundFan | None] = dict.fromkeys(user_ids)
    if not user_ids:
        return found
    with session.no_autoflush:  # see `arrive`
        result = await session.execute(_MANY_WITH_OPEN_HANDOFF, {"user_ids": list(user_ids)})
        for fan, open_handoff_id in result:
            if fan.telegram_user_id is not None:
                found[fan.telegram_user_id] = (fan, open_handoff_id)
    return found


async def arrive(
    session: AsyncSession,
    identity: TelegramIdentity,
    chat_id: int | None,
    now: datetime,
    *,
    found: dict[int, FoundFan | None] | None = None,
) -> Arrival:
    """Like `load_or_create`, with the fan's open handoff (if any) in the same statement.

    `found` is what `find_many` looked up for the update's group; a user it holds is not
    looked up again.
    """
    if found is not None and identity.user_id in found:
        row = found.pop(identity.user_id)  # once: after this update the fan exists
    else:
        row = await _find(session, identity.user_id)
    if row is None:
        fan = Fan(
            telegram_user_id=identity.user_id,
            chat_id=chat_id,
            status=FanStatus.ACTIVE,
            joined_at=now,
            conversation={},
        )
        _refresh_identity(fan, identity, now)
        session.add(fan)
        await session.flush()
        return Arrival(fan, True, None)
    fan, open_handoff_id = row
    _refresh_identity(fan, identity, now)
    if chat_id is not None:
        assign_changed(fan, chat_id=chat_id)
    return Arrival(fan, False, open_handoff_id)


async def _find(session: AsyncSession, user_id: int) -> FoundFan | None:
    # No autoflush: what is pending belongs to other fans (the updates before this one in
    # a group transaction) and cannot change this fan's row; it goes out with the next
    # flush, together with this update's own writes, instead of in a flush of its own.
    with session.no_autoflush:
        result = await session.execute(_WITH_OPEN_HANDOFF, {"user_id": user_id})
        row = result.first()
    return None if row is None else (row[0], row[1])


def set_status(fan: Fan, status: FanStatus, now: datetime) -> bool:
    """Change the fan's status; False if it already was that."""
    if fan.status == status:
        return False
    fan.status = status
    fan.status_changed_at = now
    return True


def assign_changed(fan: Fan, **values: Any) -> None:
    """Set the fan's attributes whose value differs. Setting an ORM attribute records
    history, and the next flush writes it, even when the value is the same; the inbound
    path sets names, chat and conversation on every update, and they rarely change."""
    for name, value in values.items():
        if getattr(fan, name) != value:
            setattr(fan, name, value)


def _refresh_identity(fan: Fan, identity: TelegramIdentity, now: datetime) -> None:
    assign_changed(
        fan,
        first_name=identity.first_name,
        last_name=identity.last_name,
        username=identity.username,
        telegram_language=identity.language_code,
    )
    fan.last_seen_at = now

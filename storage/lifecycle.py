"""What happens to a fan over time: joining, origins, opting out and in, blocking.

Each function changes the fan in the caller's transaction and puts it on their timeline.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Event, EventKind, Fan, FanStatus, Origin, TagSource
from storage.repositories import events, fans, origins, outbox, tags

# Telegram's deep-link payload: up to 64 characters of A-Z, a-z, 0-9, _ and -.
DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
# How much of an invalid payload is kept for the brand to see.
INVALID_PAYLOAD_KEPT = 128


@dataclass(frozen=True)
class StartOutcome:
    first_join: bool  # the fan joined now (their first /start ever)
    origin: Origin | None  # the campaign they came through this time
    opted_back_in: bool  # they had opted out (or blocked) and /start brought them back
    invalid_payload: bool


async def start(
    session: AsyncSession, fan: Fan, payload: str | None, now: datetime
) -> StartOutcome:
    """A /start, with or without a deep-link payload."""
    origin, invalid = None, False
    if payload:
        if DEEP_LINK_PAYLOAD.fullmatch(payload):
            origin = await _touch(session, fan, payload, now)
        else:
            invalid = True
            await events.record(
                session,
                fan.id,
                EventKind.INVALID_ORIGIN,
                now,
                data={"payload": payload[:INVALID_PAYLOAD_KEPT]},
            )
    first_join = not await events.has_any(session, fan.id, EventKind.JOINED)
    if first_join:
        await events.record(
            session,
            fan.id,
            EventKind.JOINED,
            now,
            data={"origin": origin.code if origin else None},
        )
    opted_back_in = fan.status in (FanStatus.OPTED_OUT, FanStatus.BLOCKED)
    if opted_back_in:
        await opt_in(session, fan, now)
    return StartOutcome(first_join, origin, opted_back_in, invalid)


async def opt_out(session: AsyncSession, fan: Fan, now: datetime, *, via: str) -> bool:
    """Stop proactive messages to the fan; False if they had already opted out."""
    if not fans.set_status(fan, FanStatus.OPTED_OUT, now):
        return False
    await events.record(session, fan.id, EventKind.OPTED_OUT, now, data={"via": via})
    await outbox.cancel_pending(session, fan.id, "opted_out")
    return True


async def opt_in(session: AsyncSession, fan: Fan, now: datetime) -> bool:
    previous = fan.status
    if not fans.set_status(fan, FanStatus.ACTIVE, now):
        return False
    await events.record(session, fan.id, EventKind.OPTED_IN, now, data={"from": previous})
    return True


async def blocked(session: AsyncSession, fan: Fan, now: datetime) -> bool:
    """The fan blocked the bot. The status they had is kept to restore on unblock."""
    previous = fan.status
    if not fans.set_status(fan, FanStatus.BLOCKED, now):
        return False
    await events.record(session, fan.id, EventKind.BLOCKED, now, data={"previous": previous})
    return True


async def unblocked(session: AsyncSession, fan: Fan, now: datetime) -> bool:
    """The fan unblocked the bot: back to the status they had (an opt-out stays an opt-out)."""
    if fan.status != FanStatus.BLOCKED:
        return False
    last_block = (
        await session.execute(
            select(Event.data)
            .where(Event.fan_id == fan.id, Event.kind == EventKind.BLOCKED)
            .order_by(Event.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    previous = (last_block or {}).get("previous", FanStatus.ACTIVE)
    if previous not in (FanStatus.ACTIVE, FanStatus.OPTED_OUT):
        previous = FanStatus.ACTIVE
    fans.set_status(fan, FanStatus(previous), now)
    await events.record(session, fan.id, EventKind.UNBLOCKED, now, data={"status": previous})
    return True


async def _touch(session: AsyncSession, fan: Fan, code: str, now: datetime) -> Origin:
    origin = await origins.get_or_create(session, code, now)
    touch = await origins.record_touch(session, fan.id, origin.id, now)
    for tag in origin.tags:
        await tags.add(session, fan.id, tag, TagSource.ORIGIN, now, detail=code)
    await events.record(
        session,
        fan.id,
        EventKind.ORIGIN,
        now,
        data={"code": code, "known": origin.known, "first": touch.is_first},
    )
    return origin

"""Staff taking a fan's chat over from the console, and handing it back.

A taken handoff pauses the bot for that fan (the handoff check in the middlewares reads
the same table); handing back closes it.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fan, Handoff, HandoffState
from storage.repositories import events


async def open_handoff(session: AsyncSession, fan_id: int) -> Handoff | None:
    result = await session.execute(
        select(Handoff)
        .where(Handoff.fan_id == fan_id, Handoff.state != HandoffState.CLOSED)
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def take_over(
    session: AsyncSession, fan: Fan, staff_user_id: int | None, now: datetime
) -> Handoff:
    """The staff member takes the chat: a waiting handoff is taken, else a new one opens."""
    handoff = await open_handoff(session, fan.id)
    if handoff is None:
        handoff = Handoff(fan_id=fan.id, reason="console", opened_at=now)
        session.add(handoff)
    if handoff.state != HandoffState.TAKEN:
        handoff.state = HandoffState.TAKEN
        handoff.taken_by = staff_user_id
        handoff.taken_at = now
        await events.record(
            session, fan.id, "handoff_taken", now, data={"by": staff_user_id, "via": "console"}
        )
    await session.flush()
    return handoff


async def hand_back(session: AsyncSession, fan: Fan, now: datetime) -> bool:
    handoff = await open_handoff(session, fan.id)
    if handoff is None:
        return False
    handoff.state = HandoffState.CLOSED
    handoff.closed_at = now
    handoff.close_reason = "handback"
    await events.record(session, fan.id, "handoff_closed", now, data={"via": "console"})
    return True

"""Staff taking a fan's chat over from the console, and handing it back.

The same handoff rows as in the staff chat: an open handoff pauses the bot for that fan
and holds their proactive sends. One opened here waits like any other request, so the
staff queue opens the fan's topic in the staff chat, where staff answer; a staff member
known by their Telegram id takes it at once.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EventKind, Fan, Handoff
from storage.repositories import events, handoffs


async def open_handoff(session: AsyncSession, fan_id: int) -> Handoff | None:
    return await handoffs.open_of(session, fan_id)


async def take_over(
    session: AsyncSession, fan: Fan, staff_user_id: int | None, now: datetime
) -> Handoff:
    """Open (or join) the fan's handoff; a known staff member takes it."""
    handoff, is_new = await handoffs.open_handoff(session, fan.id, "console", now)
    taken = staff_user_id is not None and handoffs.take(handoff, staff_user_id, now)
    if is_new or taken:
        data = {"by": staff_user_id, "via": "console"}
        await events.record(session, fan.id, EventKind.HANDOFF_TAKEN, now, data=data)
    await session.flush()
    return handoff


async def hand_back(session: AsyncSession, fan: Fan, now: datetime) -> bool:
    handoff = await handoffs.open_of(session, fan.id)
    if handoff is None or not handoffs.close(handoff, "handback", now):
        return False
    await events.record(session, fan.id, EventKind.HANDED_BACK, now, data={"via": "console"})
    return True

"""A fan with staff: their messages go to the staff topic instead of the dialog scripts.

Placed before the conversation router; /start and the privacy commands keep working.
"""

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import handoff as handoff_service
from handlers.replies import Replies
from handlers.staff_desk import StaffDesk
from storage.models import Fan, Handoff
from storage.repositories import handoffs


def create_router() -> Router:
    router = Router(name="relay")
    router.message.register(on_message, with_staff)
    router.edited_message.register(on_edited_message, with_staff)
    router.callback_query.register(on_button, with_staff)
    return router


async def with_staff(
    event: TelegramObject,
    fan: Fan | None,
    session: AsyncSession,
    staff_desk: StaffDesk | None = None,
    open_handoff_id: int | None = None,
) -> bool | dict[str, Any]:
    """The fan has an open handoff and there is a staff chat to relay to.

    FanContextMiddleware looked the handoff up with the fan, so a fan without one (nearly
    every message) costs no query here.
    """
    if fan is None or staff_desk is None or open_handoff_id is None:
        return False
    open_handoff = await session.get(Handoff, open_handoff_id)
    if open_handoff is None or open_handoff.state not in handoffs.OPEN_STATES:
        return False
    if await staff_desk.staff_chat(session) is None:
        return False
    return {"handoff": open_handoff, "staff_desk": staff_desk}


async def on_message(
    message: Message,
    fan: Fan,
    handoff: Handoff,
    staff_desk: StaffDesk,
    session: AsyncSession,
    replies: Replies,
) -> None:
    await handoff_service.fan_wrote(session, staff_desk, fan, message, handoff, replies)


async def on_edited_message(
    message: Message, fan: Fan, staff_desk: StaffDesk, session: AsyncSession, replies: Replies
) -> None:
    await handoff_service.fan_edited(session, staff_desk, fan, message, replies)


async def on_button(
    query: CallbackQuery, fan: Fan, staff_desk: StaffDesk, session: AsyncSession, replies: Replies
) -> None:
    await handoff_service.fan_pressed(session, staff_desk, fan, query, replies)

"""The fan blocks or unblocks the bot (Telegram's my_chat_member update in a private chat)."""

from datetime import datetime

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import handoff
from handlers.replies import Replies
from handlers.staff_desk import StaffDesk
from storage import lifecycle
from storage.models import Fan


def create_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.register(on_membership)
    return router


async def on_membership(
    update: ChatMemberUpdated,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    staff_desk: StaffDesk | None = None,
) -> None:
    if fan is None:
        return
    if update.new_chat_member.status == ChatMemberStatus.KICKED:
        await lifecycle.blocked(session, fan, now)
        if staff_desk is not None:
            await handoff.fan_blocked(session, staff_desk, fan, replies, now)
    elif update.old_chat_member.status == ChatMemberStatus.KICKED:
        await lifecycle.unblocked(session, fan, now)
        if staff_desk is not None:
            await handoff.fan_unblocked(session, staff_desk, fan, replies)

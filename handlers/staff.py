"""The staff forum supergroup: commands and replies in the fans' topics.

Only updates from the staff chat reach this router; only staff may act (configured ids,
or members of the staff chat). Anything else posted there is ignored and counted.
"""

import logging
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from handlers import handoff
from handlers.brand import active_brand
from handlers.filters import OnLoop
from handlers.handoff import StaffContext
from handlers.replies import Replies
from handlers.staff_desk import StaffDesk
from storage.brand_cache import BrandCache
from storage.models import Fan
from storage.repositories import handoffs

logger = logging.getLogger(__name__)

NOTE_MARKER = "!"
HELP = (
    "In a fan's topic: reply to write to the fan (this takes the chat), /take, "
    "/handback [step], /note TEXT or !TEXT (internal), /tag NAME, /untag NAME, /card, "
    "/stop (opt the fan out)."
)


def create_router() -> Router:
    router = Router(name="staff")
    router.message.filter(in_staff_chat)
    router.edited_message.filter(in_staff_chat)
    router.message.register(on_take, Command("take"), staff_topic)
    router.message.register(on_handback, Command("handback"), staff_topic)
    router.message.register(on_note, Command("note"), staff_topic)
    router.message.register(on_tag, Command("tag", "untag"), staff_topic)
    router.message.register(on_card, Command("card"), staff_topic)
    router.message.register(on_stop, Command("stop"), staff_topic)
    router.message.register(on_other_command, OnLoop(F.text.startswith("/")), staff_topic)
    router.message.register(on_staff_message, staff_topic)
    router.edited_message.register(on_staff_edit, staff_topic)
    # Whatever is left in the staff chat stops here: it is nobody's conversation.
    router.message.register(on_ignored)
    router.edited_message.register(on_ignored)
    return router


async def in_staff_chat(
    message: Message,
    session: AsyncSession,
    staff_desk: StaffDesk | None = None,
    brand_cache: BrandCache[CompiledBrand] | None = None,
) -> bool | dict[str, Any]:
    if staff_desk is None or message.chat.type == "private":
        return False
    chat_id = staff_desk.chat_for(await active_brand(brand_cache, session))
    if chat_id is None or message.chat.id != chat_id:
        return False
    return {"staff_desk": staff_desk}


async def staff_topic(
    message: Message, session: AsyncSession, staff_desk: StaffDesk
) -> bool | dict[str, Any]:
    """A staff member in a fan's topic: gives handlers the `staff` context."""
    user = message.from_user
    if user is None or user.is_bot or message.sender_chat is not None:
        return False  # anonymous admins and channels cannot be told apart
    if message.message_thread_id is None or not message.is_topic_message:
        return False
    if not await staff_desk.is_staff(message.chat.id, user.id):
        return False
    topic = await handoffs.topic_by_thread(session, message.chat.id, message.message_thread_id)
    if topic is None:
        return False
    fan = await session.get(Fan, topic.fan_id)
    if fan is None:
        return False
    return {"staff": StaffContext(staff_desk, topic, fan, user.id, user.full_name)}


async def on_take(
    message: Message, staff: StaffContext, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    await handoff.take(session, staff, replies, now)


async def on_handback(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    brand_cache: BrandCache[CompiledBrand] | None = None,
) -> None:
    brand = await active_brand(brand_cache, session)
    step = (command.args or "").strip() or None
    await handoff.hand_back(session, staff, brand, step, replies, now)


async def on_note(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    await handoff.note(session, staff, (command.args or "").strip(), now)


async def on_tag(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    names = (command.args or "").split()
    remove = command.command == "untag"
    await handoff.tag(session, staff, names, replies, now, remove=remove)


async def on_card(message: Message, staff: StaffContext, replies: Replies) -> None:
    handoff.card(staff, replies)


async def on_stop(
    message: Message, staff: StaffContext, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    await handoff.stop(session, staff, replies, now)


async def on_other_command(message: Message, staff: StaffContext, replies: Replies) -> None:
    staff.say(replies, HELP)


async def on_staff_message(
    message: Message, staff: StaffContext, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    text = message.text or ""
    if text.startswith(NOTE_MARKER):
        await handoff.note(session, staff, text.removeprefix(NOTE_MARKER).strip(), now)
        return
    await handoff.staff_message(session, staff, message, replies, now)


async def on_staff_edit(
    message: Message, staff: StaffContext, session: AsyncSession, replies: Replies
) -> None:
    await handoff.staff_edited(session, staff, message, replies)


async def on_ignored(message: Message, staff_desk: StaffDesk) -> None:
    if message.from_user is not None and not message.from_user.is_bot:
        staff_desk.stats.ignored += 1
        logger.debug("staff chat: update from %s ignored", message.from_user.id)

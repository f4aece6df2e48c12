"""The fan's control over proactive messages: /stop and the one-tap way back."""

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import texts
from handlers.replies import Replies, Reply
from storage import lifecycle
from storage.models import Fan


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.register(on_stop, Command("stop"))
    router.callback_query.register(on_resume, F.data == texts.RESUME_CALLBACK)
    return router


async def on_stop(
    message: Message, fan: Fan | None, session: AsyncSession, replies: Replies, now: datetime
) -> None:
    if fan is None:
        return
    changed = await lifecycle.opt_out(session, fan, now, via="/stop")
    language = texts.pick_language(fan.language, fan.telegram_language)
    button = [[(texts.text("resume_button", language), texts.RESUME_CALLBACK)]]
    key = "stopped" if changed else "already_stopped"
    await replies.add(
        session, Reply(fan.id, message.chat.id, texts.text(key, language), button), now
    )


async def on_resume(
    query: CallbackQuery,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    if fan is None:
        return
    await lifecycle.opt_in(session, fan, now)
    language = texts.pick_language(fan.language, fan.telegram_language)
    chat_id = fan.chat_id or query.from_user.id
    await replies.add(session, Reply(fan.id, chat_id, texts.text("resumed", language)), now)
    replies.answer_callback(query.id)

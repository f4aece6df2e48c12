"""/start, with or without a campaign deep-link payload."""

from datetime import datetime

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import texts
from handlers.replies import Replies, Reply
from storage import lifecycle
from storage.models import Fan


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(on_start, CommandStart())
    return router


async def on_start(
    message: Message,
    command: CommandObject,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
) -> None:
    if fan is None:
        return
    outcome = await lifecycle.start(session, fan, command.args, now)
    language = texts.pick_language(fan.language, fan.telegram_language)
    key = "welcome" if outcome.first_join or outcome.opted_back_in else "welcome_back"
    name = fan.first_name or ""
    await replies.add(
        session, Reply(fan.id, message.chat.id, texts.text(key, language, name=name)), now
    )

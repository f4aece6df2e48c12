"""/start, with or without a campaign deep-link payload."""

from datetime import datetime

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand
from handlers import texts
from handlers.brand import active_brand
from handlers.dialog_adapter import run_engine
from handlers.inbound_batch import InboundBatch
from handlers.replies import Replies, Reply
from storage import lifecycle
from storage.brand_cache import BrandCache
from storage.models import Fan


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(on_start, CommandStart())
    return router


async def on_start(
    message: Message,
    command: CommandObject,
    fan: Fan | None,
    is_new_fan: bool,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    brand_cache: BrandCache[CompiledBrand] | None = None,
    inbound_batch: InboundBatch | None = None,
) -> None:
    if fan is None:
        return
    outcome = await lifecycle.start(session, fan, command.args, now)
    if inbound_batch is not None:
        inbound_batch.forget_profile(fan.id)  # the deep link may have given tags
    brand = await active_brand(brand_cache, session)
    if brand is not None:
        payload = outcome.origin.code if outcome.origin is not None else None
        await run_engine(
            session,
            brand,
            fan,
            dialogs.Start(payload),
            replies,
            now,
            is_new=is_new_fan,
            batch=inbound_batch,
        )
        return
    # Without a brand script, a plain greeting.
    language = texts.pick_language(fan.language, fan.telegram_language)
    key = "welcome" if outcome.first_join or outcome.opted_back_in else "welcome_back"
    text = texts.text(key, language, name=fan.first_name or "")
    await replies.add(session, Reply(fan.id, message.chat.id, text), now)

"""Everything else the fan sends goes to the brand's dialog scripts.

What the fan sent is already on their timeline (FanContextMiddleware).
"""

from datetime import datetime

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand
from handlers.brand import active_brand
from handlers.dialog_adapter import run_engine
from handlers.fan_context import content_kind
from handlers.inbound_batch import InboundBatch
from handlers.replies import Replies
from storage.brand_cache import BrandCache
from storage.models import Fan
from storage.repositories import events


def create_router() -> Router:
    router = Router(name="conversation")
    router.message.register(on_message)
    # Registered so that edits are requested from Telegram and reach the timeline.
    router.edited_message.register(on_edited_message)
    router.callback_query.register(on_button)
    return router


async def on_message(
    message: Message,
    fan: Fan | None,
    is_new_fan: bool,
    inbound_event: events.Recorded | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    brand_cache: BrandCache[CompiledBrand] | None = None,
    inbound_batch: InboundBatch | None = None,
) -> None:
    brand = await active_brand(brand_cache, session)
    if fan is None or brand is None:
        return
    # A captioned photo is read like a message; other media are answered as media.
    text = message.text or message.caption
    event = dialogs.Text(text) if text else dialogs.Media(content_kind(message))
    await run_engine(
        session,
        brand,
        fan,
        event,
        replies,
        now,
        is_new=is_new_fan,
        inbound_event=inbound_event,
        batch=inbound_batch,
    )


async def on_edited_message(message: Message) -> None:
    """An edit is recorded on the timeline; the conversation does not react to it."""


async def on_button(
    query: CallbackQuery,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    brand_cache: BrandCache[CompiledBrand] | None = None,
    inbound_batch: InboundBatch | None = None,
) -> None:
    replies.answer_callback(query.id)
    brand = await active_brand(brand_cache, session)
    if fan is None or brand is None or query.data is None:
        return
    if not dialogs.is_dialog_callback(query.data):
        return
    message_id = query.message.message_id if query.message is not None else None
    await run_engine(
        session,
        brand,
        fan,
        dialogs.ButtonPress(query.data, message_id),
        replies,
        now,
        batch=inbound_batch,
    )

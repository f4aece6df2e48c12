"""Rule notes for the staff: to the fan's staff topic, else the staff chat, else each admin.

A note is about a fan, not to them, so the fan-side contact policy does not apply (no
consent, quiet hours or caps); the rule's re-check still does. The note is rendered like
a brand text, with the fan's context, in the fan's language.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand, FanSnapshot
from dialogs.context import local_time, pick_language, template_context
from scheduler.rate_limit import RateLimiter
from storage.models import FanTopic

__all__ = ["StaffDestinations", "StaffNote", "deliver_note", "render_note", "staff_targets"]

logger = logging.getLogger(__name__)

Target = tuple[int, int | None]  # chat id, forum topic (message_thread_id)


@dataclass(frozen=True)
class StaffDestinations:
    """Where notes go when the fan has no staff topic (from the settings)."""

    chat_id: int | None = None
    admin_ids: tuple[int, ...] = ()


@dataclass
class StaffNote:
    row_id: int
    text: str
    targets: list[Target]
    delivered: int = 0
    error: str | None = None
    retry_after: float | None = None  # set on 429 and network errors: try again later


async def staff_targets(
    session: AsyncSession, fan_id: int, destinations: StaffDestinations, brand_chat: int | None
) -> list[Target]:
    topic = await session.get(FanTopic, fan_id)
    if topic is not None:
        return [(topic.staff_chat_id, topic.thread_id)]
    chat = destinations.chat_id if destinations.chat_id is not None else brand_chat
    if chat is not None:
        return [(chat, None)]
    return [(admin, None) for admin in destinations.admin_ids]


def render_note(brand: CompiledBrand, fan: FanSnapshot, source: str, now: datetime) -> str:
    """The note's text; raises `dialogs.RenderError` if the template fails."""
    language = pick_language(brand, fan)
    context = template_context(
        brand,
        fan,
        language=language,
        fields=fan.fields,
        tags=fan.tags,
        local=local_time(brand, fan, now),
    )
    return brand.templates.render(brand.templates.compile(source), context)


async def deliver_note(bot: Bot, limiter: RateLimiter, note: StaffNote) -> None:
    for chat_id, thread_id in note.targets:
        await limiter.acquire(chat_id)
        try:
            await bot.send_message(chat_id, note.text, message_thread_id=thread_id)
        except TelegramRetryAfter as error:
            limiter.too_many_requests(error.retry_after)
            note.error, note.retry_after = error.message, float(error.retry_after)
            return
        except TelegramNetworkError as error:
            note.error, note.retry_after = str(error), 30.0
            return
        except TelegramAPIError as error:  # a staff chat that refuses: recorded, not retried
            logger.warning("a staff note could not be delivered: %s", error.message)
            note.error = error.message
            continue
        limiter.succeeded()
        note.delivered += 1

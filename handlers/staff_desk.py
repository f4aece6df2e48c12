"""The staff desk: the Bot API side of handoffs, run after the commit.

The decisions are made in the update's transaction (handlers/handoff.py); what they
decide to say or copy is done here, after the commit, so a rolled-back update never
leaves a message behind. A failing Telegram call is logged and counted, never raised:
the staff relay must not stop the bot. The ticks (the topic queue, the idle hand-back)
are in handlers/staff_queue.py.

The staff chat is RAPPORT_STAFF_CHAT_ID when set (the operator's deployment wins), else
brand.yaml's `staff_chat_id`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import MessageEntity, ReplyParameters
from aiogram.utils.formatting import Bold, Text
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from handlers import fan_card
from storage import lifecycle
from storage.brand_cache import BrandCache, NoActiveBrandError
from storage.clock import Clock
from storage.database import Database
from storage.models import FanTopic, HandoffState
from storage.repositories import fans, handoffs

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 3
MAX_RETRY_AFTER = 10.0  # longer flood waits are not waited out in the relay
CLAIM_LEASE = timedelta(minutes=2)  # a claimed topic creation left this long is retried
MEMBERSHIP_TTL = timedelta(minutes=5)
NO_STAFF_CHAT_BATCH = 50
FORGOTTEN_TITLE = "🗑 forgotten fan"
STAFF_STATUSES = {
    ChatMemberStatus.CREATOR,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}


@dataclass(frozen=True)
class StaffConfig:
    staff_chat_id: int | None
    admin_ids: frozenset[int]
    staff_ids: frozenset[int]
    idle: timedelta
    topics_per_minute: int


@dataclass
class DeskStats:
    relayed_to_staff: int = 0
    relayed_to_fan: int = 0
    edits_mirrored: int = 0
    failed_calls: int = 0
    topics_created: int = 0
    topics_failed: int = 0
    auto_handbacks: int = 0
    admin_alerts: int = 0
    ignored: int = 0


@dataclass
class Called(Generic[T]):
    """The result of a Bot API call, or the error Telegram gave for good."""

    value: T | None = None
    error: TelegramAPIError | None = None

    @property
    def blocked(self) -> bool:
        return isinstance(self.error, TelegramForbiddenError)

    def says(self, words: str) -> bool:
        return self.error is not None and words in self.error.message.lower()


class StaffDesk:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        brand_cache: BrandCache[CompiledBrand] | None,
        config: StaffConfig,
        clock: Clock,
    ) -> None:
        self.database = database
        self.bot = bot
        self.brand_cache = brand_cache
        self.config = config
        self.clock = clock
        self.stats = DeskStats()
        self._members: dict[tuple[int, int], tuple[bool, datetime]] = {}

    # --- who and where -------------------------------------------------------------------

    def chat_for(self, brand: CompiledBrand | None) -> int | None:
        if self.config.staff_chat_id is not None:
            return self.config.staff_chat_id
        return brand.settings.staff_chat_id if brand is not None else None

    async def staff_chat(self, session: AsyncSession) -> int | None:
        brand = None
        if self.config.staff_chat_id is None and self.brand_cache is not None:
            try:
                brand = await self.brand_cache.current(session)
            except NoActiveBrandError:
                brand = None
        return self.chat_for(brand)

    async def is_staff(self, chat_id: int, user_id: int) -> bool:
        """Configured staff and admins, and members of the staff chat (checked, cached)."""
        if user_id in self.config.staff_ids or user_id in self.config.admin_ids:
            return True
        now = self.clock()
        cached = self._members.get((chat_id, user_id))
        if cached is not None and now - cached[1] < MEMBERSHIP_TTL:
            return cached[0]
        called = await self.call(
            "getChatMember", lambda: self.bot.get_chat_member(chat_id, user_id)
        )
        if called.value is None:
            return False  # unknown is not staff; not cached, so it is asked again
        member = called.value
        staff = member.status in STAFF_STATUSES and not member.user.is_bot
        self._members[(chat_id, user_id)] = (staff, now)
        return staff

    # --- Bot API calls -------------------------------------------------------------------

    async def call(self, what: str, call: Callable[[], Awaitable[T]]) -> Called[T]:
        """Retry flood waits and network errors a few times; report the rest."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return Called(value=await call())
            except TelegramRetryAfter as error:
                if error.retry_after > MAX_RETRY_AFTER or attempt == MAX_ATTEMPTS:
                    return self._failed(what, error)
                await asyncio.sleep(error.retry_after)
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt == MAX_ATTEMPTS:
                    return self._failed(what, error)
                await asyncio.sleep(0.5 * attempt)
            except TelegramAPIError as error:
                return self._failed(what, error)
        return Called()

    def _failed(self, what: str, error: TelegramAPIError) -> Called[T]:
        self.stats.failed_calls += 1
        logger.warning("staff desk: %s failed: %s", what, type(error).__name__)
        logger.debug("staff desk: %s failed: %s", what, error.message)
        return Called(error=error)

    async def post(self, chat_id: int, thread_id: int | None, content: Text | str) -> int | None:
        """Say something in a topic; the new message's id, or None."""
        text = content if isinstance(content, Text) else Text(content)
        called = await self.call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id, message_thread_id=thread_id, **text.as_kwargs()
            ),
        )
        return called.value.message_id if called.value is not None else None

    # --- the relay (after the commit) ----------------------------------------------------

    async def relay_fan_message(
        self,
        fan_id: int,
        fan_chat_id: int,
        message_id: int,
        topic: FanTopic,
        *,
        reply_to: int | None = None,
    ) -> None:
        """Copy what the fan sent into their topic (copyMessage: no "forwarded" header)."""
        called = await self.call(
            "copyMessage to staff",
            lambda: self.bot.copy_message(
                topic.staff_chat_id,
                fan_chat_id,
                message_id,
                message_thread_id=topic.thread_id,
                reply_parameters=_reply(reply_to),
            ),
        )
        if called.value is None:
            if called.says("thread not found"):
                await self._topic_lost(fan_id)
            return
        self.stats.relayed_to_staff += 1
        async with self.database.session() as session:
            await handoffs.record_relay(
                session,
                fan_id,
                handoffs.TO_STAFF,
                fan_message_id=message_id,
                staff_chat_id=topic.staff_chat_id,
                staff_message_id=called.value.message_id,
                now=self.clock(),
            )
            await session.commit()

    async def relay_staff_message(
        self,
        fan_id: int,
        fan_chat_id: int,
        message_id: int,
        topic: FanTopic,
        *,
        reply_to: int | None = None,
    ) -> None:
        """Copy a staff message to the fan, in the brand's name (the sender stays hidden)."""
        called = await self.call(
            "copyMessage to fan",
            lambda: self.bot.copy_message(
                fan_chat_id, topic.staff_chat_id, message_id, reply_parameters=_reply(reply_to)
            ),
        )
        if called.value is None:
            await self._not_delivered(fan_id, topic, called)
            return
        self.stats.relayed_to_fan += 1
        async with self.database.session() as session:
            await handoffs.record_relay(
                session,
                fan_id,
                handoffs.TO_FAN,
                fan_message_id=called.value.message_id,
                staff_chat_id=topic.staff_chat_id,
                staff_message_id=message_id,
                now=self.clock(),
            )
            await session.commit()

    async def mirror_edit(
        self,
        chat_id: int,
        message_id: int,
        text: str | None,
        caption: str | None,
        entities: list[MessageEntity] | None,
    ) -> bool:
        """Apply an edit to our copy of a message (the bot may edit its own messages)."""
        if text is not None:
            called: Called[object] = await self.call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, entities=entities
                ),
            )
        else:
            called = await self.call(
                "editMessageCaption",
                lambda: self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=caption,
                    caption_entities=entities,
                ),
            )
        if called.value is not None or called.says("not modified"):
            self.stats.edits_mirrored += 1
            return True
        return False

    async def mirror_fan_edit(
        self,
        topic: FanTopic,
        copy_id: int | None,
        text: str | None,
        caption: str | None,
        entities: list[MessageEntity] | None,
    ) -> None:
        if copy_id is not None and await self.mirror_edit(
            topic.staff_chat_id, copy_id, text, caption, entities
        ):
            return
        edited = text if text is not None else caption
        await self.post(
            topic.staff_chat_id,
            topic.thread_id,
            Text(Bold("✏️ The fan edited a message: "), edited or ""),
        )

    async def _not_delivered(self, fan_id: int, topic: FanTopic, called: Called[T]) -> None:
        if not called.blocked:
            reason = called.error.message if called.error is not None else "no answer"
            await self.post(
                topic.staff_chat_id, topic.thread_id, f"⚠️ Not delivered to the fan: {reason}"
            )
            return
        now = self.clock()
        async with self.database.session() as session:
            fan = await fans.get(session, fan_id)
            handoff = await handoffs.open_of(session, fan_id)
            if fan is not None:
                await lifecycle.blocked(session, fan, now)
            if handoff is not None:
                handoffs.close(handoff, "blocked", now)
            await session.commit()
        await self.post(
            topic.staff_chat_id,
            topic.thread_id,
            "🚫 The fan has blocked the bot: nothing can be delivered. The chat is closed.",
        )
        await self.refresh(fan_id)

    async def _topic_lost(self, fan_id: int) -> None:
        """Staff deleted the topic: forget it, and queue the open handoff for a new one."""
        async with self.database.session() as session:
            topic = await handoffs.topic_of(session, fan_id)
            if topic is not None:
                await session.delete(topic)
            handoff = await handoffs.open_of(session, fan_id)
            if handoff is not None:
                handoff.state = HandoffState.WAITING
                handoff.notified_at = handoff.claimed_at = None
            await session.commit()
        logger.warning("the staff topic of fan %s is gone; a new one is queued", fan_id)

    async def refresh(self, fan_id: int) -> None:
        """Bring the topic's title and pinned card up to date."""
        async with self.database.session() as session:
            fan = await fans.get(session, fan_id)
            topic = await handoffs.topic_of(session, fan_id)
            if fan is None or topic is None:
                return
            handoff = await handoffs.open_of(session, fan_id)
            card = fan_card.render(await fan_card.load_card(session, fan, handoff))
            title = fan_card.topic_title(fan, handoff)
        if title != topic.title:
            await self.call(
                "editForumTopic",
                lambda: self.bot.edit_forum_topic(
                    topic.staff_chat_id, topic.thread_id, name=title
                ),
            )
        card_id = topic.card_message_id
        if card_id is not None:
            called = await self.call(
                "editMessageText card",
                lambda: self.bot.edit_message_text(
                    chat_id=topic.staff_chat_id, message_id=card_id, **card.as_kwargs()
                ),
            )
            if called.value is None and not called.says("not modified"):
                card_id = None  # deleted by staff: a new card is pinned
        if card_id is None:
            card_id = await self.pin_new_card(topic, card)
        async with self.database.session() as session:
            stored = await handoffs.topic_of(session, fan_id)
            if stored is not None:
                stored.title, stored.card_message_id = title, card_id
            await session.commit()

    async def repost_card(self, fan_id: int) -> None:
        """A fresh card at the bottom of the topic, pinned in place of the old one."""
        async with self.database.session() as session:
            fan = await fans.get(session, fan_id)
            topic = await handoffs.topic_of(session, fan_id)
            if fan is None or topic is None:
                return
            handoff = await handoffs.open_of(session, fan_id)
            card = fan_card.render(await fan_card.load_card(session, fan, handoff))
        card_id = await self.pin_new_card(topic, card)
        if card_id is None:
            return
        async with self.database.session() as session:
            stored = await handoffs.topic_of(session, fan_id)
            if stored is not None:
                stored.card_message_id = card_id
            await session.commit()

    async def pin_new_card(self, topic: FanTopic, card: Text) -> int | None:
        card_id = await self.post(topic.staff_chat_id, topic.thread_id, card)
        if card_id is not None:
            await self.call(
                "pinChatMessage",
                lambda: self.bot.pin_chat_message(
                    topic.staff_chat_id, card_id, disable_notification=True
                ),
            )
        return card_id

    async def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a forgotten fan's topic; without the right, at least take the name off."""
        called = await self.call(
            "deleteForumTopic", lambda: self.bot.delete_forum_topic(chat_id, thread_id)
        )
        if called.value is not None:
            return
        await self.call(
            "editForumTopic",
            lambda: self.bot.edit_forum_topic(chat_id, thread_id, name=FORGOTTEN_TITLE),
        )
        await self.post(
            chat_id,
            thread_id,
            "🗑 This fan asked us to forget them. Please delete this topic (the bot may not).",
        )

    async def alert_admins(self, text: str) -> None:
        for admin_id in sorted(self.config.admin_ids):
            if await self._send_plain(admin_id, text):
                self.stats.admin_alerts += 1

    async def _send_plain(self, chat_id: int, text: str) -> bool:
        called = await self.call(
            "sendMessage to admin", lambda: self.bot.send_message(chat_id, text)
        )
        return called.value is not None


def _reply(message_id: int | None) -> ReplyParameters | None:
    # A reply to a message deleted meanwhile still goes out, as a plain message.
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)

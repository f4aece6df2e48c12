"""The staff desk: the Bot API side of handoffs, run after the commit or by a tick.

The decisions are made in the update's transaction (handlers/handoff.py); what they
decide to say or copy is done here, after the commit, so a rolled-back update never
leaves a message behind. A failing Telegram call is logged and counted, never raised:
the staff relay must not stop the bot.

The staff chat is RAPPORT_STAFF_CHAT_ID when set (the operator's deployment wins), else
brand.yaml's `staff_chat_id`.
"""

import asyncio
import logging
from collections import deque
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
from aiogram.types import MessageEntity
from aiogram.utils.formatting import Bold, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from handlers import fan_card, texts
from handlers.replies import Replies, Reply, send_replies
from storage import lifecycle
from storage.brand_cache import BrandCache, NoActiveBrandError
from storage.clock import Clock
from storage.database import Database
from storage.models import Event, EventKind, Fan, FanTopic, Handoff, HandoffState
from storage.repositories import events, fans, handoffs

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


class TopicThrottle:
    """At most `per_minute` topic creations in any 60 seconds of the clock."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._created: deque[datetime] = deque()
        self._paused_until: datetime | None = None

    def allowance(self) -> int:
        now = self.clock()
        if self._paused_until is not None and now < self._paused_until:
            return 0
        while self._created and now - self._created[0] >= timedelta(minutes=1):
            self._created.popleft()
        return max(self.per_minute - len(self._created), 0)

    def record(self) -> None:
        self._created.append(self.clock())

    def pause(self, seconds: float) -> None:
        self._paused_until = self.clock() + timedelta(seconds=seconds)


@dataclass
class _Announcement:
    handoff_id: int
    fan_id: int
    fan_chat_id: int | None
    reason: str
    title: str
    card: Text
    name: str
    topic: FanTopic | None
    opened_at: datetime
    language: str
    who: str  # for the admins: name and Telegram id


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
        self.throttle = TopicThrottle(config.topics_per_minute, clock)
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
        called = await self._call(
            "getChatMember", lambda: self.bot.get_chat_member(chat_id, user_id)
        )
        if called.value is None:
            return False  # unknown is not staff; not cached, so it is asked again
        member = called.value
        staff = member.status in STAFF_STATUSES and not member.user.is_bot
        self._members[(chat_id, user_id)] = (staff, now)
        return staff

    # --- Bot API calls -------------------------------------------------------------------

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> Called[T]:
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
        called = await self._call(
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id, message_thread_id=thread_id, **text.as_kwargs()
            ),
        )
        return called.value.message_id if called.value is not None else None

    # --- the relay (after the commit) ----------------------------------------------------

    async def relay_fan_message(
        self, fan_id: int, fan_chat_id: int, message_id: int, topic: FanTopic
    ) -> None:
        """Copy what the fan sent into their topic (copyMessage: no "forwarded" header)."""
        called = await self._call(
            "copyMessage to staff",
            lambda: self.bot.copy_message(
                topic.staff_chat_id,
                fan_chat_id,
                message_id,
                message_thread_id=topic.thread_id,
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
        self, fan_id: int, fan_chat_id: int, message_id: int, topic: FanTopic
    ) -> None:
        """Copy a staff message to the fan, in the brand's name (the sender stays hidden)."""
        called = await self._call(
            "copyMessage to fan",
            lambda: self.bot.copy_message(fan_chat_id, topic.staff_chat_id, message_id),
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
            called: Called[object] = await self._call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, entities=entities
                ),
            )
        else:
            called = await self._call(
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
            await self._call(
                "editForumTopic",
                lambda: self.bot.edit_forum_topic(
                    topic.staff_chat_id, topic.thread_id, name=title
                ),
            )
        card_id = topic.card_message_id
        if card_id is not None:
            called = await self._call(
                "editMessageText card",
                lambda: self.bot.edit_message_text(
                    chat_id=topic.staff_chat_id, message_id=card_id, **card.as_kwargs()
                ),
            )
            if called.value is None and not called.says("not modified"):
                card_id = None  # deleted by staff: a new card is pinned
        if card_id is None:
            card_id = await self._pin_new_card(topic, card)
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
        card_id = await self._pin_new_card(topic, card)
        if card_id is None:
            return
        async with self.database.session() as session:
            stored = await handoffs.topic_of(session, fan_id)
            if stored is not None:
                stored.card_message_id = card_id
            await session.commit()

    async def _pin_new_card(self, topic: FanTopic, card: Text) -> int | None:
        card_id = await self.post(topic.staff_chat_id, topic.thread_id, card)
        if card_id is not None:
            await self._call(
                "pinChatMessage",
                lambda: self.bot.pin_chat_message(
                    topic.staff_chat_id, card_id, disable_notification=True
                ),
            )
        return card_id

    async def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a forgotten fan's topic; without the right, at least take the name off."""
        called = await self._call(
            "deleteForumTopic", lambda: self.bot.delete_forum_topic(chat_id, thread_id)
        )
        if called.value is not None:
            return
        await self._call(
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
        called = await self._call(
            "sendMessage to admin", lambda: self.bot.send_message(chat_id, text)
        )
        return called.value is not None

    # --- the queue of topics to open (a tick) --------------------------------------------

    async def announce_queued(self) -> int:
        """Tell staff about waiting handoffs in their topics, within the creation throttle."""
        now = self.clock()
        async with self.database.session() as session:
            chat_id = await self.staff_chat(session)
            limit = self.throttle.allowance() if chat_id is not None else NO_STAFF_CHAT_BATCH
            claimed = await handoffs.claim_queued(session, now, limit, CLAIM_LEASE)
            announcements = [await self._prepare(session, handoff) for handoff in claimed]
            await session.commit()
        for announcement in announcements:
            if chat_id is None:
                await self._without_staff_chat(announcement)
            elif not await self._announce(chat_id, announcement):
                break  # Telegram said wait; the rest stay claimed until the lease ends
        return len(announcements)

    async def _announce(self, chat_id: int, item: _Announcement) -> bool:
        """False when Telegram asks to wait (the item is tried again after the lease)."""
        topic = item.topic
        if topic is None or topic.staff_chat_id != chat_id:
            called = await self._create_topic(chat_id, item)
            if called.value is None:
                if _worth_retrying(called.error):
                    return False
                # The staff chat cannot take topics (not a forum, no rights): degrade.
                await self._without_staff_chat(item, unusable=True)
                return True
            await self._notify(called.value, item, fresh=True)
        else:
            await self._reopen(topic, item.title)
            await self._notify(topic, item, fresh=False)
        return True

    async def _prepare(self, session: AsyncSession, handoff: Handoff) -> _Announcement:
        fan = await session.get(Fan, handoff.fan_id)
        assert fan is not None  # the foreign key cascades
        card = fan_card.render(await fan_card.load_card(session, fan, handoff))
        return _Announcement(
            handoff_id=handoff.id,
            fan_id=fan.id,
            fan_chat_id=fan.chat_id,
            reason=handoff.reason,
            title=fan_card.topic_title(fan, handoff),
            card=card,
            name=fan_card.display_name(fan),
            topic=await handoffs.topic_of(session, fan.id),
            opened_at=handoff.opened_at,
            language=texts.pick_language(fan.language, fan.telegram_language),
            who=f"{fan_card.display_name(fan)} ({fan.telegram_user_id})",
        )

    async def _notify(self, topic: FanTopic, item: _Announcement, *, fresh: bool) -> None:
        """The notice, the pinned card, then what the fan wrote since they asked."""
        notice = Text(
            "🔔 ",
            Bold(item.name),
            " asks for a person: ",
            item.reason,
            "\nReply here to answer (that takes the chat), or /take. Internal notes start "
            "with ! or /note. /handback [step] returns the fan to the bot.",
        )
        await self.post(topic.staff_chat_id, topic.thread_id, notice)
        card_id = topic.card_message_id
        if fresh or card_id is None:
            card_id = await self._pin_new_card(topic, item.card)
        else:
            called = await self._call(
                "editMessageText card",
                lambda: self.bot.edit_message_text(
                    chat_id=topic.staff_chat_id, message_id=card_id, **item.card.as_kwargs()
                ),
            )
            if called.value is None and not called.says("not modified"):
                card_id = await self._pin_new_card(topic, item.card)
        waiting = await self._mark_notified(item, topic, card_id)
        if item.fan_chat_id is not None:
            for message_id in waiting:
                await self.relay_fan_message(item.fan_id, item.fan_chat_id, message_id, topic)

    async def _create_topic(self, chat_id: int, item: _Announcement) -> Called[FanTopic]:
        called = await self._call(
            "createForumTopic", lambda: self.bot.create_forum_topic(chat_id, item.title)
        )
        if called.value is None:
            self.stats.topics_failed += 1
            if isinstance(called.error, TelegramRetryAfter):
                self.throttle.pause(called.error.retry_after)
            elif not _worth_retrying(called.error):
                logger.error(
                    "cannot open a staff topic in chat %s (is it a forum, and is the bot an "
                    "admin that may manage topics? see `rapport doctor`)",
                    chat_id,
                )
            return Called(error=called.error)
        self.throttle.record()
        self.stats.topics_created += 1
        async with self.database.session() as session:
            topic = await handoffs.save_topic(
                session,
                item.fan_id,
                chat_id,
                called.value.message_thread_id,
                item.title,
                self.clock(),
            )
            await session.commit()
        return Called(value=topic)

    async def _reopen(self, topic: FanTopic, title: str) -> None:
        # Staff may have closed the topic by hand; "not modified" is the usual answer.
        await self._call(
            "reopenForumTopic",
            lambda: self.bot.reopen_forum_topic(topic.staff_chat_id, topic.thread_id),
        )
        if title != topic.title:
            await self._call(
                "editForumTopic",
                lambda: self.bot.edit_forum_topic(
                    topic.staff_chat_id, topic.thread_id, name=title
                ),
            )

    async def _mark_notified(
        self, item: _Announcement, topic: FanTopic, card_id: int | None
    ) -> list[int]:
        """Staff are told; the fan's messages since they asked, to copy into the topic."""
        async with self.database.session() as session:
            handoff = await session.get(Handoff, item.handoff_id)
            if handoff is not None:
                handoff.notified_at = self.clock()
            stored = await handoffs.topic_of(session, item.fan_id)
            if stored is not None:
                stored.title, stored.card_message_id = item.title, card_id
            result = await session.execute(
                select(Event.data)
                .where(
                    Event.fan_id == item.fan_id,
                    Event.kind == EventKind.MESSAGE_IN,
                    Event.created_at >= item.opened_at,
                )
                .order_by(Event.id)
            )
            await session.commit()
        return [int(data["message_id"]) for data in result.scalars() if "message_id" in data]

    async def _without_staff_chat(self, item: _Announcement, *, unusable: bool = False) -> None:
        """No (usable) staff chat: the fan is told, admins get a direct message, the bot
        carries on.
        """
        now = self.clock()
        text = texts.text("staff_unavailable", item.language)
        async with self.database.session() as session:
            handoff = await session.get(Handoff, item.handoff_id)
            if handoff is not None:
                handoffs.close(
                    handoff, "staff_chat_unusable" if unusable else "no_staff_chat", now
                )
                handoff.notified_at = now
            replies = Replies()
            if item.fan_chat_id is not None:
                await replies.add(session, Reply(item.fan_id, item.fan_chat_id, text), now)
            await session.commit()
        await send_replies(self.bot, replies)
        if not self.config.admin_ids:
            logger.warning(
                "a fan asked for a person, but neither a staff chat nor admins are set "
                "(RAPPORT_STAFF_CHAT_ID, RAPPORT_ADMIN_IDS)"
            )
            return
        problem = "the staff chat refused a new topic" if unusable else "no staff chat is set up"
        await self.alert_admins(
            f"{item.who} asked for a person ({item.reason}), but {problem}. Set "
            "RAPPORT_STAFF_CHAT_ID to a forum supergroup where this bot is an admin that may "
            "manage topics (see `rapport doctor`)."
        )

    # --- automatic hand-back (a tick) ----------------------------------------------------

    async def hand_back_idle(self) -> int:
        """Hand back every chat without a staff message for the idle time."""
        now = self.clock()
        async with self.database.session() as session:
            closed = await handoffs.close_idle(session, now, self.config.idle)
            notices: list[tuple[int, FanTopic | None]] = []
            replies = Replies()
            for item in closed:
                fan = await fans.get(session, item.fan_id)
                topic = await handoffs.topic_of(session, item.fan_id)
                reply = None
                if fan is not None and fan.chat_id is not None and not item.answered:
                    language = texts.pick_language(fan.language, fan.telegram_language)
                    reply = Reply(fan.id, fan.chat_id, texts.text("staff_timed_out", language))
                    await replies.add(session, reply, now)
                await events.record(
                    session, item.fan_id, EventKind.HANDED_BACK, now, data={"via": "auto"}
                )
                notices.append((item.fan_id, topic))
            await session.commit()
        await send_replies(self.bot, replies)
        minutes = int(self.config.idle.total_seconds() // 60)
        for fan_id, topic in notices:
            self.stats.auto_handbacks += 1
            if topic is not None:
                await self.post(
                    topic.staff_chat_id,
                    topic.thread_id,
                    f"🤖 No staff message for {minutes} min: the chat is back with the bot.",
                )
                await self.refresh(fan_id)
        return len(closed)


def _worth_retrying(error: TelegramAPIError | None) -> bool:
    """Flood waits and network trouble pass; a refusal of the request itself does not."""
    return error is None or isinstance(
        error, TelegramRetryAfter | TelegramNetworkError | TelegramServerError
    )

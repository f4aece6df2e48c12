"""The staff desk's two ticks: opening queued topics (throttled) and the idle hand-back.

The queue is the waiting handoffs whose staff have not been told yet (`notified_at` is
empty), so nothing is lost on a restart. Workers claim items with a lease, so several
can run the tick without opening a topic twice.
"""

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.formatting import Bold, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import fan_card, texts
from handlers.replies import Replies, Reply, send_replies
from handlers.staff_desk import Called, StaffDesk
from storage.clock import Clock
from storage.models import Event, EventKind, Fan, FanStatus, FanTopic, Handoff
from storage.repositories import events, fans, handoffs

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # a claimed topic creation left this long is retried
NO_STAFF_CHAT_BATCH = 50


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
    reachable: bool


class StaffQueue:
    def __init__(self, desk: StaffDesk) -> None:
        self.desk = desk
        self.database, self.bot, self.clock = desk.database, desk.bot, desk.clock
        self.config, self.stats = desk.config, desk.stats
        self.throttle = TopicThrottle(desk.config.topics_per_minute, desk.clock)

    # --- the queue of topics to open -----------------------------------------------------

    async def announce_queued(self) -> int:
        """Tell staff about waiting handoffs in their topics, within the creation throttle."""
        now = self.clock()
        async with self.database.session() as session:
            chat_id = await self.desk.staff_chat(session)
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
            reachable=_reachable(fan),
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
        await self.desk.post(topic.staff_chat_id, topic.thread_id, notice)
        card_id = topic.card_message_id
        if fresh or card_id is None:
            card_id = await self.desk.pin_new_card(topic, item.card)
        else:
            called = await self.desk.call(
                "editMessageText card",
                lambda: self.bot.edit_message_text(
                    chat_id=topic.staff_chat_id, message_id=card_id, **item.card.as_kwargs()
                ),
            )
            if called.value is None and not called.says("not modified"):
                card_id = await self.desk.pin_new_card(topic, item.card)
        waiting = await self._mark_notified(item, topic, card_id)
        if item.fan_chat_id is not None:
            for message_id in waiting:
                await self.desk.relay_fan_message(item.fan_id, item.fan_chat_id, message_id, topic)

    async def _create_topic(self, chat_id: int, item: _Announcement) -> Called[FanTopic]:
        called = await self.desk.call(
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
        await self.desk.call(
            "reopenForumTopic",
            lambda: self.bot.reopen_forum_topic(topic.staff_chat_id, topic.thread_id),
        )
        if title != topic.title:
            await self.desk.call(
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
            if item.fan_chat_id is not None and item.reachable:
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
        await self.desk.alert_admins(
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
                if fan is not None and _reachable(fan) and not item.answered:
                    assert fan.chat_id is not None
                    language = texts.pick_language(fan.language, fan.telegram_language)
                    text = texts.text("staff_timed_out", language)
                    await replies.add(session, Reply(fan.id, fan.chat_id, text), now)
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
                await self.desk.post(
                    topic.staff_chat_id,
                    topic.thread_id,
                    f"🤖 No staff message for {minutes} min: the chat is back with the bot.",
                )
                await self.desk.refresh(fan_id)
        return len(closed)


def _reachable(fan: Fan) -> bool:
    return fan.chat_id is not None and fan.status in (FanStatus.ACTIVE, FanStatus.OPTED_OUT)


def _worth_retrying(error: TelegramAPIError | None) -> bool:
    """Flood waits and network trouble pass; a refusal of the request itself does not."""
    return error is None or isinstance(
        error, TelegramRetryAfter | TelegramNetworkError | TelegramServerError
    )

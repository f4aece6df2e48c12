"""Handoffs to staff: what happens, decided in the update's transaction.

Each function changes the database through storage/ and queues the Bot API work for
after the commit (`replies.after_commit`, carried out by handlers/staff_desk.py).
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from aiogram.types import CallbackQuery, Message
from aiogram.utils.formatting import Bold, Text
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand
from handlers.dialog_adapter import run_engine
from handlers.fan_context import content_kind
from handlers.replies import Replies
from handlers.staff_desk import StaffDesk
from storage import lifecycle
from storage.models import EventKind, Fan, FanStatus, FanTopic, Handoff, HandoffState, TagSource
from storage.repositories import events, handoffs, tags

TAG_NAME = re.compile(r"[\w-]{1,64}")
STAFF_TAKEN_REASON = "taken by staff"


@dataclass(frozen=True)
class StaffContext:
    """A staff member acting in a fan's topic."""

    desk: StaffDesk
    topic: FanTopic
    fan: Fan
    staff_id: int
    staff_name: str

    def say(self, replies: Replies, content: Text | str, *, refresh: bool = False) -> None:
        """Post in the topic after the commit (and bring title and card up to date)."""
        topic = self.topic
        replies.after_commit.append(
            partial(self.desk.post, topic.staff_chat_id, topic.thread_id, content)
        )
        if refresh:
            replies.after_commit.append(partial(self.desk.refresh, self.fan.id))


# --- the fan's side ----------------------------------------------------------------------


async def fan_wrote(
    session: AsyncSession,
    desk: StaffDesk,
    fan: Fan,
    message: Message,
    handoff: Handoff,
    replies: Replies,
) -> None:
    """A fan message while staff have the chat: into the topic, not into the scripts."""
    topic = await handoffs.topic_of(session, fan.id)
    if handoff.notified_at is None or topic is None or fan.chat_id is None:
        return  # still queued: copied into the topic when it opens
    replies.after_commit.append(
        partial(
            desk.relay_fan_message,
            fan.id,
            fan.chat_id,
            message.message_id,
            topic,
            reply_to=await _replied(
                session, message, lambda m: handoffs.in_topic(session, fan.id, m)
            ),
        )
    )


async def fan_edited(
    session: AsyncSession, desk: StaffDesk, fan: Fan, message: Message, replies: Replies
) -> None:
    topic = await handoffs.topic_of(session, fan.id)
    if topic is None:
        return
    copy = await handoffs.copy_in_topic(session, fan.id, message.message_id)
    replies.after_commit.append(
        partial(
            desk.mirror_fan_edit,
            topic,
            copy.staff_message_id if copy is not None else None,
            message.text,
            message.caption,
            message.entities if message.text is not None else message.caption_entities,
        )
    )


async def fan_pressed(
    session: AsyncSession, desk: StaffDesk, fan: Fan, query: CallbackQuery, replies: Replies
) -> None:
    """A button of an earlier bot message: staff see which one; the scripts stay paused."""
    replies.answer_callback(query.id)
    topic = await handoffs.topic_of(session, fan.id)
    if topic is None:
        return
    label = _button_label(query) or query.data or "?"
    replies.after_commit.append(
        partial(
            desk.post,
            topic.staff_chat_id,
            topic.thread_id,
            Text(Bold("🔘 The fan pressed: "), label),
        )
    )


def _button_label(query: CallbackQuery) -> str | None:
    markup = getattr(query.message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            if button.callback_data == query.data:
                return str(button.text)
    return None


async def fan_blocked(
    session: AsyncSession, desk: StaffDesk, fan: Fan, replies: Replies, now: datetime
) -> None:
    """The fan blocked the bot: the open handoff ends and the topic says so."""
    handoff = await handoffs.open_of(session, fan.id)
    if handoff is not None:
        handoffs.close(handoff, "blocked", now)
        await events.record(session, fan.id, EventKind.HANDED_BACK, now, data={"via": "blocked"})
    topic = await handoffs.topic_of(session, fan.id)
    if topic is None:
        return
    replies.after_commit.append(
        partial(
            desk.post,
            topic.staff_chat_id,
            topic.thread_id,
            "🚫 The fan has blocked the bot: nothing can be sent to them any more.",
        )
    )
    replies.after_commit.append(partial(desk.refresh, fan.id))


async def fan_unblocked(
    session: AsyncSession, desk: StaffDesk, fan: Fan, replies: Replies
) -> None:
    topic = await handoffs.topic_of(session, fan.id)
    if topic is not None:
        replies.after_commit.append(
            partial(
                desk.post, topic.staff_chat_id, topic.thread_id, "✅ The fan unblocked the bot."
            )
        )
        replies.after_commit.append(partial(desk.refresh, fan.id))


async def fan_forgotten(
    session: AsyncSession, desk: StaffDesk, fan: Fan, replies: Replies, now: datetime
) -> None:
    """The fan asked to be forgotten: their topic (name, card, messages) goes too."""
    handoff = await handoffs.open_of(session, fan.id)
    if handoff is not None:
        handoffs.close(handoff, "forgotten", now)
    topic = await handoffs.topic_of(session, fan.id)
    if topic is not None:
        replies.after_commit.append(
            partial(desk.delete_topic, topic.staff_chat_id, topic.thread_id)
        )


# --- the staff's side --------------------------------------------------------------------


async def take(session: AsyncSession, ctx: StaffContext, replies: Replies, now: datetime) -> None:
    handoff = await handoffs.open_of(session, ctx.fan.id)
    if handoff is None:
        # Staff may take a chat the fan did not ask about.
        handoff, _ = await handoffs.open_handoff(session, ctx.fan.id, STAFF_TAKEN_REASON, now)
    if handoff.state == HandoffState.TAKEN and handoff.taken_by == ctx.staff_id:
        ctx.say(replies, "You already have this chat.")
        return
    await _take(session, ctx, handoff, replies, now)


async def _take(
    session: AsyncSession, ctx: StaffContext, handoff: Handoff, replies: Replies, now: datetime
) -> None:
    handoffs.take(handoff, ctx.staff_id, now)
    # Taken in the topic, so staff know, even if the queue had not told them yet.
    handoff.notified_at = handoff.notified_at or now
    await events.record(
        session, ctx.fan.id, EventKind.HANDOFF_TAKEN, now, data={"staff_id": ctx.staff_id}
    )
    ctx.say(
        replies,
        Text("💬 ", Bold(ctx.staff_name), " took the chat. The bot is paused for this fan."),
        refresh=True,
    )


async def staff_message(
    session: AsyncSession, ctx: StaffContext, message: Message, replies: Replies, now: datetime
) -> None:
    """A staff message in the topic goes to the fan (replying takes a waiting chat)."""
    if ctx.fan.chat_id is None or ctx.fan.status in (FanStatus.BLOCKED, FanStatus.FORGOTTEN):
        ctx.say(replies, f"Not sent: the fan is {ctx.fan.status}.")
        return
    handoff = await handoffs.open_of(session, ctx.fan.id)
    if handoff is None:
        ctx.say(replies, "The bot has this chat; nothing was sent. Send /take to talk to the fan.")
        return
    if handoff.state == HandoffState.WAITING:
        await _take(session, ctx, handoff, replies, now)
    handoffs.staff_spoke(handoff, now)
    await events.record(
        session,
        ctx.fan.id,
        EventKind.MESSAGE_OUT,
        now,
        content_kind=content_kind(message),
        text=message.text or message.caption,
        data={"staff": True, "staff_id": ctx.staff_id, "staff_message_id": message.message_id},
    )
    chat_id = ctx.topic.staff_chat_id
    replies.after_commit.append(
        partial(
            ctx.desk.relay_staff_message,
            ctx.fan.id,
            ctx.fan.chat_id,
            message.message_id,
            ctx.topic,
            reply_to=await _replied(
                session, message, lambda m: handoffs.in_fan_chat(session, chat_id, m)
            ),
        )
    )


async def _replied(
    session: AsyncSession, message: Message, other_side: Callable[[int], Awaitable[int | None]]
) -> int | None:
    """A reply keeps pointing at the same message on the other side, if it was relayed."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None  # in a topic, a plain message "replies" to the topic's first message
    return await other_side(replied.message_id)


async def staff_edited(
    session: AsyncSession, ctx: StaffContext, message: Message, replies: Replies
) -> None:
    """A staff member edited a message the fan got: the fan's copy is edited too."""
    copy = await handoffs.copy_in_fan_chat(session, ctx.topic.staff_chat_id, message.message_id)
    if copy is None or ctx.fan.chat_id is None:
        return
    replies.after_commit.append(
        partial(
            ctx.desk.mirror_edit,
            ctx.fan.chat_id,
            copy.fan_message_id,
            message.text,
            message.caption,
            message.entities if message.text is not None else message.caption_entities,
        )
    )


async def note(session: AsyncSession, ctx: StaffContext, text: str, now: datetime) -> None:
    """An internal note: on the fan's timeline for staff, never sent to the fan."""
    if not text:
        return
    await events.record(
        session, ctx.fan.id, EventKind.STAFF_NOTE, now, text=text, data={"staff_id": ctx.staff_id}
    )


async def hand_back(
    session: AsyncSession,
    ctx: StaffContext,
    brand: CompiledBrand | None,
    step: str | None,
    replies: Replies,
    now: datetime,
) -> None:
    """Back to the bot; with a step, the script resumes there (and says that step)."""
    handoff = await handoffs.open_of(session, ctx.fan.id)
    if handoff is None:
        ctx.say(replies, "The bot already has this chat.")
        return
    target = None
    if step:
        target = brand.resolve(step) if brand is not None else None
        if target is None:
            ctx.say(
                replies,
                Text("Unknown step ", Bold(step), ": use dialog.step or a dialog name."),
            )
            return
    handoffs.close(handoff, "handback", now)
    await events.record(
        session,
        ctx.fan.id,
        EventKind.HANDED_BACK,
        now,
        data={"via": "staff", "staff_id": ctx.staff_id, "step": target},
    )
    if target is not None and brand is not None:
        await run_engine(session, brand, ctx.fan, dialogs.GoTo(target), replies, now)
    where = f" at {target}" if target else ""
    ctx.say(replies, f"🤖 Handed back to the bot{where}.", refresh=True)


async def tag(
    session: AsyncSession,
    ctx: StaffContext,
    names: list[str],
    replies: Replies,
    now: datetime,
    *,
    remove: bool = False,
) -> None:
    valid = [name for name in names if TAG_NAME.fullmatch(name)]
    if not valid or len(valid) != len(names):
        ctx.say(replies, "Usage: /tag NAME [NAME...] (letters, digits, _ and -, up to 64).")
        return
    for name in valid:
        if remove:
            await tags.remove(session, ctx.fan.id, name)
        else:
            await tags.add(
                session, ctx.fan.id, name, TagSource.STAFF, now, detail=str(ctx.staff_id)
            )
    word = "Untagged" if remove else "Tagged"
    ctx.say(replies, f"🏷 {word}: {', '.join(valid)}", refresh=True)


async def stop(session: AsyncSession, ctx: StaffContext, replies: Replies, now: datetime) -> None:
    """Opt the fan out of proactive messages (they are still answered when they write)."""
    changed = await lifecycle.opt_out(session, ctx.fan, now, via="staff")
    text = "🔕 Opted out: no more proactive messages." if changed else "Already opted out."
    ctx.say(replies, text, refresh=changed)


def card(ctx: StaffContext, replies: Replies) -> None:
    replies.after_commit.append(partial(ctx.desk.repost_card, ctx.fan.id))

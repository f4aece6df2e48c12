"""Outer middleware: who is this update from? Loads (or creates) the fan and logs the update.

It only calls storage/ repositories; handlers receive `fan`, `is_new_fan` and
`open_handoff_id` (the fan's open handoff to staff, looked up with the fan). The processor
may pass `found_fans`: the fans of a whole group of updates, looked up at once, and an
`inbound_batch` (handlers.inbound_batch) that writes the group's events together.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import Chat, Message, TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.inbound_batch import InboundBatch
from storage.models import EventKind, Fan
from storage.repositories import events, fans
from storage.repositories.fans import TelegramIdentity

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class FanContextMiddleware(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["fan"], data["is_new_fan"], data["inbound_event"] = None, False, None
        data["open_handoff_id"] = None
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        batch: InboundBatch | None = data.get("inbound_batch")
        if batch is not None and not _from_fan(user, chat):
            batch.others_arrived()
            # What the group's fans sent is on their timelines before staff look at them.
            await events.write_deferred(data["session"])
        if isinstance(event, Update) and _from_fan(user, chat):
            assert user is not None
            session: AsyncSession = data["session"]
            now: datetime = data["now"]
            arrival = await fans.arrive(
                session,
                identity_of(user),
                chat.id if chat else user.id,
                now,
                found=data.get("found_fans"),
            )
            fan = arrival.fan
            data["inbound_event"] = await record_inbound(
                session, fan, event, now, defer=batch is not None
            )
            if batch is None:
                await session.flush()  # the event's id links keyword hits to the message
            else:  # the batch links them once it has written the group's events
                batch.fan_arrived(fan.id)
            data["fan"], data["is_new_fan"] = fan, arrival.is_new
            data["open_handoff_id"] = arrival.open_handoff_id
        return await handler(event, data)


def identity_of(user: User) -> TelegramIdentity:
    return TelegramIdentity(
        user_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


async def record_inbound(
    session: AsyncSession, fan: Fan, update: Update, now: datetime, *, defer: bool = False
) -> events.Recorded | None:
    """Put what the fan sent on their timeline, with its content kind.

    With `defer`, a message that is not a command waits to be written with the rest of
    the transaction's events (events.defer); commands (/forget, /mydata...) and buttons
    read or remove the timeline, and go on it at once as before."""
    message = update.message or update.edited_message
    if message is None and update.callback_query is None:
        return None  # service updates (membership) are recorded by their handlers
    _fan_spoke(fan, now)
    if message is None:
        assert update.callback_query is not None
        return await events.record(
            session,
            fan.id,
            EventKind.BUTTON,
            now,
            content_kind="callback",
            text=update.callback_query.data,
            update_id=update.update_id,
        )
    text = message.text or message.caption
    kind = EventKind.MESSAGE_IN if update.message is not None else EventKind.MESSAGE_EDITED
    columns: dict[str, Any] = {
        "content_kind": content_kind(message),
        "text": text,
        "data": {"message_id": message.message_id},
        "update_id": update.update_id,
    }
    if defer and not starts_with_command(message):
        return events.defer(session, fan.id, kind, now, **columns)
    return await events.record(session, fan.id, kind, now, **columns)


def _fan_spoke(fan: Fan, now: datetime) -> None:
    fan.last_message_at = now
    # A fan who writes is back in the conversation: daily openers resume every day.
    fans.assign_changed(fan, daily_ignored=0, daily_next_on=None)


def fan_sender(update: Update) -> int | None:
    """The Telegram user id of the fan who sent this message or button press in their
    private chat; None for anything else (staff chat, service updates)."""
    message = update.message or update.edited_message
    chat: Chat | None
    if message is not None:
        user, chat = message.from_user, message.chat
    elif update.callback_query is not None:
        query = update.callback_query
        user, chat = query.from_user, query.message.chat if query.message else None
    else:
        return None
    if chat is None or not _from_fan(user, chat):
        return None
    assert user is not None
    return user.id


def _from_fan(user: User | None, chat: Chat | None) -> bool:
    """Fans talk to the bot in private chats; groups (the staff chat) are not fans."""
    if user is None or user.is_bot:
        return False
    return chat is None or chat.type == ChatType.PRIVATE


def starts_with_command(message: Message) -> bool:
    """What aiogram's Command filter could match: a text or caption starting with "/"."""
    text = message.text or message.caption
    return text is not None and text.startswith("/")


def content_kind(message: Message) -> str:
    content_type = message.content_type
    return str(getattr(content_type, "value", content_type))

"""Replies are collected while an update is handled and sent only after its transaction commits.

Sending after the commit means a crash can lose a reply but never repeat the handling of an
update (and with it, a second reply): a duplicate message is worse than a missing one.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    TelegramObject,
)
from pydantic import ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EventKind
from storage.repositories import events

logger = logging.getLogger(__name__)

# A reply is retried this often after a 429 or a network error, then given up.
MAX_SEND_ATTEMPTS = 3
# Replies are not held up by a long flood wait; proactive sends go through the outbox instead.
MAX_REPLY_RETRY_AFTER = 10.0

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)
KEYBOARDS_KEPT = 1024  # distinct keyboards built once and reused


@dataclass(frozen=True)
class Reply:
    fan_id: int
    chat_id: int
    text: str
    buttons: Buttons = field(default_factory=list)
    step: str | None = None  # the script step that said it, for the timeline
    document: tuple[str, bytes] | None = None  # (file name, content) sent with the text


@dataclass(frozen=True)
class DeliveryFailure:
    """A reply Telegram refused; `blocked` when the fan has blocked the bot."""

    reply: Reply
    error: str
    blocked: bool


@dataclass
class Replies:
    """The replies of one update, in order."""

    items: list[Reply] = field(default_factory=list)
    # Button presses to acknowledge (Telegram shows a spinner on the button until then).
    callback_ids: list[str] = field(default_factory=list)
    # Other Bot API work that must wait for the commit too (the staff relay); each one
    # handles its own failures.
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # False when the caller puts the replies on the timeline itself (timeline_entries):
    # the processor, in one statement for a group of updates; the outbox sender, once
    # they went out, since a send that fails or is retried must not show there.
    record_timeline: bool = True
    _for_timeline: list[int] = field(default_factory=list)  # positions in `items`

    def timeline_entries(self, now: datetime, sent: int | None = None) -> list[dict[str, Any]]:
        """Timeline rows (for events.record_many) of the replies left to the caller; of
        the first `sent` replies only, if given."""
        last = len(self.items) if sent is None else sent
        return [
            {
                "fan_id": self.items[position].fan_id,
                "kind": EventKind.MESSAGE_OUT,
                "content_kind": "text",
                "text": self.items[position].text,
                "data": _timeline_data(self.items[position]),
                "created_at": now,
            }
            for position in self._for_timeline
            if position < last
        ]

    def answer_callback(self, callback_id: str) -> None:
        self.callback_ids.append(callback_id)

    async def add(
        self,
        session: AsyncSession,
        reply: Reply,
        now: datetime,
        *,
        on_timeline: bool = True,
    ) -> None:
        """Queue a reply and put it on the fan's timeline, in the update's transaction."""
        self.items.append(reply)
        if not on_timeline:
            return
        if not self.record_timeline:
            self._for_timeline.append(len(self.items) - 1)
            return
        await events.record(
            session,
            reply.fan_id,
            EventKind.MESSAGE_OUT,
            now,
            content_kind="text",
            text=reply.text,
            data=_timeline_data(reply),
        )


def _timeline_data(reply: Reply) -> dict[str, object]:
    data: dict[str, object] = {}
    if reply.step:
        data["step"] = reply.step
    if reply.buttons:
        data["buttons"] = [[label for label, _ in row] for row in reply.buttons]
    return data


async def send_replies(bot: Bot, replies: Replies) -> list[DeliveryFailure]:
    """Send the replies in order; the ones Telegram refused are returned, not raised."""
    for callback_id in replies.callback_ids:
        await _answer_callback(bot, callback_id)
    failures = []
    for reply in replies.items:
        failure = await _send(bot, reply)
        if failure is not None:
            failures.append(failure)
            if failure.blocked:
                break
    for action in replies.after_commit:
        try:
            await action()
        except Exception:
            # A failing relay must not cost the fan their replies or stop the bot.
            logger.exception("after-commit action failed")
    return failures


async def _answer_callback(bot: Bot, callback_id: str) -> None:
    try:
        await bot.answer_callback_query(callback_id)
    except (TelegramBadRequest, TelegramNetworkError, TelegramServerError) as error:
        # An old or already answered query: nothing the fan would notice.
        logger.debug("callback %s not answered: %s", callback_id, error)


def keyboard(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return _keyboard(tuple(tuple(row) for row in buttons))


class SharedKeyboard(InlineKeyboardMarkup):
    """A keyboard built once and sent with many replies (`keyboard`).

    aiogram's keyboards may be changed after they are built; this one is frozen, so one
    object can go out in many messages, and the session (bot.session) may prepare its
    request form once for all of them.
    """

    model_config = ConfigDict(frozen=True)


@functools.lru_cache(maxsize=KEYBOARDS_KEPT)
def _keyboard(rows: tuple[tuple[tuple[str, str], ...], ...]) -> SharedKeyboard:
    # Most fans at a step see the same buttons: building the (validated) objects again
    # for every reply cost about 4 % of an inbound update.
    return SharedKeyboard(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


class SentMessage(TelegramObject):
    """What Rapport reads back of a message it sent: its id, nothing else."""

    model_config = ConfigDict(extra="ignore")

    message_id: int


class SendText(SendMessage):
    """sendMessage, reading back only the message id.

    Telegram answers with the whole message (chat, sender, the keyboard again), and
    validating it into aiogram's Message cost about a fifth of a reply's send (CPU, against
    the sandbox); neither the replies nor the outbox read more than the id.
    """

    __returning__ = SentMessage  # type: ignore[assignment]


async def send_text(bot: Bot, chat_id: int, text: str, buttons: Buttons) -> int:
    """Send a text with its buttons; the id of the sent message."""
    markup = keyboard(buttons)
    # The bot's own session sends a text without aiogram's method and response objects.
    send_message_id = getattr(bot.session, "send_message_id", None)
    if send_message_id is not None:
        return cast(int, await send_message_id(bot, chat_id, text, markup))
    sent = await bot(SendText(chat_id=chat_id, text=text, reply_markup=markup))
    return cast(SentMessage, sent).message_id


async def _send(bot: Bot, reply: Reply) -> DeliveryFailure | None:
    document = reply.document
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        try:
            if document is not None:
                name, content = document
                await bot.send_document(reply.chat_id, BufferedInputFile(content, name))
                document = None  # not again when the text is retried
            await send_text(bot, reply.chat_id, reply.text, reply.buttons)
            return None
        except TelegramForbiddenError as error:
            return DeliveryFailure(reply, error.message, blocked=True)
        except TelegramBadRequest as error:
            logger.warning("reply to fan %s refused: %s", reply.fan_id, error.message)
            return DeliveryFailure(reply, error.message, blocked=False)
        except TelegramRetryAfter as error:
            if error.retry_after > MAX_REPLY_RETRY_AFTER or attempt == MAX_SEND_ATTEMPTS:
                return DeliveryFailure(reply, error.message, blocked=False)
            await asyncio.sleep(error.retry_after)
        except (TelegramNetworkError, TelegramServerError) as error:
            if attempt == MAX_SEND_ATTEMPTS:
                logger.warning("reply to fan %s not sent: %s", reply.fan_id, error)
                return DeliveryFailure(reply, str(error), blocked=False)
            await asyncio.sleep(0.5 * attempt)
    return None

"""/console: an admin or staff member asks the bot for a one-time console login link.

Anyone else's /console is left to the other routers (the conversation answers it).
"""

from datetime import datetime
from typing import Protocol

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import OnLoop
from handlers.replies import Replies, Reply
from storage.models import ConsoleRole, Fan


class ConsoleLinks(Protocol):
    """What the bot's wiring puts in the workflow data as `console_links`."""

    @property
    def ttl_minutes(self) -> int: ...

    def role_of(self, user_id: int) -> ConsoleRole | None: ...

    async def issue(
        self, session: AsyncSession, role: ConsoleRole, user_id: int | None, now: datetime
    ) -> str: ...


def create_router() -> Router:
    router = Router(name="console")
    router.message.register(
        on_console, Command("console"), OnLoop(F.chat.type == ChatType.PRIVATE), is_console_user
    )
    return router


async def is_console_user(message: Message, console_links: ConsoleLinks | None = None) -> bool:
    user = message.from_user
    return console_links is not None and user is not None and bool(console_links.role_of(user.id))


async def on_console(
    message: Message,
    fan: Fan | None,
    session: AsyncSession,
    replies: Replies,
    now: datetime,
    console_links: ConsoleLinks,
) -> None:
    user = message.from_user
    role = console_links.role_of(user.id) if user is not None else None
    if fan is None or user is None or role is None:
        return
    link = await console_links.issue(session, role, user.id, now)
    text = (
        f"Your {role} login link for the console. It works once, "
        f"for {console_links.ttl_minutes} minutes:\n{link}"
    )
    # Off the timeline: the link is a credential until it is used.
    await replies.add(session, Reply(fan.id, message.chat.id, text), now, on_timeline=False)

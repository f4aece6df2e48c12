"""Fans: looked up by their Telegram identity, created on first contact."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fan, FanStatus


@dataclass(frozen=True)
class TelegramIdentity:
    """What Telegram tells us about a user with each update."""

    user_id: int
    first_name: str | None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


async def get_by_telegram_id(session: AsyncSession, user_id: int) -> Fan | None:
    result = await session.execute(select(Fan).where(Fan.telegram_user_id == user_id))
    return result.scalar_one_or_none()


async def get(session: AsyncSession, fan_id: int) -> Fan | None:
    return await session.get(Fan, fan_id)


async def load_or_create(
    session: AsyncSession, identity: TelegramIdentity, chat_id: int | None, now: datetime
) -> tuple[Fan, bool]:
    """The fan for this Telegram user, their profile refreshed; True if they are new."""
    fan = await get_by_telegram_id(session, identity.user_id)
    if fan is None:
        fan = Fan(
            telegram_user_id=identity.user_id,
            chat_id=chat_id,
            status=FanStatus.ACTIVE,
            joined_at=now,
            conversation={},
        )
        _refresh_identity(fan, identity, now)
        session.add(fan)
        await session.flush()
        return fan, True
    _refresh_identity(fan, identity, now)
    if chat_id is not None:
        fan.chat_id = chat_id
    return fan, False


def set_status(fan: Fan, status: FanStatus, now: datetime) -> bool:
    """Change the fan's status; False if it already was that."""
    if fan.status == status:
        return False
    fan.status = status
    fan.status_changed_at = now
    return True


def _refresh_identity(fan: Fan, identity: TelegramIdentity, now: datetime) -> None:
    fan.first_name = identity.first_name
    fan.last_name = identity.last_name
    fan.username = identity.username
    fan.telegram_language = identity.language_code
    fan.last_seen_at = now

"""Object factories for tests: fans, Telegram users and updates."""

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fan
from storage.repositories import fans
from storage.repositories.fans import TelegramIdentity

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1000)


def make_identity(**overrides: Any) -> TelegramIdentity:
    user_id = overrides.pop("user_id", next(_ids))
    values: dict[str, Any] = {
        "user_id": user_id,
        "first_name": f"Fan{user_id}",
        "language_code": "en",
    }
    values.update(overrides)
    return TelegramIdentity(**values)


async def make_fan(session: AsyncSession, now: datetime = NOW, **overrides: Any) -> Fan:
    identity = make_identity(**overrides)
    fan, _ = await fans.load_or_create(session, identity, identity.user_id, now)
    return fan


def make_message_update(update_id: int, user_id: int, text: str = "hi") -> dict[str, Any]:
    """A private-chat text message update as Telegram sends it."""
    user = {"id": user_id, "is_bot": False, "first_name": f"Fan{user_id}", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(NOW.timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        },
    }

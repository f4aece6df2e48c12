"""One-time login links: who may get one, and the link itself."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleRole
from storage.repositories import console_auth

LOGIN_PATH = "/login/"


@dataclass(frozen=True)
class LoginLinks:
    base_url: str  # including the console's prefix
    ttl: timedelta
    admin_ids: frozenset[int] = frozenset()
    staff_ids: frozenset[int] = frozenset()

    @property
    def ttl_minutes(self) -> int:
        return int(self.ttl.total_seconds() // 60)

    def role_of(self, user_id: int) -> ConsoleRole | None:
        """The console role of a Telegram user, None for everyone else."""
        if user_id in self.admin_ids:
            return ConsoleRole.ADMIN
        if user_id in self.staff_ids:
            return ConsoleRole.STAFF
        return None

    async def issue(
        self, session: AsyncSession, role: ConsoleRole, user_id: int | None, now: datetime
    ) -> str:
        """A fresh link (stored hashed in the caller's transaction)."""
        token = await console_auth.create_login_link(session, role, user_id, now, self.ttl)
        return self.base_url.rstrip("/") + LOGIN_PATH + token

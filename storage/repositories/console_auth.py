"""Console access: one-time login links and browser sessions, stored as token hashes.

A leaked database gives no way in: only SHA-256 hashes of the tokens are kept, and the
tokens themselves are long random strings (a hash needs no salt for those).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleLoginLink, ConsoleRole, ConsoleSession

TOKEN_BYTES = 32


@dataclass(frozen=True)
class Grant:
    """Who a redeemed link or a live session stands for."""

    role: ConsoleRole
    user_id: int | None


@dataclass(frozen=True)
class LiveSession:
    id: int
    grant: Grant
    csrf_token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_login_link(
    session: AsyncSession, role: ConsoleRole, user_id: int | None, now: datetime, ttl: timedelta
) -> str:
    """A new login link's token (shown once, never stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ConsoleLoginLink(
            token_hash=hash_token(token),
            role=role,
            user_id=user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def redeem_login_link(session: AsyncSession, token: str, now: datetime) -> Grant | None:
    """Use a link once: None if it is unknown, used already or expired."""
    # One UPDATE decides, so two browsers racing with the same link cannot both get in.
    result = await session.execute(
        update(ConsoleLoginLink)
        .where(
            ConsoleLoginLink.token_hash == hash_token(token),
            ConsoleLoginLink.used_at.is_(None),
            ConsoleLoginLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(ConsoleLoginLink.role, ConsoleLoginLink.user_id)
    )
    row = result.first()
    return None if row is None else Grant(ConsoleRole(row.role), row.user_id)


async def create_session(
    session: AsyncSession, grant: Grant, now: datetime, ttl: timedelta
) -> str:
    """A new browser session; returns the cookie's token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ConsoleSession(
            token_hash=hash_token(token),
            role=grant.role,
            user_id=grant.user_id,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def live_session(session: AsyncSession, token: str, now: datetime) -> LiveSession | None:
    result = await session.execute(
        select(ConsoleSession).where(
            ConsoleSession.token_hash == hash_token(token), ConsoleSession.expires_at > now
        )
    )
    row = result.scalar_one_or_none()
    if row is None:
        return None
    return LiveSession(row.id, Grant(ConsoleRole(row.role), row.user_id), row.csrf_token)


async def end_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))


async def prune(session: AsyncSession, now: datetime) -> int:
    """Forget expired sessions and links (called now and then; they are refused anyway)."""
    removed = 0
    for model in (ConsoleSession, ConsoleLoginLink):
        result = await session.execute(delete(model).where(model.expires_at <= now))
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed

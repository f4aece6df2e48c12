"""A fan's consent per purpose, with the proof of how it was given or refused."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent


async def record(
    session: AsyncSession,
    fan_id: int,
    purpose: str,
    *,
    granted: bool,
    proof: dict[str, Any],
    now: datetime,
) -> Consent:
    consent = await session.get(Consent, (fan_id, purpose))
    if consent is None:
        consent = Consent(fan_id=fan_id, purpose=purpose)
        session.add(consent)
    consent.granted = granted
    consent.proof = {**proof, "at": now.isoformat()}
    consent.updated_at = now
    await session.flush()
    return consent


async def granted_purposes(session: AsyncSession, fan_id: int) -> frozenset[str]:
    result = await session.execute(
        select(Consent.purpose).where(Consent.fan_id == fan_id, Consent.granted.is_(True))
    )
    return frozenset(result.scalars())

"""The rules' firing history, read back for the CLI and the console."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RuleFiring


@dataclass(frozen=True)
class FiringSummary:
    count: int
    last_fired_at: datetime | None


async def summary(session: AsyncSession) -> dict[str, FiringSummary]:
    """Per rule name: how many firings, and the latest."""
    result = await session.execute(
        select(RuleFiring.rule, func.count(), func.max(RuleFiring.fired_at)).group_by(
            RuleFiring.rule
        )
    )
    return {rule: FiringSummary(int(count), last) for rule, count, last in result}

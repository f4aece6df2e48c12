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
    return {rule: FiringSummary(int(count), _aware(last)) for rule, count, last in result}


async def of_fan(session: AsyncSession, fan_id: int, rule: str) -> list[RuleFiring]:
    result = await session.execute(
        select(RuleFiring)
        .where(RuleFiring.fan_id == fan_id, RuleFiring.rule == rule)
        .order_by(RuleFiring.fired_at, RuleFiring.id)
    )
    return list(result.scalars())


def _aware(value: datetime | None) -> datetime | None:
    """func.max() loses the column type on SQLite: the value may come back naive (UTC)."""
    if value is None or not isinstance(value, datetime):
        return None
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

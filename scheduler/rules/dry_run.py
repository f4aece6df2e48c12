"""`rapport rules dry-run NAME`: who matches a rule now, and when their send would land.

Nothing is written. For a sample of the matching fans, the send is simulated through the
contact policy (`scheduler.policy.decide`) at now + the rule's delay, stepping through each
postponement (quiet hours on the fan's clock, caps, a conversation in progress) until the
policy says send or skip.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from dialogs.conditions import condition_to_data, parse_condition
from dialogs.rule_model import Rule
from scheduler import policy
from storage import segments
from storage.models import Consent, Fan
from storage.repositories import outbox

__all__ = ["DryRun", "Landing", "dry_run"]

MAX_POSTPONEMENTS = 14  # a send postponed this often is reported as not landing


@dataclass(frozen=True)
class Landing:
    fan_id: int
    name: str
    timezone: str | None
    lands_at: datetime | None  # None: skipped (see `outcome`) or postponed for too long
    outcome: str  # "send", or the skip reason
    postponed: tuple[str, ...]  # each postponement's reason, in order


@dataclass(frozen=True)
class DryRun:
    rule: str
    matching: int
    sample: list[Landing]


async def dry_run(
    session: AsyncSession, brand: CompiledBrand, rule: Rule, now: datetime, sample: int = 10
) -> DryRun:
    active = {"status": "active"}
    wanted = {"all": [active, condition_to_data(rule.condition)]} if rule.condition else active
    count, fans = await segments.count_and_sample(session, parse_condition(wanted), now, sample)
    landings = [await _landing(session, brand, rule, fan, now) for fan in fans]
    return DryRun(rule.name, count, landings)


async def _landing(
    session: AsyncSession, brand: CompiledBrand, rule: Rule, fan: Fan, now: datetime
) -> Landing:
    consents = frozenset(
        (
            await session.execute(
                select(Consent.purpose).where(Consent.fan_id == fan.id, Consent.granted.is_(True))
            )
        ).scalars()
    )
    at = now + rule.delay
    postponed: list[str] = []
    for _ in range(MAX_POSTPONEMENTS):
        day = await outbox.sent_since(session, [fan.id], at - timedelta(days=1))
        week = await outbox.sent_since(session, [fan.id], at - timedelta(days=7))
        facts = policy.FanFacts(
            status=fan.status,
            consents=consents,
            timezone=fan.timezone,
            last_message_at=fan.last_message_at,
            sent_last_day=day.get(fan.id, 0),
            sent_last_week=week.get(fan.id, 0),
        )
        decision = policy.decide(
            facts, purpose=rule.purpose, priority=rule.priority, brand=brand.settings, now=at
        )
        if decision.verdict == policy.Verdict.SEND:
            return Landing(fan.id, _name(fan), fan.timezone, at, "send", tuple(postponed))
        if decision.verdict != policy.Verdict.POSTPONE or decision.until is None:
            reason = decision.reason or str(decision.verdict)
            return Landing(fan.id, _name(fan), fan.timezone, None, reason, tuple(postponed))
        postponed.append(decision.reason or "postponed")
        at = decision.until
    return Landing(fan.id, _name(fan), fan.timezone, None, "postponed_too_often", tuple(postponed))


def _name(fan: Fan) -> str:
    return " ".join(part for part in (fan.first_name, fan.last_name) if part) or f"fan {fan.id}"

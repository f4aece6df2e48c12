"""Event triggers, evaluated inside the transaction of the inbound update that caused them.

The adapter collects the update's facts (`facts_of`); every enabled event rule whose
trigger is among them fires for this one fan, through the same SQL as the scheduled rules,
so its condition sees the tags, fields and keyword hits the update just wrote.

Each firing runs in a SAVEPOINT: a rule that fails in the database is rolled back alone,
logged and counted, and the fan's update (and the other rules) still commit.
"""

import logging
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime

from sqlalchemy import literal
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from dialogs.rule_model import EventTrigger
from scheduler.rules.facts import TriggerFacts
from scheduler.rules.firing import fire
from storage.models import Fan

__all__ = ["failed_counts", "fired_counts", "guarded", "on_inbound"]

logger = logging.getLogger(__name__)

# Firings, and firings that failed in the database, by rule name since start (for
# `doctor` and the console).
fired_counts: Counter[str] = Counter()
failed_counts: Counter[str] = Counter()


async def guarded(session: AsyncSession, rule: str, firing: Awaitable[int]) -> int:
    """Run one rule's firing in a SAVEPOINT; a database error skips that rule only."""
    try:
        async with session.begin_nested():
            count = await firing
    except SQLAlchemyError as error:
        failed_counts[rule] += 1
        logger.error("rule %s failed and was skipped: %s", rule, error)
        return 0
    if count:
        fired_counts[rule] += count
    return count


async def on_inbound(
    session: AsyncSession, brand: CompiledBrand, fan_id: int, facts: TriggerFacts, now: datetime
) -> int:
    """Fire the event rules the facts trigger for this fan; how many fired. Never commits."""
    if not facts:
        return 0
    fired = 0
    for rule in brand.rules.values():
        if not rule.enabled or not isinstance(rule.trigger, EventTrigger):
            continue
        if not facts.matches(rule.trigger):
            continue
        firing = fire(
            session,
            brand,
            rule,
            fans=Fan.id == fan_id,
            occurrence=literal(facts.occurrence),
            due_at=now + rule.delay,
            now=now,
        )
        count = await guarded(session, rule.name, firing)
        if count:
            logger.debug("rule %s fired for fan %s", rule.name, fan_id)
        fired += count
    return fired

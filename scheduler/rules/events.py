"""Event triggers, evaluated inside the transaction of the inbound update that caused them.

The adapter collects the update's facts (`facts_of`); every enabled event rule whose
trigger is among them fires for this one fan, through the same SQL as the scheduled rules,
so its condition sees the tags, fields and keyword hits the update just wrote.

Each firing runs in a SAVEPOINT: a rule that fails in the database is rolled back alone,
logged and counted, and the fan's update (and the other rules) still commit. A queue made
with `guard=False` fires without them (two round trips fewer per rule): a failing rule
then fails the whole transaction, for a caller that can redo its work guarded (the
processor's group, whose updates are then handled one by one).

The processor handles a group of updates (of different fans) in one transaction and
collects their triggers in an `EventRuleQueue`: before the commit each rule fires once for
all the group's fans it matches, one statement for the group instead of one per update
(the inbound benchmark's profile showed the per-update firings to be a third of an
update's cost). A fan's conditions only read that fan's rows, so firing after the other
fans' updates changes nothing they see.
"""

import logging
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import literal
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import CompiledBrand
from dialogs.rule_model import EventTrigger
from scheduler.rules.facts import TriggerFacts
from scheduler.rules.firing import fire
from storage.id_lists import in_ids
from storage.models import Fan

__all__ = ["EventRuleQueue", "failed_counts", "fired_counts", "guarded", "on_inbound"]

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
    return _counted(rule, count)


def _counted(rule: str, count: int) -> int:
    """Count a rule's firings (for `doctor` and the console); `count` again."""
    if count:
        fired_counts[rule] += count
    return count


@dataclass
class _Triggered:
    brand: CompiledBrand
    fan_id: int
    facts: TriggerFacts
    now: datetime


@dataclass
class EventRuleQueue:
    """Triggers of one transaction's updates, waiting to be fired together before it commits."""

    # False: no SAVEPOINT per firing; a failing rule fails the caller's transaction.
    guard: bool = True
    _waiting: list[_Triggered] = field(default_factory=list)

    def add(self, brand: CompiledBrand, fan_id: int, facts: TriggerFacts, now: datetime) -> None:
        if facts:
            self._waiting.append(_Triggered(brand, fan_id, facts, now))

    async def fire(self, session: AsyncSession) -> int:
        """Fire every rule the waiting triggers match; how many fired. Never commits."""
        waiting, self._waiting = self._waiting, []
        by_brand: dict[int, list[_Triggered]] = {}
        for triggered in waiting:
            by_brand.setdefault(id(triggered.brand), []).append(triggered)
        fired = 0
        for group in by_brand.values():
            fired += await _fire_rules(session, group[0].brand, group, guard=self.guard)
        return fired


async def on_inbound(
    session: AsyncSession, brand: CompiledBrand, fan_id: int, facts: TriggerFacts, now: datetime
) -> int:
    """Fire the event rules the facts trigger for this fan; how many fired. Never commits."""
    queue = EventRuleQueue()
    queue.add(brand, fan_id, facts, now)
    return await queue.fire(session)


async def _fire_rules(
    session: AsyncSession, brand: CompiledBrand, waiting: list[_Triggered], *, guard: bool
) -> int:
    """Each enabled event rule of `brand`, in order, once per update moment it matches."""
    fired = 0
    for rule in brand.rules.values():
        if not rule.enabled or not isinstance(rule.trigger, EventTrigger):
            continue
        # Fans by occurrence: the updates of one group share it (their moment).
        matched: dict[tuple[str, datetime], list[int]] = {}
        for triggered in waiting:
            if triggered.facts.matches(rule.trigger):
                key = (triggered.facts.occurrence, triggered.now)
                matched.setdefault(key, []).append(triggered.fan_id)
        for (occurrence, now), fan_ids in matched.items():
            firing = fire(
                session,
                brand,
                rule,
                fans=Fan.id == fan_ids[0] if len(fan_ids) == 1 else in_ids(Fan.id, fan_ids),
                occurrence=literal(occurrence),
                due_at=now + rule.delay,
                now=now,
            )
            if guard:
                count = await guarded(session, rule.name, firing)
            else:
                count = _counted(rule.name, await firing)
            if count:
                logger.debug("rule %s fired for %s of %s fans", rule.name, count, len(fan_ids))
            fired += count
    return fired

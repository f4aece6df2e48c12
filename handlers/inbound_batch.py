"""Work a group of inbound updates shares, done once for the group instead of once each.

The processor handles updates of different fans in one transaction (bot.processor). The
handlers run one update after another, and what every update would otherwise write or
read on its own, with a round trip each, is collected here and done together before the
commit:

- the fans' facts and fields, read for the whole group before the first update
  (`preload`) and taken by each fan's first engine run (`take_profile`). A profile only
  serves the fan's first update of the group, and none serves after an update from the
  staff chat (which may have tagged or opted out any fan): what an earlier update wrote
  is not in it;
- what each fan sent goes on the timeline when the group is written: a fan's message is
  deferred (storage.repositories.events.defer: no ORM object, one INSERT for the group,
  written before any later flush), a command or button is added to the session without
  a flush (a flush per update was a round trip for the event's id alone), and the
  keyword hits that point at them wait here for the ids;
- the event rules the updates trigger, fired once per rule for all the group's fans
  (scheduler.rules.events.EventRuleQueue), after the hits they may ask about. The
  processor's group fires them without a SAVEPOINT each: a failing rule fails the group,
  which is then handled update by update with every rule guarded.

Only a fan's own rows are read or written for that fan, so doing a fan's part after the
other fans' updates changes nothing anyone sees.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.rules.events import EventRuleQueue
from storage.models import FanField
from storage.repositories import events, fan_facts, fields, keywords


@dataclass(frozen=True)
class Profile:
    """A fan's facts and fields as the database holds them."""

    facts: fan_facts.FanFacts
    fields: dict[str, FanField]


async def load_profiles(session: AsyncSession, fan_ids: Collection[int]) -> dict[int, Profile]:
    """The profiles of many fans by fan id: one query for their facts, one for their fields."""
    facts = await fan_facts.of_fans(session, fan_ids)
    found = await fields.of_fans(session, fan_ids)
    return {fan_id: Profile(facts[fan_id], found[fan_id]) for fan_id in fan_ids}


@dataclass
class _Hits:
    fan_id: int
    event: events.Recorded | None
    keywords: list[str]
    now: datetime


@dataclass
class InboundBatch:
    event_rules: EventRuleQueue = field(default_factory=EventRuleQueue)
    _profiles: dict[int, Profile] = field(default_factory=dict)
    _hits: list[_Hits] = field(default_factory=list)
    _arrived: set[int] = field(default_factory=set)

    async def preload(self, session: AsyncSession, fan_ids: Collection[int]) -> None:
        """Read the facts and fields of these fans: two statements for the group."""
        if fan_ids:
            self._profiles.update(await load_profiles(session, fan_ids))

    def take_profile(self, fan_id: int) -> Profile | None:
        """The fan's preloaded profile, once: after an engine run it may be out of date."""
        return self._profiles.pop(fan_id, None)

    def forget_profile(self, fan_id: int) -> None:
        """Something changed the fan's facts or fields: the preloaded profile is stale."""
        self._profiles.pop(fan_id, None)

    def fan_arrived(self, fan_id: int) -> None:
        """An update of this fan starts; from its second on, the profile may be stale."""
        if fan_id in self._arrived:
            self.forget_profile(fan_id)
        self._arrived.add(fan_id)

    def others_arrived(self) -> None:
        """An update not from a fan (the staff chat) starts: it may change any fan."""
        self._profiles.clear()

    def keyword_hits(
        self, fan_id: int, event: events.Recorded | None, hits: Iterable[str], now: datetime
    ) -> None:
        """Hits of the message `event` (not flushed yet), written once it has its id."""
        found = list(hits)
        if found:
            self._hits.append(_Hits(fan_id, event, found, now))

    async def write(self, session: AsyncSession) -> int:
        """Write what waits: the timelines (a flush), the hits, then the rules; how many
        rules fired. Never commits."""
        await session.flush()  # the group's events, with their ids
        await events.write_deferred(session)  # if the flush had nothing of its own to write
        waiting, self._hits = self._hits, []
        await keywords.record_many(
            session,
            [
                (hits.fan_id, hits.event.id if hits.event else None, hits.keywords, hits.now)
                for hits in waiting
            ],
        )
        return await self.event_rules.fire(session)

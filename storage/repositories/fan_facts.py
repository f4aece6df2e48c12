"""What the dialog engine needs to know about fans, in one round trip for any number of them.

Tags, granted consents and the first and latest campaign origin come back as one
UNION ALL of (kind, fan, name) rows instead of one query each: on every inbound message
each round trip costs more than the rows it returns, and the outbox sender asks for a
whole batch of fans at once.
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.id_lists import in_id_list
from storage.models import Consent, FanOrigin, FanTag, Origin, Tag


@dataclass(frozen=True)
class FanFacts:
    tags: frozenset[str]
    consents: frozenset[str]
    first_origin: str | None
    latest_origin: str | None


async def of_fan(session: AsyncSession, fan_id: int) -> FanFacts:
    return (await of_fans(session, [fan_id]))[fan_id]


def _facts_statement() -> CompoundSelect[str, int, str]:
    first_touches = select(func.min(FanOrigin.id)).where(in_id_list(FanOrigin.fan_id, "fan_ids"))
    latest_touches = select(func.max(FanOrigin.id)).where(in_id_list(FanOrigin.fan_id, "fan_ids"))
    return union_all(
        select(literal("tag").label("kind"), FanTag.fan_id, Tag.name.label("name"))
        .join(Tag, FanTag.tag_id == Tag.id)
        .where(in_id_list(FanTag.fan_id, "fan_ids")),
        select(literal("consent"), Consent.fan_id, Consent.purpose).where(
            in_id_list(Consent.fan_id, "fan_ids"), Consent.granted.is_(True)
        ),
        _touch("first", first_touches.group_by(FanOrigin.fan_id)),
        _touch("latest", latest_touches.group_by(FanOrigin.fan_id)),
    )


async def of_fans(session: AsyncSession, fan_ids: Collection[int]) -> dict[int, FanFacts]:
    """The facts of every fan asked for (empty ones for a fan with none), in one query."""
    ids = list(fan_ids)
    found: dict[int, dict[str, list[str]]] = {
        fan_id: {"tag": [], "consent": [], "first": [], "latest": []} for fan_id in ids
    }
    for kind, fan_id, name in await session.execute(_FACTS_OF_FANS, {"fan_ids": ids}):
        found[fan_id][kind].append(name)
    return {fan_id: _facts(lists) for fan_id, lists in found.items()}


def _touch(kind: str, touch_ids: Select[int]) -> Select[str, int, str]:
    """The origin code of the touches whose ids `touch_ids` selects (one per fan)."""
    return (
        select(literal(kind), FanOrigin.fan_id, Origin.code)
        .join(Origin, FanOrigin.origin_id == Origin.id)
        .where(FanOrigin.id.in_(touch_ids))
    )


# Built once: on every inbound update, building this statement cost more than running it.
_FACTS_OF_FANS = _facts_statement()


def _facts(found: dict[str, list[str]]) -> FanFacts:
    return FanFacts(
        tags=frozenset(found["tag"]),
        consents=frozenset(found["consent"]),
        first_origin=found["first"][0] if found["first"] else None,
        latest_origin=found["latest"][0] if found["latest"] else None,
    )

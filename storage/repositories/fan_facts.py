"""What the dialog engine needs to know about a fan, in one round trip per update.

Tags, granted consents and the first and latest campaign origin come back as one
UNION ALL of (kind, name) rows instead of one query each: on every inbound message each
round trip costs more than the rows it returns.
"""

from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Integer, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent, FanOrigin, FanTag, Origin, Tag


@dataclass(frozen=True)
class FanFacts:
    tags: frozenset[str]
    consents: frozenset[str]
    first_origin: str | None
    latest_origin: str | None


def _facts_statement() -> CompoundSelect[str, str | None]:
    fan_id = bindparam("fan_id", type_=Integer)
    touches = (
        select(Origin.code)
        .join(FanOrigin, FanOrigin.origin_id == Origin.id)
        .where(FanOrigin.fan_id == fan_id)
    )
    return union_all(
        select(literal("tag").label("kind"), Tag.name.label("name"))
        .join(FanTag, FanTag.tag_id == Tag.id)
        .where(FanTag.fan_id == fan_id),
        select(literal("consent"), Consent.purpose).where(
            Consent.fan_id == fan_id, Consent.granted.is_(True)
        ),
        select(literal("first"), touches.order_by(FanOrigin.id).limit(1).scalar_subquery()),
        select(
            literal("latest"), touches.order_by(FanOrigin.id.desc()).limit(1).scalar_subquery()
        ),
    )


# Built once: on every inbound update, building this statement cost more than running it.
_FACTS_OF_FAN = _facts_statement()


async def of_fan(session: AsyncSession, fan_id: int) -> FanFacts:
    found: dict[str, list[str]] = {"tag": [], "consent": [], "first": [], "latest": []}
    for kind, name in await session.execute(_FACTS_OF_FAN, {"fan_id": fan_id}):
        if name is not None:
            found[kind].append(name)
    return FanFacts(
        tags=frozenset(found["tag"]),
        consents=frozenset(found["consent"]),
        first_origin=found["first"][0] if found["first"] else None,
        latest_origin=found["latest"][0] if found["latest"] else None,
    )

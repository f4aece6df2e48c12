"""The dialog engine's facts about a fan come from one query; they must be the same facts."""

from datetime import timedelta

from storage.database import Database
from storage.models import TagSource
from storage.repositories import consents, fan_facts, origins, tags
from tests.factories import NOW, make_fan


async def test_facts_of_a_fan_with_nothing_yet(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        facts = await fan_facts.of_fan(session, fan.id)
    assert facts == fan_facts.FanFacts(frozenset(), frozenset(), None, None)


async def test_facts_hold_tags_granted_consents_and_first_and_latest_origin(
    database: Database,
) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        other = await make_fan(session)
        for code, at in (("spring", NOW), ("summer", NOW + timedelta(days=1))):
            origin = await origins.get_or_create(session, code, NOW)
            await origins.record_touch(session, fan.id, origin.id, at)
        await origins.record_touch(session, other.id, origin.id, NOW)
        await tags.add(session, fan.id, "vip", TagSource.STAFF, NOW)
        await tags.add(session, other.id, "customer", TagSource.STAFF, NOW)
        await consents.record(session, fan.id, "daily", granted=True, proof={}, now=NOW)
        await consents.record(session, fan.id, "offers", granted=False, proof={}, now=NOW)
        facts = await fan_facts.of_fan(session, fan.id)
    assert facts.tags == {"vip"}
    assert facts.consents == {"daily"}
    assert (facts.first_origin, facts.latest_origin) == ("spring", "summer")

"""Tagging a fan: one statement when the tag exists, the tag created when it is new, and
the first source kept when the fan has the tag already."""

from datetime import timedelta

from storage.database import Database
from storage.models import TagSource
from storage.repositories import tags
from tests.factories import NOW, make_fan


async def test_a_new_tag_an_existing_tag_and_a_tag_the_fan_has(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        other = await make_fan(session)
        assert await tags.add(session, fan.id, "vip", TagSource.STAFF, NOW, detail="ana")
        assert await tags.add(session, other.id, "vip", TagSource.RULE, NOW)
        later = NOW + timedelta(days=1)
        assert not await tags.add(session, fan.id, "vip", TagSource.KEYWORD, later)
        await session.commit()

        [(name, fan_tag)] = await tags.of_fan(session, fan.id)
        assert (name, fan_tag.source, fan_tag.source_detail) == ("vip", "staff", "ana")
        assert fan_tag.created_at == NOW
        [(_, other_tag)] = await tags.of_fan(session, other.id)
        assert (other_tag.source, other_tag.source_detail) == ("rule", None)
        assert await tags.tag_id(session, "vip") == fan_tag.tag_id == other_tag.tag_id

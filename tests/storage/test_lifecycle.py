"""A fan's life: /start with and without a campaign, opting out and in, blocking."""

from datetime import timedelta

from sqlalchemy import func, select

from storage import lifecycle
from storage.database import Database
from storage.models import Event, EventKind, FanStatus, TagSource
from storage.repositories import events, origins, tags
from storage.repositories.origins import CampaignSpec
from tests.factories import NOW, make_fan

SPRING = CampaignSpec(code="spring_gift", name="Spring giveaway", tags=("giveaway", "spring"))


async def _kinds(database: Database, fan_id: int) -> list[str]:
    async with database.session() as session:
        return [event.kind for event in await events.timeline(session, fan_id)]


async def test_start_via_campaign_records_origin_tags_and_join_once(database: Database) -> None:
    async with database.session() as session:
        await origins.sync_campaigns(session, [SPRING], NOW)
        fan = await make_fan(session)
        first = await lifecycle.start(session, fan, "spring_gift", NOW)
        again = await lifecycle.start(session, fan, "spring_gift", NOW + timedelta(days=1))
        await session.commit()

        assert first.first_join
        assert first.origin is not None
        assert first.origin.known
        assert not again.first_join
        touches = await origins.touches_of(session, fan.id)
        assert [(t.is_first, o.code) for t, o in touches] == [
            (True, "spring_gift"),
            (False, "spring_gift"),
        ]
        fan_tags = await tags.of_fan(session, fan.id)
        assert [(name, t.source, t.source_detail) for name, t in fan_tags] == [
            ("giveaway", TagSource.ORIGIN, "spring_gift"),
            ("spring", TagSource.ORIGIN, "spring_gift"),
        ]
    assert (await _kinds(database, fan.id)).count(EventKind.JOINED) == 1


async def test_unknown_code_becomes_an_unknown_origin(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        outcome = await lifecycle.start(session, fan, "tiktok_2026", NOW)
        await session.commit()
    assert outcome.origin is not None
    assert (outcome.origin.code, outcome.origin.known) == ("tiktok_2026", False)


async def test_invalid_payload_is_recorded_not_raised(database: Database) -> None:
    payload = "spring gift!<script>" + "x" * 500
    async with database.session() as session:
        fan = await make_fan(session)
        outcome = await lifecycle.start(session, fan, payload, NOW)
        await session.commit()
        invalid = (
            await session.execute(select(Event).where(Event.kind == EventKind.INVALID_ORIGIN))
        ).scalar_one()
    assert outcome.invalid_payload
    assert outcome.origin is None
    assert invalid.data["payload"] == payload[: lifecycle.INVALID_PAYLOAD_KEPT]
    assert outcome.first_join


async def test_opt_out_then_start_opts_back_in(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        assert await lifecycle.opt_out(session, fan, NOW, via="/stop")
        assert not await lifecycle.opt_out(session, fan, NOW, via="/stop")
        assert fan.status == FanStatus.OPTED_OUT
        outcome = await lifecycle.start(session, fan, None, NOW)
        await session.commit()
    assert outcome.opted_back_in
    assert fan.status == FanStatus.ACTIVE
    assert await _kinds(database, fan.id) == [
        EventKind.OPTED_OUT,
        EventKind.JOINED,
        EventKind.OPTED_IN,
    ]


async def test_unblock_restores_an_opt_out(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        await lifecycle.opt_out(session, fan, NOW, via="/stop")
        assert await lifecycle.blocked(session, fan, NOW)
        assert fan.status == FanStatus.BLOCKED
        assert await lifecycle.unblocked(session, fan, NOW)
        assert fan.status == FanStatus.OPTED_OUT
        assert not await lifecycle.unblocked(session, fan, NOW)
        await session.commit()


async def test_campaign_sync_updates_in_place(database: Database) -> None:
    async with database.session() as session:
        await origins.sync_campaigns(session, [SPRING], NOW)
        renamed = CampaignSpec(code="spring_gift", name="Spring 2026", tags=("spring",))
        await origins.sync_campaigns(session, [renamed], NOW)
        await session.commit()
        count = (await session.execute(select(func.count()).select_from(origins.Origin))).scalar()
        origin = await origins.by_code(session, "spring_gift")
    assert count == 1
    assert origin is not None
    assert (origin.name, origin.tags) == ("Spring 2026", ["spring"])

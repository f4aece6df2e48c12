"""Broadcasts: checked drafts, previews, one INSERT ... SELECT into the outbox, stats."""

import pytest
from sqlalchemy import func, select

import dialogs
from dialogs import CompiledBrand
from scheduler import broadcasts
from scheduler.broadcasts import BroadcastDraft, InvalidBroadcastError
from storage.brand_cache import BrandCache
from storage.models import Broadcast, FanStatus, OutboxMessage, TagSource
from storage.repositories import tags
from tests.scheduler.conftest import NOON_SHANGHAI as NOW
from tests.scheduler.conftest import World

TEXTS = {"en": "Hi {{ fan.first_name }}, new bags!", "zh": "{{ fan.first_name }}，新包到了！"}
BAGS = {"tag": "bags"}


async def _brand(world: World) -> CompiledBrand:
    async with world.database.session() as session:
        return await BrandCache(dialogs.compile_brand).current(session)


async def _tagged(world: World, count: int, **identity: object) -> list[int]:
    user_ids = []
    for number in range(count):
        fan, user_id = await world.fan(first_name=f"Fan{number}", **identity)
        async with world.database.session() as session:
            await tags.add(session, fan.id, "bags", TagSource.RULE, NOW)
            await session.commit()
        user_ids.append(user_id)
    return user_ids


async def test_create_reports_every_problem_and_stores_nothing(world: World) -> None:
    brand = await _brand(world)
    draft = BroadcastDraft(
        "spring",
        {"tag": "bags", "within": "3d"},
        {"zh": "{{ fan.first_nam }}", "fr": "Salut"},
        purpose="newsletters",
    )
    async with world.database.session() as session:
        with pytest.raises(InvalidBroadcastError) as raised:
            await broadcasts.create(session, brand, draft, NOW)
        count = (await session.execute(select(func.count()).select_from(Broadcast))).scalar()
    problems = raised.value.problems
    assert problems[0].startswith("condition: within: ")
    assert "text.a text in the brand's default language (en) is needed" in problems
    assert any(p.startswith("text.zh:1: ") and "first_nam" in p for p in problems)
    assert any(p.startswith("text.fr: ") for p in problems)
    assert any(p.startswith("purpose: 'newsletters'") for p in problems)
    assert count == 0


async def test_preview_counts_the_audience_and_renders_a_sample(world: World) -> None:
    brand = await _brand(world)
    await _tagged(world, 2, language="zh")
    await _tagged(world, 1, status=FanStatus.OPTED_OUT)  # never in the audience
    await _tagged(world, 1, consent=("daily",))  # no consent to offers
    await world.fan(first_name="Untagged")
    async with world.database.session() as session:
        preview = await broadcasts.preview(
            session, brand, BroadcastDraft("spring", BAGS, TEXTS), NOW, sample=1
        )
    assert preview.count == 2
    [message] = preview.sample
    assert (message.language, message.text) == ("zh", "Fan0，新包到了！")


async def test_scheduling_twice_queues_each_fan_once(world: World) -> None:
    brand = await _brand(world)
    await _tagged(world, 3)
    async with world.database.session() as session:
        broadcast = await broadcasts.create(
            session, brand, BroadcastDraft("spring", BAGS, TEXTS, priority=2), NOW
        )
        first = await broadcasts.schedule(session, broadcast.id, NOW)
        again = await broadcasts.schedule(session, broadcast.id, NOW)
        await session.commit()
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert (first, again) == (3, 0)
    assert {row.dedupe_key for row in rows} == {
        f"broadcast:{broadcast.id}:{row.fan_id}" for row in rows
    }
    row = rows[0]
    assert (row.source, row.source_ref, row.purpose, row.priority) == (
        "broadcast",
        str(broadcast.id),
        "offers",
        2,
    )
    assert row.content == {"text": TEXTS}
    assert row.recheck == BAGS
    assert row.due_at == NOW
    assert broadcast.state == "scheduled"


async def test_a_broadcast_goes_out_personalised_and_its_stats_add_up(world: World) -> None:
    brand = await _brand(world)
    user_ids = await _tagged(world, 3)
    async with world.database.session() as session:
        broadcast = await broadcasts.create(session, brand, BroadcastDraft("s", BAGS, TEXTS), NOW)
        await broadcasts.schedule(session, broadcast.id, NOW)
        await session.commit()
        before = await broadcasts.stats(session, broadcast.id)
    assert (before.pending, before.total) == (3, 3)
    await world.sender.run_batch()
    for number, user_id in enumerate(user_ids):
        [message] = await world.sandbox.wait_for_messages(user_id)
        assert message.text == f"Hi Fan{number}, new bags!"
    async with world.database.session() as session:
        after = await broadcasts.stats(session, broadcast.id)
        listed = await broadcasts.list_recent(session)
    assert (after.sent, after.pending, after.total) == (3, 0, 3)
    assert [b.id for b in listed] == [broadcast.id]


async def test_cancel_withdraws_the_rows_not_yet_sent(world: World) -> None:
    brand = await _brand(world)
    await _tagged(world, 2)
    later = NOW.replace(hour=6)
    async with world.database.session() as session:
        draft = BroadcastDraft("later", BAGS, TEXTS, scheduled_at=later)
        broadcast = await broadcasts.create(session, brand, draft, NOW)
        await broadcasts.schedule(session, broadcast.id, NOW)
        assert await broadcasts.cancel(session, broadcast.id) == 2
        await session.commit()
        result = await broadcasts.stats(session, broadcast.id)
        with pytest.raises(broadcasts.BroadcastError, match="cancelled"):
            await broadcasts.schedule(session, broadcast.id, NOW)
        with pytest.raises(broadcasts.BroadcastNotFoundError):
            await broadcasts.stats(session, 999)
    assert result.cancelled == {"broadcast_cancelled": 2}

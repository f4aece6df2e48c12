"""Retention: old message texts, keyword hits and raw updates are erased; dry run counts."""

from datetime import timedelta

from sqlalchemy import func, select

from storage.database import Database
from storage.models import Event, EventKind, InboxUpdate, KeywordHit
from storage.privacy import Retention, RetentionReport, apply_retention
from storage.repositories import events, inbox, keywords
from tests.factories import NOW, make_fan, make_message_update

OLD = NOW - timedelta(days=200)


async def _seed(database: Database) -> None:
    async with database.session() as session:
        fan = await make_fan(session)
        await events.record(session, fan.id, EventKind.MESSAGE_IN, OLD, text="old words")
        await events.record(session, fan.id, EventKind.MESSAGE_IN, NOW, text="new words")
        await events.record(session, fan.id, EventKind.JOINED, OLD)
        await keywords.record_hits(session, fan.id, ["buy"], OLD - timedelta(days=200))
        await keywords.record_hits(session, fan.id, ["bag"], NOW)
        await inbox.store(session, [make_message_update(1, 5)], OLD)
        row = await inbox.claim(session, 1)
        assert row is not None
        await inbox.mark_done(session, [row.update_id], OLD)
        await inbox.store(session, [make_message_update(2, 5)], OLD)  # still pending: kept
        await session.commit()


async def test_dry_run_counts_and_changes_nothing(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        report = await apply_retention(session, Retention(), NOW, dry_run=True)
        await session.commit()
    assert report == RetentionReport(message_texts=1, keyword_hits=1, raw_updates=1)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(KeywordHit))).scalar() == 2


async def test_old_data_is_erased_and_the_rest_kept(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        report = await apply_retention(session, Retention(), NOW)
        await session.commit()
    assert report == RetentionReport(message_texts=1, keyword_hits=1, raw_updates=1)
    async with database.session() as session:
        texts = (await session.execute(select(Event.text).order_by(Event.id))).scalars().all()
        hits = (await session.execute(select(KeywordHit.keyword))).scalars().all()
        updates = (await session.execute(select(InboxUpdate.update_id))).scalars().all()
    assert texts == [None, "new words", None]
    assert hits == ["bag"]
    assert updates == [2]


async def test_zero_days_keeps_for_ever(database: Database) -> None:
    await _seed(database)
    keep = Retention(message_text_days=None, keyword_hit_days=None, raw_update_days=365)
    async with database.session() as session:
        report = await apply_retention(session, keep, NOW)
    assert report == RetentionReport(0, 0, 0)

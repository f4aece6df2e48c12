"""The dashboard's numbers against seeded data, on SQLite and PostgreSQL."""

from datetime import date, timedelta

from storage import dashboard, lifecycle
from storage.database import Database
from storage.models import EventKind, Handoff, HandoffState, OutboxMessage, TagSource
from storage.repositories import consents, events, fans, fields, keywords, origins, tags
from tests.factories import NOW, make_fan

DAY = timedelta(days=1)


async def _seed(database: Database) -> None:
    async with database.session() as session:
        await origins.sync_campaigns(
            session,
            [
                origins.CampaignSpec("spring_gift", "Spring", ("giveaway",), "TOTE"),
                origins.CampaignSpec("store_qr", "Store"),
            ],
            NOW,
        )
        # Joined: 2 today, 1 yesterday, 1 forty days ago (outside the 30-day chart).
        ana = await make_fan(session, NOW, first_name="Ana", language_code="en")
        bo = await make_fan(session, NOW, first_name="Bo", language_code="zh")
        cy = await make_fan(session, NOW - DAY, first_name="Cy", language_code="en")
        old = await make_fan(session, NOW - 40 * DAY, first_name="Old", language_code="en")
        await lifecycle.start(session, ana, "spring_gift", NOW)
        await lifecycle.start(session, bo, "spring_gift", NOW)
        await lifecycle.start(session, cy, "store_qr", NOW - DAY)
        await lifecycle.opt_out(session, old, NOW, via="test")
        bo.language = "zh"
        # Consent: Ana and Cy; gift: Ana only (and Bo claims another campaign's gift).
        for fan in (ana, cy):
            await consents.record(session, fan.id, "daily", granted=True, proof={}, now=NOW)
        await consents.record(session, bo.id, "daily", granted=False, proof={}, now=NOW)
        for fan, campaign in ((ana, "spring_gift"), (bo, "store_qr")):
            await events.record(
                session, fan.id, EventKind.GIFT_CLAIMED, NOW, data={"campaign": campaign}
            )
        # Typed messages: Ana 2 hours ago, Bo 3 days ago, Cy 20 days ago, Old 45 days ago;
        # a button press by Old today is not a typed message.
        for fan, age in ((ana, timedelta(hours=2)), (bo, 3 * DAY), (cy, 20 * DAY)):
            await events.record(
                session, fan.id, EventKind.MESSAGE_IN, NOW - age, content_kind="text", text="hi"
            )
        await events.record(
            session, old.id, EventKind.MESSAGE_IN, NOW - 45 * DAY, content_kind="text"
        )
        await events.record(session, old.id, EventKind.BUTTON, NOW, content_kind="callback")
        await events.record(session, bo.id, EventKind.MESSAGE_IN, NOW, content_kind="photo")
        # Daily openers: Ana answers hers (in 5 hours), Bo answers after two days (too late),
        # Cy never; one opener still pending does not count.
        for fan, sent in ((ana, NOW - 10 * DAY), (bo, NOW - 10 * DAY), (cy, NOW - 5 * DAY)):
            session.add(_opener(fan.id, sent, "sent"))
        session.add(_opener(ana.id, NOW, "pending"))
        await events.record(session, ana.id, EventKind.BUTTON, NOW - 10 * DAY + timedelta(hours=5))
        await events.record(session, bo.id, EventKind.MESSAGE_IN, NOW - 8 * DAY)
        # Profile fields and tags.
        for fan, gender, city in ((ana, "female", "Paris"), (bo, "male", "Paris")):
            await fields.set_value(
                session, fan.id, "gender", gender, category="registration", source="t", now=NOW
            )
            await fields.set_value(
                session, fan.id, "city", city, category="registration", source="t", now=NOW
            )
        await fields.set_value(
            session, cy.id, "age_band", "age_25_34", category="registration", source="t", now=NOW
        )
        await tags.add(session, cy.id, "vip", TagSource.STAFF, NOW)
        # Keywords: "buy" 3 times this week, once the week before; "size" only before.
        for age in (DAY, 2 * DAY, 3 * DAY, 9 * DAY):
            await keywords.record_hits(session, ana.id, ["buy"], NOW - age)
        await keywords.record_hits(session, bo.id, ["size"], NOW - 10 * DAY)
        await keywords.record_hits(session, bo.id, ["size"], NOW - 30 * DAY)
        # Handoffs: one waiting, one taken, answered ones in 60 s, 120 s, 600 s (median 120).
        session.add(Handoff(fan_id=ana.id, reason="help", opened_at=NOW))
        session.add(Handoff(fan_id=bo.id, reason="help", state=HandoffState.TAKEN, opened_at=NOW))
        for seconds in (60, 120, 600):
            opened = NOW - 2 * DAY
            session.add(
                Handoff(
                    fan_id=cy.id,
                    reason="help",
                    state=HandoffState.CLOSED,
                    opened_at=opened,
                    first_response_at=opened + timedelta(seconds=seconds),
                )
            )
        await session.commit()


def _opener(fan_id: int, sent_at: object, state: str) -> OutboxMessage:
    return OutboxMessage(
        fan_id=fan_id,
        source="daily",
        content={"daily": True},
        due_at=sent_at,
        state=state,
        sent_at=sent_at if state == "sent" else None,
        created_at=sent_at,
    )


async def test_dashboard_numbers_match_the_seeded_fans(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        board = await dashboard.dashboard(session, NOW)
    assert board.total == 4
    assert board.by_status == {"active": 3, "opted_out": 1, "blocked": 0, "forgotten": 0}
    per_day = dict(board.new_per_day)
    assert len(board.new_per_day) == 30
    assert per_day[date(2026, 3, 1)] == 2
    assert per_day[date(2026, 2, 28)] == 1
    assert sum(per_day.values()) == 3
    assert board.talking == {1: 1, 7: 2, 30: 3}
    assert (board.reply_rate.sent, board.reply_rate.replied) == (3, 1)
    by_origin = {code: (rate.sent, rate.replied) for code, rate in board.reply_rate_by_origin}
    assert by_origin == {"spring_gift": (2, 1), "store_qr": (1, 0)}
    funnel = {row.code: (row.joined, row.consented, row.claimed) for row in board.funnel}
    assert funnel == {"spring_gift": (2, 1, 1), "store_qr": (1, 1, 0)}
    assert board.demographics["gender"] == [("female", 1), ("male", 1)]
    assert board.demographics["city"] == [("Paris", 2)]
    assert board.demographics["age_band"] == [("age_25_34", 1)]
    assert dict(board.languages) == {"en": 3, "zh": 1}
    top = dict(board.top_tags)
    assert top == {"giveaway": 2, "vip": 1}
    assert board.keyword_trends == [("buy", 3, 1), ("size", 0, 1)]
    assert (board.handoffs.waiting, board.handoffs.taken) == (1, 1)
    assert board.handoffs.median_first_response_seconds is not None
    assert round(board.handoffs.median_first_response_seconds) == 120


async def test_an_empty_database_gives_zeros_not_errors(database: Database) -> None:
    async with database.session() as session:
        board = await dashboard.dashboard(session, NOW)
    assert board.total == 0
    assert board.talking == {1: 0, 7: 0, 30: 0}
    assert board.reply_rate.percent == 0.0
    assert board.handoffs.median_first_response_seconds is None
    assert board.funnel == []


async def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(
    database: Database,
) -> None:
    async with database.session() as session:
        fan = await fans.load_or_create(
            session, fans.TelegramIdentity(user_id=5, first_name="A"), 5, NOW
        )
        for seconds in (10, 20, 40, 1000):
            session.add(
                Handoff(
                    fan_id=fan[0].id,
                    reason="x",
                    state=HandoffState.CLOSED,
                    opened_at=NOW - DAY,
                    first_response_at=NOW - DAY + timedelta(seconds=seconds),
                )
            )
        await session.commit()
        stats = await dashboard.handoff_stats(session, NOW, 30)
    assert stats.median_first_response_seconds is not None
    assert round(stats.median_first_response_seconds) == 30

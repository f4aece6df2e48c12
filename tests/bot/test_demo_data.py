"""The demo's synthetic fans: seeded once, kept out of the daily planner, and visible in
the dashboard's numbers."""

from datetime import timedelta

from sqlalchemy import func, select

from bot import brand, demo_data
from storage import dashboard
from storage.database import Database
from storage.models import Fan
from tests.admin.conftest import EXAMPLE_BRAND
from tests.factories import NOW


async def test_seeding_fills_the_dashboard_once(database: Database) -> None:
    await brand.import_dir(database, EXAMPLE_BRAND, author="test", now=NOW)
    report = await demo_data.seed(database, NOW, fans=60)
    assert report is not None
    assert report.fans == 60
    assert await demo_data.seed(database, NOW, fans=60) is None
    async with database.session() as session:
        board = await dashboard.dashboard(session, NOW)
        next_days = list((await session.execute(select(Fan.daily_next_on))).scalars())
        count = (await session.execute(select(func.count()).select_from(Fan))).scalar_one()
    assert count == board.total == 60
    assert board.reply_rate.sent > 0
    assert 0 < board.reply_rate.replied < board.reply_rate.sent
    assert {row.code for row in board.funnel if row.joined} <= {
        "spring_gift",
        "store_qr",
        "ig_bio",
    }
    assert all(day is not None and day > (NOW + timedelta(days=365)).date() for day in next_days)

"""`rapport handoffs`: the support numbers and the chats with staff right now."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import SettingsError, load_settings
from storage.clock import utc_now
from storage.database import Database
from storage.models import Fan, Handoff
from storage.repositories import handoffs as handoff_repository

T = TypeVar("T")


@click.group("handoffs")
def handoffs() -> None:
    """Chats handed to support staff."""


@handoffs.command("stats")
@click.option("--days", default=30, show_default=True, help="Handoffs opened in this many days.")
def handoff_stats(days: int) -> None:
    """How many chats went to staff, how fast they answered, how long chats lasted."""
    since = utc_now() - timedelta(days=days)
    report = asyncio.run(
        _with_database(lambda session: handoff_repository.metrics(session, since))
    )
    click.echo(
        f"last {days} days: {report.opened} opened, {report.taken} taken by staff, "
        f"{report.closed} closed, {report.open_now} still open"
    )
    click.echo(f"mean first response: {_duration(report.mean_first_response_seconds)}")
    click.echo(f"mean duration: {_duration(report.mean_duration_seconds)}")
    for staff_id, count in sorted(report.by_staff.items(), key=lambda item: -item[1]):
        click.echo(f"  staff {staff_id}: {count}")


@handoffs.command("open")
def handoff_open() -> None:
    """The chats waiting for staff or with staff now, oldest first."""

    async def rows(session: AsyncSession) -> list[tuple[Handoff, Fan]]:
        query = (
            select(Handoff, Fan)
            .join(Fan, Fan.id == Handoff.fan_id)
            .where(Handoff.state.in_(handoff_repository.OPEN_STATES))
            .order_by(Handoff.opened_at)
        )
        return [(handoff, fan) for handoff, fan in await session.execute(query)]

    found = asyncio.run(_with_database(rows))
    if not found:
        click.echo("no open handoffs")
    for handoff, fan in found:
        who = f"taken by {handoff.taken_by}" if handoff.taken_by else "waiting"
        queued = "" if handoff.notified_at else ", topic queued"
        click.echo(
            f"{_when(handoff.opened_at)}  fan {fan.telegram_user_id}  {who}{queued}: "
            f"{handoff.reason}"
        )


async def _with_database(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    from storage import migrate  # Alembic only when this command runs

    database = Database(settings.database_url)
    try:
        await migrate.upgrade(database)
        async with database.session() as session:
            return await work(session)
    finally:
        await database.dispose()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"

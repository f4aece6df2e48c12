"""`rapport broadcast`: preview, send (schedule), list and follow a broadcast."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from bot.cli_segments import invalid, read_condition

if TYPE_CHECKING:
    from dialogs import CompiledBrand
    from scheduler.broadcasts import BroadcastDraft, BroadcastStats, Preview
    from storage.database import Database
    from storage.models import Broadcast

F = TypeVar("F", bound=Callable[..., Any])


@click.group("broadcast")
def broadcast() -> None:
    """One message, personalised per fan, to every fan of a segment (through the outbox)."""


def _message_options(command: F) -> F:
    options = [
        click.option(
            "--condition", required=True, help="Who gets it: a condition in YAML or JSON."
        ),
        click.option("--text", required=True, help="The text in the brand's default language."),
        click.option("--text-zh", help="The text in Chinese (zh)."),
        click.option(
            "--text-in",
            "texts_in",
            multiple=True,
            metavar="LANG=TEXT",
            help="The text in another language of the brand (repeatable).",
        ),
        click.option(
            "--purpose",
            default="offers",
            show_default=True,
            help="The consent it needs ('none': no consent needed).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@broadcast.command("preview")
@_message_options
@click.option("--sample", default=5, show_default=True, help="Fans to render it for.")
def preview_command(
    condition: str,
    text: str,
    text_zh: str | None,
    texts_in: tuple[str, ...],
    purpose: str,
    sample: int,
) -> None:
    """How many fans it would reach now, and the message as a few of them would see it."""
    from scheduler import broadcasts

    async def run(database: "Database", brand: "CompiledBrand") -> "Preview":
        draft = _draft(brand, "preview", condition, text, text_zh, texts_in, purpose)
        async with database.session() as session:
            return await broadcasts.preview(session, brand, draft, _now(), sample)

    _print_preview(_with_brand(run))


@broadcast.command("send")
@_message_options
@click.option("--name", default="", help="A name for the list (default: the first words).")
@click.option("--at", "at", help="When (ISO time; without an offset: the brand's time zone).")
@click.option("--priority", default=0, show_default=True, help="Which message wins at the cap.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def send_command(
    condition: str,
    text: str,
    text_zh: str | None,
    texts_in: tuple[str, ...],
    purpose: str,
    name: str,
    at: str | None,
    priority: int,
    yes: bool,
) -> None:
    """Schedule the broadcast: one outbox row per matching fan; the bot sends them."""
    from scheduler import broadcasts

    async def count(database: "Database", brand: "CompiledBrand") -> tuple[int, datetime]:
        draft = _draft(brand, name, condition, text, text_zh, texts_in, purpose)
        async with database.session() as session:
            found = await broadcasts.preview(session, brand, draft, _now(), sample=0)
        return found.count, _when(at, brand)

    audience, when = _with_brand(count)
    if not yes:
        click.confirm(
            f"Send to {audience} fan{'' if audience == 1 else 's'} at {when.isoformat()}?",
            abort=True,
        )

    async def run(database: "Database", brand: "CompiledBrand") -> tuple[int, int]:
        draft = _draft(brand, name, condition, text, text_zh, texts_in, purpose)
        draft = _replace(draft, priority=priority, scheduled_at=when)
        now = _now()
        async with database.session() as session:
            created = await broadcasts.create(session, brand, draft, now)
            added = await broadcasts.schedule(session, created.id, now)
            await session.commit()
        return created.id, added

    broadcast_id, added = _with_brand(run)
    click.echo(f"broadcast {broadcast_id}: {added} messages queued for {when.isoformat()}")


@broadcast.command("list")
@click.option("--limit", default=50, show_default=True)
def list_command(limit: int) -> None:
    """The latest broadcasts, newest first."""
    from scheduler import broadcasts

    async def run(database: "Database") -> list["Broadcast"]:
        async with database.session() as session:
            return await broadcasts.list_recent(session, limit)

    for item in _with_database(run):
        when = item.scheduled_at.isoformat(timespec="minutes") if item.scheduled_at else "-"
        click.echo(
            f"{item.id:>5}  {item.state:<9}  {when:<25}  {item.purpose or '-':<9}  {item.name}"
        )


@broadcast.command("stats")
@click.argument("broadcast_id", type=int)
def stats_command(broadcast_id: int) -> None:
    """Delivery so far: pending, sent, skipped by reason, cancelled, failed, unknown."""
    from scheduler import broadcasts

    async def run(database: "Database") -> "BroadcastStats":
        async with database.session() as session:
            return await broadcasts.stats(session, broadcast_id)

    try:
        result = _with_database(run)
    except broadcasts.BroadcastNotFoundError as error:
        invalid(str(error))
    click.echo(f"total      {result.total}")
    for state in ("pending", "sending", "sent", "failed", "unknown"):
        click.echo(f"{state:<10} {getattr(result, state)}")
    for state, reasons in (("skipped", result.skipped), ("cancelled", result.cancelled)):
        click.echo(f"{state:<10} {sum(reasons.values())}")
        for reason, count in sorted(reasons.items()):
            click.echo(f"  {reason:<24} {count}")


def _with_database(work: Callable[["Database"], Any]) -> Any:
    from bot.cli import _database, _run

    async def run() -> Any:
        async with _database() as database:
            return await work(database)

    return _run(run())


def _with_brand(work: Callable[["Database", "CompiledBrand"], Any]) -> Any:
    """Run `work` with the active brand; a broken broadcast is one line per problem, exit 1."""
    import dialogs
    from scheduler.broadcasts import InvalidBroadcastError
    from storage.brand_cache import BrandCache, NoActiveBrandError

    async def run(database: "Database") -> Any:
        async with database.session() as session:
            brand = await BrandCache(dialogs.compile_brand).current(session)
        return await work(database, brand)

    try:
        return _with_database(run)
    except NoActiveBrandError:
        invalid("no brand version is active: run `rapport brand import DIR` first")
    except InvalidBroadcastError as error:
        for problem in error.problems[:-1]:
            click.echo(f"error: {problem}", err=True)
        invalid(error.problems[-1])


def _draft(
    brand: "CompiledBrand",
    name: str,
    condition: str,
    text: str,
    text_zh: str | None,
    texts_in: tuple[str, ...],
    purpose: str,
) -> "BroadcastDraft":
    from scheduler.broadcasts import BroadcastDraft

    texts = {brand.settings.default_language: text}
    if text_zh is not None:
        texts["zh"] = text_zh
    for item in texts_in:
        language, separator, value = item.partition("=")
        if not separator:
            invalid(f"--text-in: '{item}' is not LANG=TEXT")
        texts[language.strip()] = value
    return BroadcastDraft(
        name=name or " ".join(text.split()[:6]),
        condition=read_condition(condition),
        texts=texts,
        purpose=None if purpose == "none" else purpose,
    )


def _replace(draft: "BroadcastDraft", **changes: Any) -> "BroadcastDraft":
    import dataclasses

    return dataclasses.replace(draft, **changes)


def _when(at: str | None, brand: "CompiledBrand") -> datetime:
    if at is None:
        return _now()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        invalid(f"--at: '{at}' is not an ISO time (like 2026-03-01T10:30)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(brand.settings.timezone))
    return when.astimezone(UTC)


def _now() -> datetime:
    from storage.clock import utc_now

    return utc_now()


def _print_preview(preview: "Preview") -> None:
    click.echo(f"{preview.count} fan{'' if preview.count == 1 else 's'} would get it")
    for message in preview.sample:
        who = f"@{message.username}" if message.username else (message.first_name or "-")
        if message.text is None:
            click.echo(f"- fan {message.fan_id} ({who}): not rendered: {message.error}")
        else:
            click.echo(f"- fan {message.fan_id} ({who}, {message.language}): {message.text}")

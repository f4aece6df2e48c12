"""The `rapport` command line."""

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from storage.clock import utc_now

if TYPE_CHECKING:
    from storage.database import Database

EXAMPLE_BRAND = Path(__file__).resolve().parent.parent / "examples" / "demo_brand"
DEMO_DATABASE_URL = "sqlite+aiosqlite:///var/demo.sqlite3"
# Any token of the right shape works against the sandbox.
DEMO_TOKEN = "123456789:sandbox-demo-token-0000000000000000"  # noqa: S105


@click.group()
def main() -> None:
    """Rapport: a brand's daily one-to-one conversation with each of its fans, on Telegram."""


@main.command()
@click.option("--webhook", is_flag=True, help="Serve a webhook instead of long polling.")
def run(webhook: bool) -> None:
    """Run the bot against the Bot API at RAPPORT_API_URL (Telegram by default)."""
    from bot.app import create_app
    from bot.runner import run_polling, run_webhook, stop_event

    settings = _settings()
    if settings.bot_token is None:
        _fail("RAPPORT_BOT_TOKEN: not set (get a token from @BotFather)")
    configure_logging(settings)

    async def serve() -> None:
        app = create_app(settings)
        app.migrate_in_child = True
        await (run_webhook if webhook else run_polling)(app, stop_event())

    _run(serve())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, help="Port of the sandbox chat page.")
def demo(host: str, port: int) -> None:
    """The bot with the example brand on SQLite, against the local sandbox (no token needed)."""
    from bot import demo_data
    from bot.app import create_app
    from bot.runner import run_polling, stop_event
    from sandbox.server import serve_sandbox

    async def serve() -> None:
        async with serve_sandbox(host=host, port=port, default_token=DEMO_TOKEN) as url:
            settings = _settings(
                bot_token=DEMO_TOKEN,
                api_url=url,
                database_url=_env_or("database_url", DEMO_DATABASE_URL),
                brand_dir=_env_or("brand_dir", EXAMPLE_BRAND),
                polling_timeout=10,
            )
            configure_logging(settings)
            seeded, login = await demo_data.prepare(settings, utc_now())
            click.echo(f"Rapport demo: open {url}/ in a browser to chat with the bot as a fan.")
            if seeded is not None:
                click.echo(f"Seeded {seeded.fans} synthetic fans for the dashboard.")
            click.echo(f"Console: {login} (an admin login link; it works once).")
            click.echo(f"Database: {settings.database_url}. Stop with Ctrl+C.")
            await run_polling(create_app(settings), stop_event())

    _run(serve())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True)
@click.option("--token", default=DEMO_TOKEN, show_default=True, help="The chat page's bot.")
def sandbox(host: str, port: int, token: str) -> None:
    """Serve the local stand-in for Telegram's Bot API, with its fan chat page."""
    from sandbox.heap import freeze_after_full_collections
    from sandbox.server import run_sandbox

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    freeze_after_full_collections()  # the sandbox in a process of its own
    click.echo(f"Sandbox Bot API at http://{host}:{port} (chat page at /)")
    _run(run_sandbox(host, port, token))


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema (safe to run again)."""
    from storage import migrate
    from storage.database import Database

    settings = _settings()

    async def upgrade() -> str | None:
        database = Database(settings.database_url)
        try:
            await migrate.upgrade(database)
            return await migrate.current_revision(database)
        finally:
            await database.dispose()

    click.echo(f"database at revision {_run(upgrade())}")


@main.group()
def brand() -> None:
    """The brand folder: check it, import it as a new version, export or roll back."""


@brand.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def brand_check(directory: Path) -> None:
    """Print every problem as file:line:column: message (exit 1 if any)."""
    import dialogs

    problems = dialogs.check_brand_dir(directory)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("no problems")


@brand.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--author", default="cli", show_default=True)
@click.option("--no-activate", is_flag=True, help="Store the version without making it live.")
def brand_import(directory: Path, author: str, no_activate: bool) -> None:
    """Store the folder as a new version; the running bot picks it up without a restart."""
    from bot import brand as brand_service

    async def run() -> brand_service.ImportResult:
        async with _database() as database:
            return await brand_service.import_dir(
                database, directory, author=author, now=utc_now(), activate=not no_activate
            )

    result = _run(run())
    for problem in result.problems:
        click.echo(str(problem))
    if result.version is None:
        _fail(f"{len(result.problems)} problem(s); nothing was imported")
    state = "inactive" if no_activate else "active"
    click.echo(f"imported as version {result.version.id} ({state})")


@brand.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def brand_export(directory: Path) -> None:
    """Write the active version's files into DIRECTORY."""
    from bot import brand as brand_service

    async def run() -> int:
        async with _database() as database:
            return (await brand_service.export_active(database, directory)).id

    click.echo(f"exported version {_run(run())} to {directory}")


@brand.command("versions")
def brand_versions() -> None:
    """List the stored versions, newest first."""
    from storage.repositories import brand_versions as versions

    async def run() -> None:
        async with _database() as database, database.session() as session:
            for version in await versions.history(session):
                mark = "*" if version.active else " "
                created = version.created_at.strftime("%Y-%m-%d %H:%M")
                click.echo(
                    f"{mark} {version.id:>4}  {created}  {version.author:<12} {version.label}"
                )

    _run(run())


@brand.command("activate")
@click.argument("version_id", type=int)
def brand_activate(version_id: int) -> None:
    """Make a stored version live again (rollback)."""
    from bot import brand as brand_service

    async def run() -> None:
        async with _database() as database:
            await brand_service.activate(database, version_id, utc_now())

    try:
        _run(run())
    except LookupError as error:
        _fail(str(error))
    click.echo(f"version {version_id} is active")


@main.group()
def fan() -> None:
    """A fan's data, for requests that come by other ways than the chat."""


@fan.command("export")
@click.argument("telegram_id", type=int)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def fan_export(telegram_id: int, output: Path | None) -> None:
    """Everything stored about the fan with this Telegram user id, as JSON."""
    import json

    from storage.privacy import export_fan
    from storage.repositories import fans

    async def run() -> dict[str, Any] | None:
        async with _database() as database, database.session() as session:
            found = await fans.get_by_telegram_id(session, telegram_id)
            return None if found is None else await export_fan(session, found)

    data = _run(run())
    if data is None:
        _fail(f"no fan with Telegram id {telegram_id}")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"written to {output}")


@fan.command("forget")
@click.argument("telegram_id", type=int)
@click.confirmation_option(prompt="Erase this fan's personal data for good?")
def fan_forget(telegram_id: int) -> None:
    """Erase the personal data of the fan with this Telegram user id."""
    from storage.privacy import forget_fan
    from storage.repositories import fans

    async def run() -> bool:
        async with _database() as database, database.session() as session:
            found = await fans.get_by_telegram_id(session, telegram_id)
            if found is None:
                return False
            await forget_fan(session, found, utc_now())
            await session.commit()
            return True

    if not _run(run()):
        _fail(f"no fan with Telegram id {telegram_id}")
    click.echo("forgotten")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be erased.")
def retention(dry_run: bool) -> None:
    """Erase data older than the retention settings (the bot also does it every 6 hours)."""
    from storage.privacy import apply_retention

    settings = _settings()

    async def run() -> Any:
        async with _database() as database, database.session() as session:
            report = await apply_retention(session, settings.retention, utc_now(), dry_run=dry_run)
            if not dry_run:
                await session.commit()
            return report

    report = _run(run())
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb}: {report.message_texts} message texts, {report.keyword_hits} keyword hits, "
        f"{report.raw_updates} raw updates"
    )


@main.command()
def doctor() -> None:
    """Check the settings, the database and the Bot API; say how to fix what is wrong."""
    from bot.doctor import run_checks

    settings = _settings()
    problems = _run(run_checks(settings, click.echo))
    sys.exit(1 if problems else 0)


@asynccontextmanager
async def _database() -> AsyncIterator["Database"]:
    """The configured database, migrated."""
    from storage import migrate
    from storage.database import Database

    database = Database(_settings().database_url)
    try:
        await migrate.upgrade(database)
        yield database
    finally:
        await database.dispose()


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as error:
        _fail(str(error))


def _env_or(name: str, default: object) -> object:
    """A setting from the environment if the operator gave one, else the demo's default."""
    import os

    return os.environ.get(f"RAPPORT_{name.upper()}", default)


T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


# Last, so that each command group's module can import what it needs from this one.
from bot import (  # noqa: E402
    cli_bench,
    cli_broadcasts,
    cli_console,
    cli_handoff,
    cli_rules,
    cli_segments,
)

main.add_command(cli_segments.segment)
main.add_command(cli_broadcasts.broadcast)
main.add_command(cli_rules.rules)
main.add_command(cli_console.console_command)
main.add_command(cli_console.console_link)
main.add_command(cli_bench.bench)
main.add_command(cli_handoff.handoffs)

"""`rapport console` and `rapport console-link`: the web console and its login links.

bot/cli.py registers COMMANDS; the helpers are imported from it when a command runs.
"""

import click

from storage.clock import utc_now
from storage.models import ConsoleRole


@click.command("console")
def console_command() -> None:
    """Serve only the web console (at RAPPORT_CONSOLE_HOST:RAPPORT_CONSOLE_PORT/console)."""
    from aiogram import Bot

    from bot import console
    from bot.app import create_bot
    from bot.cli import _database, _fail, _run, _settings
    from bot.logs import configure_logging
    from bot.runner import stop_event

    settings = _settings()
    if not settings.console_port:
        _fail("RAPPORT_CONSOLE_PORT: 0 turns the console off; give it a port to serve it")
    configure_logging(settings)

    async def serve() -> None:
        bot: Bot | None = create_bot(settings) if settings.bot_token is not None else None
        stop = stop_event()
        try:
            async with _database() as database:
                config = console.console_config(settings, database, utc_now, bot)
                async with console.serve_console(
                    config, settings.console_host, settings.console_port
                ) as url:
                    click.echo(f"Console at {url} (log in with `rapport console-link`).")
                    await stop.wait()
        finally:
            if bot is not None:
                await bot.session.close()

    _run(serve())


@click.command("console-link")
@click.option(
    "--role",
    type=click.Choice([role.value for role in ConsoleRole]),
    default=ConsoleRole.ADMIN.value,
    show_default=True,
)
@click.option("--user", "user_id", type=int, help="The Telegram user id it is for (a note).")
def console_link(role: str, user_id: int | None) -> None:
    """Print a one-time console login link (it expires after RAPPORT_CONSOLE_LINK_MINUTES)."""
    from bot import console
    from bot.cli import _database, _run, _settings

    settings = _settings()
    links = console.login_links(settings, webhook=settings.webhook_url is not None)

    async def issue() -> str:
        async with _database() as database, database.session() as session:
            link = await links.issue(session, ConsoleRole(role), user_id, utc_now())
            await session.commit()
            return link

    click.echo(_run(issue()))
    click.echo(f"It works once, for {links.ttl_minutes} minutes.", err=True)


COMMANDS = (console_command, console_link)

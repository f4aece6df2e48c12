"""Run modes: long polling, webhook, and the demo (the bot against the local sandbox)."""

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext, suppress
from datetime import timedelta

from aiohttp import web

from admin import create_console_app
from bot import console
from bot.app import App
from bot.heap import freeze_startup_objects
from bot.webhook import create_webhook_handler
from storage.repositories.outbox import SENDING_LEASE

logger = logging.getLogger(__name__)

# How long a stopping bot waits for the updates it is handling before abandoning them
# (abandoned ones roll back and stay in the inbox for the next start).
STOP_GRACE_SECONDS = 5.0


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, event.set)
    return event


@asynccontextmanager
async def running(app: App) -> AsyncIterator[None]:
    """The app prepared, its inbox processor running; stopped and closed on exit."""
    await app.prepare()
    me = await app.bot.get_me()
    logger.info("bot @%s (id %s) ready", me.username, me.id)
    processor = asyncio.create_task(app.processor.run(), name="inbox-processor")
    # With one SQLite writer, rows still `sending` can only be from before this start.
    await app.sender.recover(timedelta(0) if app.database.is_sqlite else SENDING_LEASE)
    app.scheduler.start()
    try:
        yield
    finally:
        app.scheduler.shutdown(wait=False)
        with suppress(TimeoutError):
            await asyncio.wait_for(app.sender.wait_idle(), STOP_GRACE_SECONDS)
        app.processor.stop()
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(processor), STOP_GRACE_SECONDS)
        processor.cancel()
        with suppress(asyncio.CancelledError):
            await processor
        await app.close()


@asynccontextmanager
async def console_served(app: App) -> AsyncIterator[None]:
    """The web console on its own port while the bot runs (unless RAPPORT_CONSOLE_PORT=0)."""
    settings = app.settings
    if not settings.console_port:
        yield
        return
    config = console.console_config(settings, app.database, app.clock, app.bot)
    async with console.serve_console(config, settings.console_host, settings.console_port):
        yield


def _freeze_before_updates() -> None:
    # Its full collection stops the loop for a fifth of a second: before the first update.
    logger.debug("%s start-up objects frozen", freeze_startup_objects())


async def run_polling(app: App, stop: asyncio.Event) -> None:
    async with running(app), console_served(app):
        # getUpdates answers 409 while a webhook is set.
        await app.bot.delete_webhook(drop_pending_updates=False)
        _freeze_before_updates()
        poller = asyncio.create_task(app.create_poller().run(), name="poller")
        logger.info("polling %s", app.settings.api_url)
        app.ready.set()
        await stop.wait()
        poller.cancel()
        with suppress(asyncio.CancelledError):
            await poller


async def run_webhook(app: App, stop: asyncio.Event) -> None:
    settings = app.settings
    if settings.webhook_url is None:
        raise ValueError("RAPPORT_WEBHOOK_URL is not set (the public https URL of this server)")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = web.Application()
    web_app.router.add_post(
        settings.webhook_path,
        create_webhook_handler(
            app.database,
            app.processor,
            app.clock,
            secret=secret,
            max_backlog=settings.inbox_max_backlog,
        ),
    )
    shared = console.shares_webhook_server(settings)
    if shared:
        config = console.console_config(settings, app.database, app.clock, app.bot, webhook=True)
        web_app.add_subapp(console.CONSOLE_PREFIX, create_console_app(config))
    runner = web.AppRunner(web_app)
    async with running(app), nullcontext() if shared else console_served(app):
        await runner.setup()
        _freeze_before_updates()
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        await app.bot.set_webhook(
            settings.webhook_url + settings.webhook_path,
            secret_token=secret,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
        )
        logger.info(
            "webhook listening on %s:%s%s",
            settings.webhook_host,
            settings.webhook_port,
            settings.webhook_path,
        )
        app.ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

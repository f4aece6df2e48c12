"""Wiring the web console into the run modes: its config, its login links, its server.

The console always lives under /console, so its links read the same whether it has a port
of its own or shares the webhook's server.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import web

from admin import ConsoleConfig, LoginLinks, create_console_app
from bot import brand
from bot.settings import Settings
from dialogs import Problem
from storage.clock import Clock
from storage.database import Database

logger = logging.getLogger(__name__)

CONSOLE_PREFIX = "/console"


def shares_webhook_server(settings: Settings) -> bool:
    return settings.console_port == settings.webhook_port


def public_url(settings: Settings, *, webhook: bool = False) -> str:
    """The console's base URL as a browser reaches it (without /console)."""
    if settings.console_url is not None:
        return settings.console_url
    if webhook and shares_webhook_server(settings) and settings.webhook_url is not None:
        return settings.webhook_url
    host = "127.0.0.1" if settings.console_host in ("0.0.0.0", "::", "") else settings.console_host  # noqa: S104
    return f"http://{host}:{settings.console_port}"


def login_links(settings: Settings, *, webhook: bool = False) -> LoginLinks:
    return LoginLinks(
        base_url=public_url(settings, webhook=webhook) + CONSOLE_PREFIX,
        ttl=timedelta(minutes=settings.console_link_minutes),
        admin_ids=frozenset(settings.admin_ids),
        staff_ids=frozenset(settings.staff_ids),
    )


def console_config(
    settings: Settings,
    database: Database,
    clock: Clock,
    bot: Bot | None,
    *,
    webhook: bool = False,
) -> ConsoleConfig:
    async def publish(
        files: Mapping[str, str], author: str, now: datetime
    ) -> tuple[int | None, list[Problem]]:
        result = await brand.import_files(database, files, name="console", author=author, now=now)
        return (result.version.id if result.version else None), result.problems

    async def activate(version_id: int, now: datetime) -> None:
        await brand.activate(database, version_id, now)

    return ConsoleConfig(
        database=database,
        base_url=public_url(settings, webhook=webhook),
        publish=publish,
        activate=activate,
        clock=clock,
        prefix=CONSOLE_PREFIX,
        session_ttl=timedelta(hours=settings.console_session_hours),
        bot_username=_username_of(bot),
    )


def console_site_app(config: ConsoleConfig) -> web.Application:
    """An application with the console under /console (and / sending browsers there)."""
    root = web.Application()
    root.add_subapp(CONSOLE_PREFIX, create_console_app(config))

    async def to_console(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(CONSOLE_PREFIX + "/")

    root.router.add_get("/", to_console)
    return root


@asynccontextmanager
async def serve_console(config: ConsoleConfig, host: str, port: int) -> AsyncIterator[str]:
    """The console served on host:port until the block ends; yields its /console URL."""
    runner = web.AppRunner(console_site_app(config), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        logger.info("console listening on %s:%s%s", host, port, CONSOLE_PREFIX)
        yield config.base_url + CONSOLE_PREFIX + "/"
    finally:
        await runner.cleanup()


def _username_of(bot: Bot | None) -> Callable[[], Awaitable[str | None]]:
    cached: list[str | None] = []

    async def username() -> str | None:
        if bot is None:
            return None
        if not cached:
            try:
                cached.append((await bot.get_me()).username)
            except TelegramAPIError as error:
                logger.warning("getMe failed, deep links are shown without a bot: %s", error)
                return None
        return cached[0]

    return username

"""Building and running the sandbox server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from sandbox import bot_api, control, page
from sandbox.app_keys import SANDBOX_KEY
from sandbox.dispatch import execute_webhook_reply
from sandbox.loop_watch import LOOP_WATCH_KEY, LoopWatch, watching
from sandbox.world import WEBHOOK_TIMEOUT, Sandbox

MAX_UPLOAD = 64 * 1024 * 1024
# Long polls are woken on shutdown, so in-flight requests finish almost at once.
SHUTDOWN_TIMEOUT = 2.0


def create_sandbox_app(
    *, default_token: str | None = None, webhook_timeout: float = WEBHOOK_TIMEOUT
) -> web.Application:
    """A fresh sandbox; all state lives in the Sandbox object stored on the app."""
    app = web.Application(client_max_size=MAX_UPLOAD)
    app[SANDBOX_KEY] = Sandbox(execute_webhook_reply, default_token, webhook_timeout)
    app[LOOP_WATCH_KEY] = LoopWatch()
    app.cleanup_ctx.append(watching)
    bot_api.add_routes(app)
    control.add_routes(app)
    page.add_routes(app)
    app.on_shutdown.append(_close_sandbox)
    return app


async def _close_sandbox(app: web.Application) -> None:
    await app[SANDBOX_KEY].close()


@contextlib.asynccontextmanager
async def serve_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    default_token: str | None = None,
    app: web.Application | None = None,
) -> AsyncIterator[str]:
    """Serve a sandbox while the block runs; yields its base URL (port 0 = any free port)."""
    app = app if app is not None else create_sandbox_app(default_token=default_token)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = port
        if runner.addresses:
            bound_port = int(runner.addresses[0][1])
        yield f"http://{host}:{bound_port}"
    finally:
        await runner.cleanup()


async def run_sandbox(host: str, port: int, default_token: str | None) -> None:
    """Serve until cancelled."""
    async with serve_sandbox(host, port, default_token) as url:
        print(f"Telegram sandbox on {url} (Bot API base URL; chat page at {url}/)")  # noqa: T201
        await asyncio.Event().wait()

"""HTTP front of the Bot API: ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from aiohttp import web

from sandbox.app_keys import SANDBOX_KEY
from sandbox.dispatch import call_method
from sandbox.errors import ApiError, not_found, server_error
from sandbox.params import read_params
from sandbox.world import BotWorld

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def api_response(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=_dumps)


def _dropped(request: web.Request) -> web.Response:
    """Close the connection without answering, like a network failure mid-request.

    Writing the returned response then fails quietly inside aiohttp.
    """
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


async def _answer(request: web.Request, bot: BotWorld, method: str) -> web.Response:
    """Latency and 5xx faults first, then the method itself."""
    delay = bot.faults.latency()
    if delay > 0:
        await asyncio.sleep(delay)
    if bot.faults.should_fail(method):
        bot.stats.server_errors += 1
        raise server_error()
    params = await read_params(request)
    return api_response({"ok": True, "result": await call_method(bot, method, params)})


async def handle_method(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX_KEY]
    method = request.match_info["method"]
    try:
        bot = sandbox.bot(request.match_info["token"])
        if bot.faults.should_drop(method):
            bot.stats.dropped_connections += 1
            return _dropped(request)
        return await _answer(request, bot, method)
    except ApiError as error:
        return api_response(error.to_json(), status=error.code)


async def handle_file(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX_KEY]
    try:
        bot = sandbox.bot(request.match_info["token"])
    except ApiError as error:
        return api_response(error.to_json(), status=error.code)
    stored = bot.files.by_path(request.match_info["path"])
    if stored is None or stored.data is None:
        return api_response(not_found().to_json(), status=404)
    return web.Response(body=stored.data, content_type=stored.mime_type)


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/bot{token}/{method}", handle_method)
    app.router.add_get("/file/bot{token}/{path:.+}", handle_file)

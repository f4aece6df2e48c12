"""Running one Bot API call against a bot's world, wherever the call came from."""

from __future__ import annotations

import contextlib
from typing import Any

from sandbox.errors import ApiError, not_found
from sandbox.methods import REGISTRY
from sandbox.params import Params
from sandbox.world import BotWorld


async def call_method(bot: BotWorld, name: str, params: Params) -> Any:
    """Execute ``name`` (case-insensitive) and return its result; ApiError on failure."""
    spec = REGISTRY.get(name.lower())
    if spec is None:
        raise not_found()
    bot.stats.calls[spec.name] += 1
    try:
        return await spec.handler(bot, params)
    except ApiError as error:
        if error.code == 429:
            bot.stats.record_refusal()
        raise


async def execute_webhook_reply(bot: BotWorld, name: str, params: Params) -> None:
    """A method returned in a webhook response; Telegram never reports its outcome."""
    with contextlib.suppress(ApiError):
        await call_method(bot, name, params)

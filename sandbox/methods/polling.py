"""Getting updates: getUpdates long polling and the webhook methods."""

from __future__ import annotations

import re
import time
from typing import Any

from sandbox.errors import OTHER_POLLER, WEBHOOK_ACTIVE, bad_request, conflict
from sandbox.methods.registry import method
from sandbox.params import Params
from sandbox.webhook import WebhookConfig
from sandbox.world import BotWorld

MAX_POLL_TIMEOUT = 300
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _allowed_updates(params: Params) -> list[str] | None:
    value = params.obj("allowed_updates")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("can't parse allowed_updates JSON object")
    return list(value)


@method("getUpdates")
async def get_updates(bot: BotWorld, params: Params) -> Any:
    if bot.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    # A newer getUpdates call terminates an older one still waiting, as on Telegram.
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.updates.changed.notify()
    bot.updates.set_allowed(_allowed_updates(params))
    bot.updates.confirm(params.integer("offset"))
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = min(max(params.integer("timeout") or 0, 0), MAX_POLL_TIMEOUT)
    deadline = time.monotonic() + timeout
    while not len(bot.updates) and not bot.closing:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await bot.updates.changed.wait(remaining)
        if bot.poll_generation != generation:
            raise conflict(WEBHOOK_ACTIVE if bot.webhook is not None else OTHER_POLLER)
    return bot.updates.peek(limit)


@method("setWebhook")
async def set_webhook(bot: BotWorld, params: Params) -> Any:
    url = params.text("url") or ""
    if not url:
        return await delete_webhook(bot, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    bot.updates.set_allowed(_allowed_updates(params))
    if params.flag("drop_pending_updates"):
        bot.updates.drop_all()
    await bot.set_webhook(WebhookConfig(url, secret or None, max_connections))
    return True


@method("deleteWebhook")
async def delete_webhook(bot: BotWorld, params: Params) -> Any:
    await bot.stop_webhook()
    if params.flag("drop_pending_updates"):
        bot.updates.drop_all()
    return True


@method("getWebhookInfo")
async def get_webhook_info(bot: BotWorld, params: Params) -> Any:
    pending = len(bot.updates)
    if bot.webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    allowed = sorted(bot.updates.allowed) if bot.updates.allowed is not None else None
    return bot.webhook.info(pending, allowed)

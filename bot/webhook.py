"""The webhook endpoint: an update is answered 200 only once it is stored in the inbox.

Telegram redelivers an update until it gets a 2xx answer, so a crash before the commit
loses nothing, and a repeat after it is skipped by update_id.
"""

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.processor import InboxProcessor
from storage.clock import Clock
from storage.database import Database
from storage.repositories import inbox

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  (a header name)
# Telegram retries a non-2xx answer later; this is how the webhook pushes back.
BUSY_RETRY_AFTER_SECONDS = 5


def create_webhook_handler(
    database: Database,
    processor: InboxProcessor,
    clock: Clock,
    *,
    secret: str | None,
    max_backlog: int,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def receive(request: web.Request) -> web.StreamResponse:
        if secret is not None and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, "").encode(), secret.encode()
        ):
            logger.warning("webhook request with a wrong secret token from %s", request.remote)
            raise web.HTTPUnauthorized()
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(text="not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            raise web.HTTPBadRequest(text="not a Telegram update")
        try:
            async with database.session() as session:
                if await inbox.count_pending(session) >= max_backlog:
                    raise web.HTTPServiceUnavailable(
                        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}
                    )
                await inbox.store(session, [payload], clock())
                await session.commit()
        except SQLAlchemyError as error:
            logger.error("could not store update %s: %s", payload["update_id"], error)
            raise web.HTTPServiceUnavailable() from None
        processor.wake()
        return web.Response()

    return receive

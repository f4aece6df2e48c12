"""Webhook delivery: POST each pending update, in order, until the receiver takes it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from sandbox.faults import Stats
from sandbox.models import JSON, drop_none
from sandbox.params import Params, UploadedFile
from sandbox.updates import UpdateQueue

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 2.0
IDLE_WAIT = 30.0

ReplyHandler = Callable[[str, Params], Awaitable[None]]
Reply = tuple[str, Params] | None
SessionFactory = Callable[[], aiohttp.ClientSession]


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int, allowed: list[str] | None) -> JSON:
        return drop_none(
            {
                "url": self.url,
                "has_custom_certificate": False,
                "pending_update_count": pending,
                "last_error_date": self.last_error_date,
                "last_error_message": self.last_error_message,
                "max_connections": self.max_connections,
                "allowed_updates": allowed,
            }
        )


class WebhookDeliverer:
    """One background task per bot; one update in flight at a time, so order is kept.

    An update is confirmed only after a 2xx answer.  Failures are retried with a backoff
    capped at MAX_BACKOFF, so a receiver that restarts gets the stream back quickly.
    """

    def __init__(
        self,
        config: WebhookConfig,
        updates: UpdateQueue,
        stats: Stats,
        session: SessionFactory,
        on_reply: ReplyHandler,
        timeout: float,
    ) -> None:
        self.config = config
        self._updates = updates
        self._stats = stats
        self._session = session
        self._on_reply = on_reply
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            update = self._updates.first()
            if update is None:
                await self._updates.changed.wait(IDLE_WAIT)
                continue
            delivered, reply = await self._deliver(update)
            if not delivered:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = FIRST_BACKOFF
            self._updates.confirm(int(update["update_id"]) + 1)
            self._stats.webhook_deliveries += 1
            if reply is not None:
                await self._on_reply(*reply)

    async def _deliver(self, update: JSON) -> tuple[bool, Reply]:
        """POST one update: whether it was accepted, and the method call in the answer."""
        headers = {"Content-Type": "application/json"}
        if self.config.secret_token:
            headers[SECRET_HEADER] = self.config.secret_token
        try:
            async with self._session().post(
                self.config.url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                if 200 <= response.status < 300:
                    return True, await _read_reply(response)
                reason = f"{response.status} {response.reason or ''}".strip()
                error = f"Wrong response from the webhook: {reason}"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError as failure:
            error = f"Connection error: {type(failure).__name__}"
        self._failed(error)
        return False, None

    def _failed(self, message: str) -> None:
        self.config.last_error_date = int(time.time())
        self.config.last_error_message = message
        self._stats.webhook_failures += 1


async def _read_reply(response: aiohttp.ClientResponse) -> Reply:
    """A method call answered to a webhook, as JSON or as multipart form (aiogram's way)."""
    try:
        if response.content_type == "multipart/form-data":
            return await _multipart_reply(response)
        decoded = json.loads(await response.read() or b"null")
    except (ValueError, aiohttp.ClientError):
        return None  # an unreadable answer still acknowledges the update, as on Telegram
    if not isinstance(decoded, dict) or not isinstance(decoded.get("method"), str):
        return None
    method = decoded.pop("method")
    return method, Params(decoded)


async def _multipart_reply(response: aiohttp.ClientResponse) -> Reply:
    values: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    async for part in aiohttp.MultipartReader.from_response(response):
        if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
            continue
        data = bytes(await part.read())
        if part.filename:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files[part.name] = UploadedFile(part.filename, content_type, data)
        else:
            values[part.name] = data.decode()
    method = values.pop("method", None)
    return (method, Params(values, files)) if method else None

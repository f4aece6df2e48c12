"""Async client for the sandbox control API (tests, benchmarks, demos).

async with SandboxClient(url, token) as sb:
    fan = await sb.create_user(first_name="Ada")
    sent = await sb.send_start(fan["id"], "promo42")
    replies = await sb.wait_for_messages(fan["id"], 1, since_message_id=sent.message_id)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp

from sandbox.models import JSON

API = "/sandbox/api"


class SandboxError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class MessagesTimeoutError(TimeoutError):
    """wait_for_messages ran out of time; ``received`` holds what did arrive."""

    def __init__(self, expected: int, received: list[LoggedMessage]) -> None:
        texts = [m.message.get("text") or m.message.get("caption") for m in received]
        super().__init__(f"expected {expected} bot message(s), got {len(received)}: {texts}")
        self.expected = expected
        self.received = received


@dataclass(frozen=True)
class LoggedMessage:
    """A message of a chat as the sandbox stored it (both directions)."""

    seq: int
    message_id: int
    direction: str  # "from_bot" or "to_bot"
    service: bool
    deleted: bool
    edited: bool
    message_thread_id: int | None
    message: JSON

    @classmethod
    def from_json(cls, data: JSON) -> LoggedMessage:
        return cls(
            seq=int(data["seq"]),
            message_id=int(data["message_id"]),
            direction=str(data["direction"]),
            service=bool(data["service"]),
            deleted=bool(data["deleted"]),
            edited=bool(data["edited"]),
            message_thread_id=data.get("message_thread_id"),
            message=data["message"],
        )

    @property
    def text(self) -> str | None:
        value = self.message.get("text", self.message.get("caption"))
        return str(value) if value is not None else None

    @property
    def buttons(self) -> list[list[JSON]]:
        return list((self.message.get("reply_markup") or {}).get("inline_keyboard") or [])


@dataclass(frozen=True)
class Injected:
    """What an injected action produced: the update queued for the bot (None if the bot
    would not receive one), the stored message, and the callback query for button presses.
    """

    update: JSON | None
    message: JSON | None
    callback_query: JSON | None = None

    @classmethod
    def from_json(cls, data: JSON) -> Injected:
        return cls(data.get("update"), data.get("message"), data.get("callback_query"))

    @property
    def message_id(self) -> int:
        if self.message is None:
            raise ValueError("this action created no message")
        return int(self.message["message_id"])


class SandboxClient:
    """Typed wrapper of the control API for one bot token."""

    def __init__(
        self, base_url: str, token: str, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    # --- plumbing -------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    def _bot_path(self, path: str = "") -> str:
        return f"{API}/bots/{quote(self.token, safe=':')}{path}"

    async def _request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        query: dict[str, Any] | None = None,
        seconds: float = 30.0,
    ) -> Any:
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        async with self._http().request(
            method,
            self.base_url + path,
            json=body,
            params=params,
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            data = await response.json()
            if response.status >= 400:
                raise SandboxError(response.status, str(data.get("error", data)))
            return data

    async def _bot(self, method: str, path: str, body: JSON | None = None, **query: Any) -> Any:
        return await self._request(method, self._bot_path(path), body, query)

    # --- sandbox and bot --------------------------------------------------------------

    async def info(self) -> JSON:
        """Default token and the bots the sandbox knows."""
        result: JSON = await self._request("GET", f"{API}/info")
        return result

    async def bot_info(self) -> JSON:
        result: JSON = await self._bot("GET", "")
        return result

    async def set_bot_profile(
        self, *, first_name: str | None = None, username: str | None = None
    ) -> JSON:
        result: JSON = await self._bot(
            "PATCH", "", {"first_name": first_name, "username": username}
        )
        return result

    async def reset(self) -> None:
        """Forget everything about this bot token."""
        await self._bot("POST", "/reset")

    async def reset_all(self) -> None:
        """Forget every bot of the sandbox."""
        await self._request("POST", f"{API}/reset")

    # --- users --------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        user_id: int | None = None,
        first_name: str = "Fan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool = False,
        started: bool = True,
    ) -> JSON:
        """A Telegram user; ``started=False`` means the bot may not write first."""
        body = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "is_premium": is_premium,
            "started": started,
        }
        result: JSON = await self._bot("POST", "/users", body)
        return result

    async def get_user(self, user_id: int) -> JSON:
        result: JSON = await self._bot("GET", f"/users/{user_id}")
        return result

    async def list_users(self) -> list[JSON]:
        result: list[JSON] = await self._bot("GET", "/users")
        return result

    # --- a fan in the private chat ------------------------------------------------------

    async def _inject(self, path: str, body: JSON) -> Injected:
        return Injected.from_json(await self._bot("POST", path, body))

    async def send_text(
        self, user_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> Injected:
        body = {"kind": "text", "text": text, "reply_to_message_id": reply_to_message_id}
        return await self._inject(f"/users/{user_id}/messages", body)

    async def send_start(self, user_id: int, payload: str | None = None) -> Injected:
        """``/start`` or ``/start <payload>``: what opening a deep link sends."""
        return await self._inject(f"/users/{user_id}/start", {"payload": payload})

    async def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        caption: str | None = None,
        data: bytes | None = None,
        reply_to_message_id: int | None = None,
        **fields: Any,
    ) -> Injected:
        """photo, sticker, voice, video, document, audio, animation, location or contact."""
        body: JSON = {"kind": kind, "caption": caption, **fields}
        body["reply_to_message_id"] = reply_to_message_id
        if data is not None:
            body["data_base64"] = base64.b64encode(data).decode()
        return await self._inject(f"/users/{user_id}/messages", body)

    async def send_photo(
        self, user_id: int, *, caption: str | None = None, data: bytes | None = None
    ) -> Injected:
        return await self.send_media(user_id, "photo", caption=caption, data=data)

    async def send_sticker(self, user_id: int, emoji: str = "👍") -> Injected:
        return await self.send_media(user_id, "sticker", emoji=emoji)

    async def send_voice(self, user_id: int, duration: int = 3) -> Injected:
        return await self.send_media(user_id, "voice", duration=duration)

    async def send_video(self, user_id: int, *, caption: str | None = None) -> Injected:
        return await self.send_media(user_id, "video", caption=caption)

    async def send_document(
        self,
        user_id: int,
        *,
        file_name: str = "document.txt",
        data: bytes | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> Injected:
        return await self.send_media(
            user_id,
            "document",
            caption=caption,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> Injected:
        return await self.send_media(user_id, "location", latitude=latitude, longitude=longitude)

    async def send_contact(self, user_id: int, phone_number: str, first_name: str) -> Injected:
        return await self.send_media(
            user_id, "contact", phone_number=phone_number, first_name=first_name
        )

    async def edit_message(
        self,
        user_id: int,
        message_id: int,
        *,
        text: str | None = None,
        caption: str | None = None,
    ) -> Injected:
        """The fan edits one of their messages: an ``edited_message`` update."""
        body = {"message_id": message_id, "text": text, "caption": caption}
        return await self._inject(f"/users/{user_id}/edit", body)

    async def press_button(
        self,
        user_id: int,
        message_id: int,
        *,
        data: str | None = None,
        text: str | None = None,
        chat_id: int | None = None,
    ) -> Injected:
        """Tap the inline button with this callback_data (or, without data, this label)."""
        body = {"message_id": message_id, "data": data, "text": text, "chat_id": chat_id}
        return await self._inject(f"/users/{user_id}/press", body)

    async def callback_answer(self, callback_query_id: str) -> JSON:
        """The bot's answerCallbackQuery for a press (``answered``, ``answer``)."""
        result: JSON = await self._bot("GET", f"/callbacks/{callback_query_id}")
        return result

    async def block(self, user_id: int) -> JSON | None:
        """The fan blocks the bot; returns the my_chat_member update."""
        update: JSON | None = (await self._bot("POST", f"/users/{user_id}/block"))["update"]
        return update

    async def unblock(self, user_id: int) -> JSON | None:
        update: JSON | None = (await self._bot("POST", f"/users/{user_id}/unblock"))["update"]
        return update

    # --- staff groups -------------------------------------------------------------------

    async def create_group(
        self,
        title: str,
        *,
        is_forum: bool = True,
        members: dict[int, str] | None = None,
        bot_status: str = "member",
        bot_rights: dict[str, bool] | None = None,
    ) -> JSON:
        """A supergroup; ``members`` maps user id -> creator/administrator/member."""
        body = {
            "title": title,
            "is_forum": is_forum,
            "members": {str(k): v for k, v in (members or {}).items()},
            "bot_status": bot_status,
            "bot_rights": bot_rights or {},
        }
        result: JSON = await self._bot("POST", "/groups", body)
        return result

    async def get_group(self, chat_id: int) -> JSON:
        result: JSON = await self._bot("GET", f"/groups/{chat_id}")
        return result

    async def add_member(
        self,
        chat_id: int,
        user_id: int,
        status: str = "member",
        rights: dict[str, bool] | None = None,
    ) -> JSON:
        body = {"user_id": user_id, "status": status, "rights": rights or {}}
        result: JSON = await self._bot("POST", f"/groups/{chat_id}/members", body)
        return result

    async def set_bot_status(
        self,
        chat_id: int,
        status: str = "administrator",
        *,
        can_manage_topics: bool = True,
        **rights: bool,
    ) -> JSON | None:
        """Make the bot an administrator (default), member, or remove it."""
        if status == "administrator":
            rights = {"can_manage_topics": can_manage_topics, **rights}
        body = {"status": status, "rights": rights}
        update: JSON | None = (await self._bot("POST", f"/groups/{chat_id}/bot", body))["update"]
        return update

    async def topics(self, chat_id: int) -> list[JSON]:
        result: list[JSON] = await self._bot("GET", f"/groups/{chat_id}/topics")
        return result

    async def create_topic(
        self, chat_id: int, user_id: int, name: str, icon_color: int | None = None
    ) -> JSON:
        """A member opens a topic (the bot gets the forum_topic_created message)."""
        body = {"user_id": user_id, "name": name, "icon_color": icon_color}
        result: JSON = await self._bot("POST", f"/groups/{chat_id}/topics", body)
        return result

    async def post_in_group(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        kind: str = "text",
        caption: str | None = None,
        data: bytes | None = None,
    ) -> Injected:
        """A member posts in the group, in a topic when ``message_thread_id`` is given."""
        body: JSON = {
            "user_id": user_id,
            "kind": kind,
            "text": text,
            "caption": caption,
            "message_thread_id": message_thread_id,
            "reply_to_message_id": reply_to_message_id,
        }
        if data is not None:
            body["data_base64"] = base64.b64encode(data).decode()
        return await self._inject(f"/groups/{chat_id}/messages", body)

    async def edit_group_message(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        *,
        text: str | None = None,
        caption: str | None = None,
    ) -> Injected:
        body = {"user_id": user_id, "message_id": message_id, "text": text, "caption": caption}
        return await self._inject(f"/groups/{chat_id}/edit", body)

    # --- reading ------------------------------------------------------------------------

    async def chat(self, chat_id: int) -> JSON:
        """Chat state: blocked, reply keyboard, current chat action, pins, topics."""
        result: JSON = await self._bot("GET", f"/chats/{chat_id}")
        return result

    async def messages(
        self, chat_id: int, *, thread_id: int | None = None, since_seq: int = 0
    ) -> list[LoggedMessage]:
        """Every message of a chat in order, both directions, deleted ones flagged."""
        data = await self._bot(
            "GET", f"/chats/{chat_id}/messages", thread_id=thread_id, since_seq=since_seq
        )
        return [LoggedMessage.from_json(m) for m in data["messages"]]

    async def last_message_id(self, chat_id: int) -> int:
        """A cursor for wait_for_messages: the newest message id in the chat (0 if none)."""
        return int((await self.chat(chat_id))["last_message_id"])

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the server waits, not this coroutine
        since_message_id: int = 0,
        thread_id: int | None = None,
    ) -> list[LoggedMessage]:
        """Wait until the bot has sent ``count`` messages newer than ``since_message_id``.

        Returns all of them (possibly more than ``count``); raises MessagesTimeoutError, a
        TimeoutError carrying what arrived, when they do not come in time.
        """
        data = await self._request(
            "GET",
            self._bot_path(f"/chats/{chat_id}/wait"),
            query={
                "count": count,
                "timeout": timeout,
                "since_message_id": since_message_id,
                "thread_id": thread_id,
            },
            seconds=timeout + 10,
        )
        received = [LoggedMessage.from_json(m) for m in data["messages"]]
        if not data["complete"]:
            raise MessagesTimeoutError(count, received)
        return received

    async def updates(self, *, peek: int = 0) -> JSON:
        """pending / confirmed / dropped counts, next_update_id, and up to ``peek`` updates."""
        result: JSON = await self._bot("GET", "/updates", peek=peek)
        return result

    async def webhook_info(self) -> JSON:
        result: JSON = await self._bot("GET", "/webhook")
        return result

    async def stats(self) -> JSON:
        """calls per method, too_many_requests (and when), sent_messages, sends (timestamps),
        and the sandbox's own stalls since the stats began (sandbox/loop_watch.py)."""
        result: JSON = await self._bot("GET", "/stats")
        return result

    async def reset_stats(self) -> None:
        await self._bot("POST", "/stats/reset")

    # --- faults -------------------------------------------------------------------------

    async def faults(self) -> JSON:
        result: JSON = await self._bot("GET", "/faults")
        return result

    async def set_faults(self, **settings: Any) -> JSON:
        """Change fault settings, e.g. ``chat_limits=True``, ``storm_remaining=3``,
        ``latency_ms=50``, ``error_rate=0.1``, ``blocked_user_ids=[...]``.
        """
        result: JSON = await self._bot("PATCH", "/faults", settings)
        return result

    async def clear_faults(self) -> JSON:
        result: JSON = await self._bot("POST", "/faults/reset")
        return result

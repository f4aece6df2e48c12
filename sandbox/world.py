"""The state of the simulated Telegram: one isolated BotWorld per bot token."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import aiohttp

from sandbox import heap
from sandbox.errors import BLOCKED, CHAT_NOT_FOUND, bad_request, forbidden, unauthorized
from sandbox.faults import Faults, Stats
from sandbox.files import FileStore
from sandbox.models import (
    JSON,
    CallbackRecord,
    Chat,
    Direction,
    Member,
    MessageRecord,
    UserProfile,
)
from sandbox.params import Params
from sandbox.updates import Notifier, UpdateQueue
from sandbox.webhook import WebhookConfig, WebhookDeliverer

TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{20,64}$")
DEFAULT_BOT_NAME = "Rapport Sandbox Bot"
FIRST_USER_ID = 100_000_001
FIRST_GROUP_ID = -1_002_000_000_001
WEBHOOK_TIMEOUT = 10.0

Executor = Callable[["BotWorld", str, Params], Awaitable[None]]


def now() -> int:
    return int(time.time())


class BotWorld:
    """Everything one bot token can see: its users, chats, files, updates and settings."""

    def __init__(self, sandbox: Sandbox, token: str, bot_id: int) -> None:
        self.sandbox = sandbox
        self.token = token
        self.bot_id = bot_id
        self.first_name = DEFAULT_BOT_NAME
        self.username = f"sandbox_{bot_id}_bot"
        self.names: dict[str, str] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.commands: dict[str, list[JSON]] = {}
        self.users: dict[int, UserProfile] = {}
        self.blocked: set[int] = set()
        self.chats: dict[int, Chat] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.faults = Faults()
        self.stats = Stats()
        self.webhook: WebhookConfig | None = None
        self._deliverer: WebhookDeliverer | None = None
        self.poll_generation = 0
        self.got_me = False
        self.closing = False
        self.seq = 0
        self.changes = Notifier()
        self._next_user_id = FIRST_USER_ID
        self._next_group_id = FIRST_GROUP_ID

    # --- identity -------------------------------------------------------------------

    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def get_me(self) -> JSON:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def summary(self) -> JSON:
        return {
            "token": self.token,
            "bot": self.bot_user(),
            "got_me": self.got_me,
            "webhook_url": self.webhook.url if self.webhook else None,
        }

    # --- users and chats --------------------------------------------------------------

    def add_user(self, profile: UserProfile) -> UserProfile:
        if profile.id in self.users or profile.id == self.bot_id:
            raise ValueError(f"user {profile.id} already exists")
        self.users[profile.id] = profile
        self._next_user_id = max(self._next_user_id, profile.id + 1)
        return profile

    def new_user_id(self) -> int:
        while self._next_user_id in self.users:
            self._next_user_id += 1
        return self._next_user_id

    def new_group_id(self) -> int:
        group_id = self._next_group_id
        self._next_group_id -= 1
        return group_id

    def chat(self, chat_id: int | str) -> Chat:
        """A chat the bot can see; private chats exist as soon as the user does."""
        if isinstance(chat_id, str):
            # @username addressing only exists for public chats, which the sandbox has none of.
            raise bad_request(CHAT_NOT_FOUND)
        existing = self.chats.get(chat_id)
        if existing is not None:
            return existing
        user = self.users.get(chat_id)
        if user is None:
            raise bad_request(CHAT_NOT_FOUND)
        chat = Chat(id=user.id, type="private", user=user)
        self.chats[chat.id] = chat
        return chat

    def writable_chat(self, chat_id: int | str) -> Chat:
        """A chat the bot may post to right now, or the error Telegram would give."""
        chat = self.chat(chat_id)
        if chat.user is not None:
            if chat.id in self.blocked:
                raise forbidden(BLOCKED)
            if not chat.user.started:
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        status = self.bot_member(chat).status
        if status == "kicked":
            raise forbidden("bot was kicked from the supergroup chat")
        if status == "left":
            raise forbidden("bot is not a member of the supergroup chat")
        return chat

    def bot_member(self, chat: Chat) -> Member:
        return chat.members.get(self.bot_id) or Member(self.bot_id, "left")

    def user_json(self, user_id: int) -> JSON:
        if user_id == self.bot_id:
            return self.bot_user()
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return user.to_api()

    # --- messages ---------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def touch(self) -> None:
        """Something watchers care about changed (chat action, block, callback answer)."""
        self.next_seq()
        self.changes.notify()

    def changed(self, record: MessageRecord) -> None:
        """Mark a stored message as changed so watchers (tests, the chat page) see it."""
        record.seq = self.next_seq()
        self.changes.notify()

    def post(
        self,
        chat: Chat,
        sender: JSON,
        content: JSON,
        *,
        direction: Direction,
        thread_id: int | None = None,
        reply_to: MessageRecord | None = None,
        service: bool = False,
    ) -> MessageRecord:
        """Store a new message in ``chat`` and return its record."""
        message_id = chat.take_message_id()
        message: JSON = {"message_id": message_id}
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            # In a forum topic Telegram makes a message that replies to nothing a reply to
            # the topic's creation message; bots must cope with that, so it is kept.
            root = chat.messages.get(thread_id)
            if reply_to is None and root is not None and root.message_id != message_id:
                reply_to = root
        message.update({"from": sender, "chat": chat.to_api(), "date": now()})
        if reply_to is not None:
            quoted = reply_to.snapshot()
            quoted.pop("reply_to_message", None)
            message["reply_to_message"] = quoted
        message.update(content)
        record = MessageRecord(message, direction, self.next_seq(), service=service)
        chat.messages[message_id] = record
        self.changes.notify()
        return record

    def deliver(self, kind: str, chat: Chat, record: MessageRecord) -> JSON | None:
        """Hand a message someone else wrote to the bot, if Telegram would."""
        if chat.user is None and not self._sees_group_message(chat, record.message):
            return None
        return self.updates.push(kind, record.snapshot())

    def _sees_group_message(self, chat: Chat, message: JSON) -> bool:
        member = self.bot_member(chat)
        if member.status in {"left", "kicked"}:
            return False
        if member.status in {"administrator", "creator"}:
            return True
        # Privacy mode: commands, replies to the bot and mentions only.
        text = str(message.get("text") or message.get("caption") or "")
        replied = message.get("reply_to_message") or {}
        replied_from = (replied.get("from") or {}).get("id")
        return text.startswith("/") or replied_from == self.bot_id or f"@{self.username}" in text

    # --- webhook ----------------------------------------------------------------------

    async def set_webhook(self, config: WebhookConfig) -> None:
        await self.stop_webhook()
        self.webhook = config
        self._deliverer = WebhookDeliverer(
            config,
            self.updates,
            self.stats,
            self.sandbox.http_session,
            self._webhook_reply,
            self.sandbox.webhook_timeout,
        )
        self._deliverer.start()
        # A getUpdates waiting right now must give up, as on Telegram.
        self.poll_generation += 1
        self.updates.changed.notify()

    async def stop_webhook(self) -> None:
        if self._deliverer is not None:
            await self._deliverer.stop()
        self._deliverer = None
        self.webhook = None

    async def _webhook_reply(self, method: str, params: Params) -> None:
        await self.sandbox.executor(self, method, params)

    async def close(self) -> None:
        self.closing = True
        self.updates.changed.notify()
        self.changes.notify()
        await self.stop_webhook()


class Sandbox:
    """All bots of one sandbox server, plus what they share (the webhook HTTP client)."""

    def __init__(
        self,
        executor: Executor,
        default_token: str | None = None,
        webhook_timeout: float = WEBHOOK_TIMEOUT,
    ) -> None:
        self.executor = executor
        self.default_token = default_token
        self.webhook_timeout = webhook_timeout
        self.bots: dict[str, BotWorld] = {}
        self._session: aiohttp.ClientSession | None = None

    def bot(self, token: str) -> BotWorld:
        """The world of ``token``, created on first use; malformed tokens are Unauthorized."""
        existing = self.bots.get(token)
        if existing is not None:
            return existing
        match = TOKEN_RE.match(token)
        if match is None:
            raise unauthorized()
        world = BotWorld(self, token, int(match.group(1)))
        self.bots[token] = world
        return world

    def http_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def reset(self, token: str | None = None) -> None:
        tokens = [token] if token is not None else list(self.bots)
        for key in tokens:
            world = self.bots.pop(key, None)
            if world is not None:
                await world.close()
        heap.thaw()

    async def close(self) -> None:
        await self.reset()
        if self._session is not None:
            await self._session.close()
            self._session = None

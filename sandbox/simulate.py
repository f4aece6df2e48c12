"""The other side of the conversation: what fans and staff members do, and what the bot sees.

Every action goes through the same storage as Bot API calls and yields the update Telegram
would send the bot (None when the bot would not get one, e.g. privacy mode in a group).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
import zlib
from dataclasses import dataclass

from sandbox.formatting import auto_entities
from sandbox.methods.forum import open_topic
from sandbox.models import (
    ADMIN_RIGHTS,
    DEFAULT_TOPIC_COLOR,
    JSON,
    CallbackRecord,
    Chat,
    Member,
    MemberStatus,
    MessageRecord,
    UserProfile,
)
from sandbox.world import BotWorld, now

USER_MEDIA_KINDS = ("photo", "sticker", "voice", "video", "document", "audio", "animation")
_ACTIVE: tuple[MemberStatus, ...] = ("creator", "administrator", "member", "restricted")
TYPING_VISIBLE_SECONDS = 5.0


class ControlError(Exception):
    """A control API request that cannot be carried out (HTTP status and reason)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Injected:
    """What an action produced: the update queued for the bot and the stored message."""

    update: JSON | None
    record: MessageRecord | None = None
    extra: JSON | None = None

    def to_json(self) -> JSON:
        body: JSON = {
            "update": self.update,
            "message": self.record.snapshot() if self.record else None,
        }
        return {**body, **(self.extra or {})}


def placeholder_png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG, so a fan's 'photo' is a real image the bot could download."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes((90, 160, 220)) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# --- users ------------------------------------------------------------------------------


def create_user(bot: BotWorld, fields: JSON) -> UserProfile:
    user_id = fields.get("id") or fields.get("user_id") or bot.new_user_id()
    if not isinstance(user_id, int) or user_id <= 0:
        raise ControlError(400, "user id must be a positive integer")
    profile = UserProfile(
        id=user_id,
        first_name=str(fields.get("first_name") or "Fan"),
        last_name=fields.get("last_name"),
        username=fields.get("username"),
        language_code=fields.get("language_code"),
        is_premium=bool(fields.get("is_premium", False)),
        started=bool(fields.get("started", True)),
    )
    try:
        return bot.add_user(profile)
    except ValueError as error:
        raise ControlError(409, str(error)) from None


def get_user(bot: BotWorld, user_id: int) -> UserProfile:
    user = bot.users.get(user_id)
    if user is None:
        raise ControlError(404, f"user {user_id} does not exist")
    return user


# --- private chat actions ---------------------------------------------------------------


def text_content(text: str) -> JSON:
    if not text:
        raise ControlError(400, "text is empty")
    content: JSON = {"text": text}
    entities = auto_entities(text)
    if entities:
        content["entities"] = entities
    return content


def media_content(bot: BotWorld, kind: str, fields: JSON) -> JSON:
    """Content of a media message a person sends; bytes are made up unless given."""
    if kind == "location":
        return {
            "location": {
                "latitude": float(fields.get("latitude", 48.8584)),
                "longitude": float(fields.get("longitude", 2.2945)),
            }
        }
    if kind == "contact":
        return {
            "contact": {
                "phone_number": str(fields.get("phone_number", "+10000000000")),
                "first_name": str(fields.get("first_name", "Contact")),
            }
        }
    if kind not in USER_MEDIA_KINDS:
        raise ControlError(400, f"unsupported message kind {kind!r}")
    data = fields.get("data")
    if not isinstance(data, bytes):
        data = placeholder_png() if kind == "photo" else f"sandbox {kind}".encode()
    meta: JSON = {k: fields[k] for k in ("duration", "emoji", "width", "height") if k in fields}
    if kind == "sticker":
        meta.setdefault("emoji", "👍")
    stored = bot.files.add(
        kind,
        data,
        file_name=fields.get("file_name") or (f"{kind}.bin" if kind == "document" else None),
        mime_type=fields.get("mime_type"),
        meta=meta,
    )
    content: JSON = {kind: bot.files.media_object(stored)}
    caption = fields.get("caption")
    if caption and kind != "sticker":
        content["caption"] = str(caption)
        entities = auto_entities(str(caption))
        if entities:
            content["caption_entities"] = entities
    return content


def _private_chat(bot: BotWorld, user: UserProfile) -> Chat:
    chat = bot.chat(user.id)
    if user.id in bot.blocked:
        # Writing to a bot you blocked restarts it on Telegram, so unblock first.
        set_blocked(bot, user.id, False)
    user.started = True
    return chat


def _reply(chat: Chat, message_id: int | None) -> MessageRecord | None:
    if message_id is None:
        return None
    record = chat.live(message_id)
    if record is None:
        raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
    return record


def fan_message(
    bot: BotWorld, user_id: int, content: JSON, reply_to_message_id: int | None = None
) -> Injected:
    user = get_user(bot, user_id)
    chat = _private_chat(bot, user)
    record = bot.post(
        chat,
        user.to_api(),
        content,
        direction="to_bot",
        reply_to=_reply(chat, reply_to_message_id),
    )
    return Injected(bot.deliver("message", chat, record), record)


def edit_message(
    bot: BotWorld,
    chat_id: int,
    user_id: int,
    message_id: int,
    text: str | None,
    caption: str | None,
) -> Injected:
    chat = _chat(bot, chat_id)
    record = chat.live(message_id)
    if record is None or (record.message.get("from") or {}).get("id") != user_id:
        raise ControlError(404, f"user {user_id} has no message {message_id} in {chat_id}")
    message = record.message
    if text is not None and "text" in message:
        message["text"] = text
        message.pop("entities", None)
        message.update({k: v for k, v in text_content(text).items() if k == "entities"})
    elif caption is not None and "text" not in message:
        message["caption"] = caption
        message.pop("caption_entities", None)
    else:
        raise ControlError(400, "give text for a text message or caption for a media message")
    message["edit_date"] = now()
    record.edited = True
    bot.changed(record)
    return Injected(bot.deliver("edited_message", chat, record), record)


def _chat_instance(bot: BotWorld, chat_id: int) -> str:
    digest = hashlib.sha256(f"{bot.bot_id}:{chat_id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big", signed=True))


def _find_button(record: MessageRecord, data: str | None, text: str | None) -> JSON:
    rows = (record.message.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in rows:
        for button in row:
            if (data is not None and button.get("callback_data") == data) or (
                data is None and button.get("text") == text
            ):
                return dict(button)
    raise ControlError(404, f"message {record.message_id} has no such inline button")


def press_button(
    bot: BotWorld,
    user_id: int,
    message_id: int,
    *,
    data: str | None = None,
    text: str | None = None,
    chat_id: int | None = None,
) -> Injected:
    """A tap on an inline button of a bot message (by callback_data, or by label)."""
    user = get_user(bot, user_id)
    chat = _chat(bot, chat_id) if chat_id is not None else _private_chat(bot, user)
    record = chat.live(message_id)
    if record is None or record.direction != "from_bot":
        raise ControlError(404, f"bot message {message_id} not found in chat {chat.id}")
    button = _find_button(record, data, text)
    if "callback_data" not in button:
        raise ControlError(400, "that button does not send a callback query")
    query_id = str(secrets.randbits(62))
    query: JSON = {
        "id": query_id,
        "from": user.to_api(),
        "message": record.snapshot(),
        "chat_instance": _chat_instance(bot, chat.id),
        "data": button["callback_data"],
    }
    bot.callbacks[query_id] = CallbackRecord(
        query_id, user.id, chat.id, message_id, button["callback_data"], time.time()
    )
    update = bot.updates.push("callback_query", query)
    return Injected(update, record, {"callback_query": query})


def _member_update(
    bot: BotWorld, chat: Chat, actor: JSON, old: Member, new: Member
) -> JSON | None:
    bot_user = bot.bot_user()
    payload = {
        "chat": chat.to_api(),
        "from": actor,
        "date": now(),
        "old_chat_member": old.to_api(bot_user),
        "new_chat_member": new.to_api(bot_user),
    }
    return bot.updates.push("my_chat_member", payload)


def set_blocked(bot: BotWorld, user_id: int, blocked: bool) -> Injected:
    """Block or unblock the bot, as the user; Telegram reports it as my_chat_member."""
    user = get_user(bot, user_id)
    chat = bot.chat(user.id)
    if (user.id in bot.blocked) == blocked:
        return Injected(None)
    statuses: tuple[MemberStatus, MemberStatus] = ("member", "kicked")
    old, new = statuses if blocked else statuses[::-1]
    if blocked:
        bot.blocked.add(user.id)
    else:
        bot.blocked.discard(user.id)
    bot.touch()
    update = _member_update(
        bot, chat, user.to_api(), Member(bot.bot_id, old), Member(bot.bot_id, new)
    )
    return Injected(update)


# --- groups -----------------------------------------------------------------------------


def _chat(bot: BotWorld, chat_id: int) -> Chat:
    chat = bot.chats.get(chat_id)
    if chat is None:
        if chat_id in bot.users:
            return bot.chat(chat_id)
        raise ControlError(404, f"chat {chat_id} does not exist")
    return chat


def _group(bot: BotWorld, chat_id: int) -> Chat:
    chat = _chat(bot, chat_id)
    if chat.user is not None:
        raise ControlError(400, f"chat {chat_id} is a private chat")
    return chat


def _rights(fields: JSON) -> dict[str, bool]:
    unknown = set(fields) - set(ADMIN_RIGHTS)
    if unknown:
        raise ControlError(400, f"unknown administrator rights: {sorted(unknown)}")
    return {name: bool(value) for name, value in fields.items()}


def create_group(bot: BotWorld, fields: JSON) -> tuple[Chat, list[JSON]]:
    """A supergroup (a forum by default) with its members; the bot joins as asked."""
    chat = Chat(
        id=bot.new_group_id(),
        type="supergroup",
        title=str(fields.get("title") or "Staff"),
        is_forum=bool(fields.get("is_forum", True)),
        # Message 1 of a supergroup is its creation, and thread 1 is a forum's General topic.
        next_message_id=2,
    )
    bot.chats[chat.id] = chat
    for user_id, status in (fields.get("members") or {}).items():
        add_member(bot, chat.id, int(user_id), status, {})
    updates: list[JSON] = []
    bot_status = str(fields.get("bot_status") or "member")
    if bot_status != "left":
        update = set_bot_status(bot, chat.id, bot_status, fields.get("bot_rights") or {})
        if update is not None:
            updates.append(update)
    return chat, updates


def add_member(bot: BotWorld, chat_id: int, user_id: int, status: str, rights: JSON) -> Member:
    chat = _group(bot, chat_id)
    get_user(bot, user_id)
    if status not in {"creator", "administrator", "member", "restricted", "left", "kicked"}:
        raise ControlError(400, f"unknown member status {status!r}")
    member = Member(user_id, status, _rights(rights))  # type: ignore[arg-type]
    if status == "administrator" and not rights:
        member.rights = {name: True for name in ADMIN_RIGHTS if name != "can_promote_members"}
    chat.members[user_id] = member
    return member


def set_bot_status(bot: BotWorld, chat_id: int, status: str, rights: JSON) -> JSON | None:
    """Add, promote, demote or remove the bot; the bot gets a my_chat_member update."""
    chat = _group(bot, chat_id)
    if status not in {"administrator", "member", "left", "kicked"}:
        raise ControlError(400, f"the bot cannot have status {status!r}")
    granted = _rights(rights)
    if status == "administrator":
        granted = {
            "can_manage_topics": True,
            "can_pin_messages": True,
            "can_delete_messages": True,
            "can_manage_chat": True,
            **granted,
        }
    old = bot.bot_member(chat)
    new = Member(bot.bot_id, status, granted)  # type: ignore[arg-type]
    chat.members[bot.bot_id] = new
    return _member_update(bot, chat, _actor(bot, chat), old, new)


def _actor(bot: BotWorld, chat: Chat) -> JSON:
    """Who performed a membership change: the creator, else any admin, else the bot."""
    for wanted in ("creator", "administrator"):
        for member in chat.members.values():
            if member.status == wanted and member.user_id in bot.users:
                return bot.users[member.user_id].to_api()
    return bot.bot_user()


def _poster(bot: BotWorld, chat: Chat, user_id: int) -> UserProfile:
    user = get_user(bot, user_id)
    member = chat.members.get(user_id)
    if member is None or member.status not in _ACTIVE:
        raise ControlError(403, f"user {user_id} is not a member of chat {chat.id}")
    return user


def group_message(
    bot: BotWorld,
    chat_id: int,
    user_id: int,
    content: JSON,
    *,
    thread_id: int | None = None,
    reply_to_message_id: int | None = None,
) -> Injected:
    """A member posts in the group (in a topic when ``thread_id`` is given)."""
    chat = _group(bot, chat_id)
    user = _poster(bot, chat, user_id)
    reply_to = _reply(chat, reply_to_message_id)
    if thread_id is None and reply_to is not None:
        thread_id = reply_to.thread_id
    if thread_id is not None:
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ControlError(404, f"topic {thread_id} not found in chat {chat_id}")
        if topic.closed and not chat.members[user_id].can("can_manage_topics"):
            raise ControlError(403, "the topic is closed")
    record = bot.post(
        chat, user.to_api(), content, direction="to_bot", thread_id=thread_id, reply_to=reply_to
    )
    return Injected(bot.deliver("message", chat, record), record)


def create_topic(bot: BotWorld, chat_id: int, user_id: int, name: str, color: int | None) -> JSON:
    chat = _group(bot, chat_id)
    user = _poster(bot, chat, user_id)
    if not chat.is_forum:
        raise ControlError(400, "the chat is not a forum")
    topic = open_topic(
        bot, chat, user.to_api(), name, color or DEFAULT_TOPIC_COLOR, None, direction="to_bot"
    )
    return topic.to_control()


# --- reading ----------------------------------------------------------------------------


def chat_log(
    bot: BotWorld, chat_id: int, thread_id: int | None = None, since_seq: int = 0
) -> list[JSON]:
    chat = _chat(bot, chat_id)
    records = sorted(chat.messages.values(), key=lambda r: r.message_id)
    return [
        r.to_control()
        for r in records
        if r.seq > since_seq and (thread_id is None or r.thread_id == thread_id)
    ]


def chat_state(bot: BotWorld, chat_id: int) -> JSON:
    chat = _chat(bot, chat_id)
    typing = None
    if chat.last_action and time.time() - chat.last_action[1] < TYPING_VISIBLE_SECONDS:
        typing = chat.last_action[0]
    return {
        "chat": chat.to_api(),
        "blocked": chat.id in bot.blocked,
        "reply_keyboard": chat.reply_keyboard,
        "action": typing,
        "pinned": list(chat.pinned),
        "last_message_id": chat.next_message_id - 1,
        "seq": bot.seq,
        "topics": [t.to_control() for t in chat.topics.values()],
    }


def bot_messages_since(
    bot: BotWorld, chat_id: int, since_message_id: int, thread_id: int | None
) -> list[JSON]:
    chat = _chat(bot, chat_id)
    return [
        r.to_control()
        for r in sorted(chat.messages.values(), key=lambda r: r.message_id)
        if r.direction == "from_bot"
        and not r.service
        and r.message_id > since_message_id
        and (thread_id is None or r.thread_id == thread_id)
    ]


async def wait_for_bot_messages(
    bot: BotWorld,
    chat_id: int,
    count: int,
    seconds: float,
    since_message_id: int = 0,
    thread_id: int | None = None,
) -> tuple[list[JSON], bool]:
    """Long-poll until the bot has sent ``count`` new messages to the chat."""
    deadline = time.monotonic() + seconds
    while True:
        found = bot_messages_since(bot, chat_id, since_message_id, thread_id)
        remaining = deadline - time.monotonic()
        if len(found) >= count or remaining <= 0 or bot.closing:
            return found, len(found) >= count
        await bot.changes.wait(remaining)


async def wait_for_change(bot: BotWorld, since_seq: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while bot.seq <= since_seq and not bot.closing:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await bot.changes.wait(remaining)

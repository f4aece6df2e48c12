"""Reading chats and members, chat actions, callback answers and getFile."""

from __future__ import annotations

import time
from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.registry import method
from sandbox.models import JSON, Chat, Member
from sandbox.params import Params
from sandbox.world import BotWorld

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MAX_DOWNLOAD = 20 * 1024 * 1024
_GIFTS = {
    "unlimited_gifts": True,
    "limited_gifts": True,
    "unique_gifts": True,
    "premium_subscription": True,
    "gifts_from_channels": True,
}
_ACTIVE = ("creator", "administrator", "member", "restricted")


@method("getChat")
async def get_chat(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    info: JSON = {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict(_GIFTS),
    }
    if chat.user is not None and chat.user.username:
        info["active_usernames"] = [chat.user.username]
    if chat.pinned and chat.live(chat.pinned[-1]) is not None:
        info["pinned_message"] = chat.messages[chat.pinned[-1]].snapshot()
    return info


def _member(bot: BotWorld, chat: Chat, user_id: int) -> Member:
    if chat.user is not None:
        if user_id == chat.id:
            return Member(user_id, "member")
        if user_id == bot.bot_id:
            return Member(user_id, "kicked" if chat.id in bot.blocked else "member")
        return Member(user_id, "left")
    if user_id == bot.bot_id:
        return bot.bot_member(chat)
    return chat.members.get(user_id) or Member(user_id, "left")


@method("getChatMember")
async def get_chat_member(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    user_id = params.required_integer("user_id", "user not found")
    user = bot.user_json(user_id)
    return _member(bot, chat, user_id).to_api(user)


@method("getChatAdministrators")
async def get_chat_administrators(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    if chat.user is not None:
        raise bad_request("there are no administrators in the private chat")
    admins = [m for m in chat.members.values() if m.status in {"creator", "administrator"}]
    return [m.to_api(bot.user_json(m.user_id)) for m in admins]


@method("getChatMemberCount")
async def get_chat_member_count(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    if chat.user is not None:
        return 2
    return sum(1 for m in chat.members.values() if m.status in _ACTIVE)


@method("sendChatAction")
async def send_chat_action(bot: BotWorld, params: Params) -> Any:
    action = params.text("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat = bot.writable_chat(params.chat_id())
    chat.last_action = (action, time.time())
    bot.touch()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(bot: BotWorld, params: Params) -> Any:
    query_id = params.text("callback_query_id") or ""
    record = bot.callbacks.get(query_id)
    if record is None or record.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = {
        "text": text,
        "show_alert": params.flag("show_alert"),
        "url": params.text("url"),
        "cache_time": params.integer("cache_time") or 0,
        "date": time.time(),
    }
    bot.touch()
    return True


@method("getFile")
async def get_file(bot: BotWorld, params: Params) -> Any:
    stored = bot.files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("wrong file_id or the file is temporarily unavailable")
    if (stored.size or 0) > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.to_file_api()

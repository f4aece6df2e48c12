"""Forum topics in supergroups."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.registry import method
from sandbox.models import DEFAULT_TOPIC_COLOR, JSON, TOPIC_COLORS, Chat, Direction, Topic
from sandbox.params import Params
from sandbox.world import BotWorld

ICON_STICKERS = (
    ("5312536423851630001", "💡"),
    ("5312016608254762256", "⚡️"),
    ("5377544228505134960", "🗣"),
)


def _forum(bot: BotWorld, params: Params) -> Chat:
    chat = bot.writable_chat(params.chat_id())
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    return chat


def _topic(chat: Chat, params: Params) -> Topic:
    thread_id = params.integer("message_thread_id")
    topic = chat.topics.get(thread_id) if thread_id is not None else None
    if topic is None:
        raise bad_request("message thread not found")
    return topic


def _require(bot: BotWorld, chat: Chat, right: str, reason: str) -> None:
    if not bot.bot_member(chat).can(right):
        raise bad_request(reason)


def _service(bot: BotWorld, chat: Chat, topic: Topic, content: JSON) -> None:
    bot.post(
        chat,
        bot.bot_user(),
        content,
        direction="from_bot",
        thread_id=topic.thread_id,
        service=True,
    )


def open_topic(
    bot: BotWorld,
    chat: Chat,
    sender: JSON,
    name: str,
    color: int,
    emoji_id: str | None,
    *,
    direction: Direction,
) -> Topic:
    """Create a topic; its id is the id of the forum_topic_created message, as on Telegram."""
    if not 1 <= len(name) <= 128:
        raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
    if color not in TOPIC_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    thread_id = chat.next_message_id
    topic = Topic(thread_id, name, color, emoji_id)
    chat.topics[thread_id] = topic
    created: JSON = {"name": name, "icon_color": color}
    if emoji_id:
        created["icon_custom_emoji_id"] = emoji_id
    record = bot.post(
        chat,
        sender,
        {"forum_topic_created": created},
        direction=direction,
        thread_id=thread_id,
        service=True,
    )
    if direction == "to_bot":  # a person opened it: the bot sees the service message
        bot.deliver("message", chat, record)
    return topic


@method("createForumTopic")
async def create_forum_topic(bot: BotWorld, params: Params) -> Any:
    chat = _forum(bot, params)
    _require(bot, chat, "can_manage_topics", "not enough rights to create a topic")
    topic = open_topic(
        bot,
        chat,
        bot.bot_user(),
        params.text("name") or "",
        params.integer("icon_color") or DEFAULT_TOPIC_COLOR,
        params.text("icon_custom_emoji_id") or None,
        direction="from_bot",
    )
    return topic.to_api()


@method("editForumTopic")
async def edit_forum_topic(bot: BotWorld, params: Params) -> Any:
    chat = _forum(bot, params)
    topic = _topic(chat, params)
    _require(bot, chat, "can_manage_topics", "not enough rights to edit a topic")
    edited: JSON = {}
    name = params.text("name")
    if name and name != topic.name:
        topic.name = edited["name"] = name
    emoji = params.text("icon_custom_emoji_id")
    if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
        topic.icon_custom_emoji_id = emoji or None
        edited["icon_custom_emoji_id"] = emoji
    if not edited:
        raise bad_request("TOPIC_NOT_MODIFIED")
    _service(bot, chat, topic, {"forum_topic_edited": edited})
    return True


def _set_closed(bot: BotWorld, params: Params, closed: bool) -> bool:
    chat = _forum(bot, params)
    topic = _topic(chat, params)
    _require(bot, chat, "can_manage_topics", "not enough rights to manage topics")
    if topic.closed == closed:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.closed = closed
    _service(bot, chat, topic, {"forum_topic_closed" if closed else "forum_topic_reopened": {}})
    return True


@method("closeForumTopic")
async def close_forum_topic(bot: BotWorld, params: Params) -> Any:
    return _set_closed(bot, params, True)


@method("reopenForumTopic")
async def reopen_forum_topic(bot: BotWorld, params: Params) -> Any:
    return _set_closed(bot, params, False)


@method("deleteForumTopic")
async def delete_forum_topic(bot: BotWorld, params: Params) -> Any:
    chat = _forum(bot, params)
    topic = _topic(chat, params)
    _require(bot, chat, "can_delete_messages", "not enough rights to delete a topic")
    del chat.topics[topic.thread_id]
    for record in chat.messages.values():
        if record.thread_id == topic.thread_id and not record.deleted:
            record.deleted = True
            bot.changed(record)
    return True


@method("unpinAllForumTopicMessages")
async def unpin_all_forum_topic_messages(bot: BotWorld, params: Params) -> Any:
    chat = _forum(bot, params)
    topic = _topic(chat, params)
    _require(bot, chat, "can_pin_messages", "not enough rights to manage pinned messages")
    chat.pinned = [
        m for m in chat.pinned if (r := chat.messages.get(m)) and r.thread_id != topic.thread_id
    ]
    return True


@method("getForumTopicIconStickers")
async def get_forum_topic_icon_stickers(bot: BotWorld, params: Params) -> Any:
    return [
        {
            "file_id": f"CAACAgIAAxUAAWTopicIcon{index}",
            "file_unique_id": f"AgADTopicIcon{index}",
            "type": "custom_emoji",
            "width": 100,
            "height": 100,
            "is_animated": True,
            "is_video": False,
            "emoji": emoji,
            "custom_emoji_id": emoji_id,
            "set_name": "Topics",
        }
        for index, (emoji_id, emoji) in enumerate(ICON_STICKERS)
    ]

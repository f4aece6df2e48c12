"""Helpers shared by the methods that create or change messages."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request
from sandbox.formatting import apply_parse_mode, auto_entities
from sandbox.models import JSON, Chat, MessageRecord
from sandbox.params import Params
from sandbox.world import BotWorld

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
CONTENT_KEYS = (
    "text",
    "entities",
    "link_preview_options",
    "photo",
    "video",
    "audio",
    "voice",
    "document",
    "animation",
    "sticker",
    "video_note",
    "location",
    "venue",
    "contact",
    "dice",
    "caption",
    "caption_entities",
    "has_media_spoiler",
    "show_caption_above_media",
)
MEDIA_KEYS = ("photo", "video", "audio", "voice", "document", "animation", "video_note")
SERVICE_KEYS = (
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "pinned_message",
)
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def send_target(bot: BotWorld, params: Params) -> tuple[Chat, int | None, MessageRecord | None]:
    """Chat, topic and replied message of a sending method, after rights and rate limits."""
    chat = bot.writable_chat(params.chat_id())
    reply_to = reply_target(chat, params)
    thread_id = topic_of(bot, chat, params.integer("message_thread_id"))
    if thread_id is None and reply_to is not None:
        thread_id = reply_to.thread_id
    bot.faults.admit_send(chat.id, chat.user is not None)
    return chat, thread_id, reply_to


def topic_of(bot: BotWorld, chat: Chat, thread_id: int | None) -> int | None:
    """Validate a message_thread_id; only forum supergroups have topics here."""
    if thread_id is None or not chat.is_forum or thread_id == 1:
        return None  # 1 is the General topic, which carries no thread id on messages
    topic = chat.topics.get(thread_id)
    if topic is None:
        raise bad_request("message thread not found")
    if topic.closed and not bot.bot_member(chat).can("can_manage_topics"):
        raise bad_request("TOPIC_CLOSED")
    return thread_id


def reply_target(chat: Chat, params: Params) -> MessageRecord | None:
    reply = params.obj("reply_parameters")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow = bool(reply.get("allow_sending_without_reply"))
        if reply.get("chat_id") not in (None, chat.id, str(chat.id)):
            raise bad_request("replies to other chats are not supported by the sandbox")
    else:
        message_id = params.integer("reply_to_message_id")
        allow = params.flag("allow_sending_without_reply")
    if message_id is None:
        return None
    try:
        record = chat.live(int(message_id))
    except (TypeError, ValueError):
        record = None
    if record is None and not allow:
        raise bad_request("message to be replied not found")
    return record


def inline_markup(chat: Chat, params: Params) -> JSON | None:
    """The inline keyboard to store on the message; reply keyboards are kept on the chat."""
    markup = params.obj("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        validate_inline_keyboard(markup["inline_keyboard"])
        return (
            {"inline_keyboard": markup["inline_keyboard"]} if markup["inline_keyboard"] else None
        )
    if "keyboard" in markup:
        chat.reply_keyboard = markup
    elif markup.get("remove_keyboard"):
        chat.reply_keyboard = None
    return None


def validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" of '
            "the InlineKeyboardMarkup should be an Array of Arrays"
        )
    for row in rows:
        for button in row:
            _validate_button(button)


def _validate_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
        raise bad_request("BUTTON_DATA_INVALID")


def text_content(params: Params, *, required: bool = True) -> JSON:
    text = params.text("text") or ""
    if not text.strip():
        if required:
            raise bad_request("message text is empty")
        return {}
    plain, entities = apply_parse_mode(text, params.text("parse_mode"), params.obj("entities"))
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    entities = auto_entities(plain, entities)
    content: JSON = {"text": plain}
    if entities:
        content["entities"] = entities
    preview = params.obj("link_preview_options")
    if isinstance(preview, dict) and preview and any(e["type"] == "url" for e in entities):
        content["link_preview_options"] = preview
    return content


def caption_content(params: Params) -> JSON:
    caption = params.text("caption")
    if not caption:
        return {}
    plain, entities = apply_parse_mode(
        caption, params.text("parse_mode"), params.obj("caption_entities")
    )
    if len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    content: JSON = {"caption": plain}
    entities = auto_entities(plain, entities)
    if entities:
        content["caption_entities"] = entities
    if params.flag("show_caption_above_media"):
        content["show_caption_above_media"] = True
    return content


def finish_send(
    bot: BotWorld,
    method_name: str,
    chat: Chat,
    content: JSON,
    params: Params,
    thread_id: int | None,
    reply_to: MessageRecord | None,
) -> MessageRecord:
    """Store a message the bot sends and account for it."""
    markup = inline_markup(chat, params)
    if params.flag("protect_content"):
        content["has_protected_content"] = True
    if markup is not None:
        content["reply_markup"] = markup
    record = bot.post(
        chat,
        bot.bot_user(),
        content,
        direction="from_bot",
        thread_id=thread_id,
        reply_to=reply_to,
    )
    bot.stats.record_send(method_name, chat.id, record.message_id)
    return record


def content_of(record: MessageRecord) -> JSON:
    """The copyable part of a message (what copyMessage reproduces)."""
    snapshot = record.snapshot()
    return {key: snapshot[key] for key in CONTENT_KEYS if key in snapshot}


def is_service(record: MessageRecord) -> bool:
    return record.service or any(key in record.message for key in SERVICE_KEYS)

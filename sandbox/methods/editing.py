"""Changing sent messages: edits, deletion and pins."""

from __future__ import annotations

from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.common import MEDIA_KEYS, caption_content, inline_markup, text_content
from sandbox.methods.registry import method
from sandbox.models import JSON, Chat, MessageRecord
from sandbox.params import Params
from sandbox.world import BotWorld, now

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


def _editable(bot: BotWorld, params: Params) -> tuple[Chat, MessageRecord]:
    if params.has("inline_message_id"):
        raise bad_request("inline messages are not supported by the sandbox")
    chat = bot.chat(params.chat_id())
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    record = chat.live(message_id)
    if record is None:
        raise bad_request("message to edit not found")
    if record.direction != "from_bot" or record.service:
        raise bad_request("message can't be edited")
    return chat, record


def _apply_edit(
    bot: BotWorld, record: MessageRecord, fields: JSON, removed: tuple[str, ...]
) -> Any:
    """Replace ``fields`` (dropping ``removed`` ones not given); error if nothing changes."""
    message = record.message
    before = {k: message.get(k) for k in (*fields, *removed)}
    after = {k: fields.get(k) for k in before}
    if before == after:
        raise bad_request(NOT_MODIFIED)
    for key in removed:
        message.pop(key, None)
    message.update({k: v for k, v in fields.items() if v is not None})
    message["edit_date"] = now()
    record.edited = True
    bot.changed(record)
    return record.snapshot()


def _markup_field(chat: Chat, params: Params) -> JSON:
    # Telegram drops the inline keyboard when an edit does not pass one.
    return {"reply_markup": inline_markup(chat, params)}


@method("editMessageText")
async def edit_message_text(bot: BotWorld, params: Params) -> Any:
    chat, record = _editable(bot, params)
    if "text" not in record.message:
        raise bad_request("there is no text in the message to edit")
    content = text_content(params)
    fields = {
        "text": content["text"],
        "entities": content.get("entities"),
        "link_preview_options": content.get("link_preview_options"),
        **_markup_field(chat, params),
    }
    return _apply_edit(bot, record, fields, ("entities", "link_preview_options", "reply_markup"))


@method("editMessageCaption")
async def edit_message_caption(bot: BotWorld, params: Params) -> Any:
    chat, record = _editable(bot, params)
    if not any(key in record.message for key in MEDIA_KEYS):
        raise bad_request("there is no caption in the message to edit")
    content = caption_content(params)
    fields = {
        "caption": content.get("caption"),
        "caption_entities": content.get("caption_entities"),
        **_markup_field(chat, params),
    }
    return _apply_edit(bot, record, fields, ("caption", "caption_entities", "reply_markup"))


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(bot: BotWorld, params: Params) -> Any:
    chat, record = _editable(bot, params)
    return _apply_edit(bot, record, _markup_field(chat, params), ("reply_markup",))


def _delete(bot: BotWorld, chat: Chat, message_id: int) -> None:
    record = chat.live(message_id)
    if record is None:
        raise bad_request("message to delete not found")
    own = record.direction == "from_bot"
    # Bots may delete anything in private chats; in groups they need the right.
    if chat.user is None and not own and not bot.bot_member(chat).can("can_delete_messages"):
        raise bad_request("message can't be deleted")
    record.deleted = True
    bot.changed(record)


@method("deleteMessage")
async def delete_message(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    _delete(
        bot, chat, params.required_integer("message_id", "message identifier is not specified")
    )
    return True


@method("deleteMessages")
async def delete_messages(bot: BotWorld, params: Params) -> Any:
    chat = bot.chat(params.chat_id())
    ids = params.obj("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must contain 1-100 identifiers")
    deleted = 0
    for message_id in ids:
        if isinstance(message_id, int) and chat.live(message_id) is not None:
            _delete(bot, chat, message_id)
            deleted += 1
    if not deleted:
        raise bad_request("message to delete not found")
    return True


def _check_pin_rights(bot: BotWorld, chat: Chat) -> None:
    if chat.user is None and not bot.bot_member(chat).can("can_pin_messages"):
        raise bad_request("not enough rights to manage pinned messages in the chat")


@method("pinChatMessage")
async def pin_chat_message(bot: BotWorld, params: Params) -> Any:
    chat = bot.writable_chat(params.chat_id())
    _check_pin_rights(bot, chat)
    message_id = params.integer("message_id")
    record = chat.live(message_id) if message_id is not None else None
    if record is None:
        raise bad_request("message to pin not found")
    if record.message_id in chat.pinned:
        chat.pinned.remove(record.message_id)
    chat.pinned.append(record.message_id)
    pinned = record.snapshot()
    pinned.pop("reply_to_message", None)
    bot.post(
        chat,
        bot.bot_user(),
        {"pinned_message": pinned},
        direction="from_bot",
        thread_id=record.thread_id,
        service=True,
    )
    return True


@method("unpinChatMessage")
async def unpin_chat_message(bot: BotWorld, params: Params) -> Any:
    chat = bot.writable_chat(params.chat_id())
    _check_pin_rights(bot, chat)
    message_id = params.integer("message_id")
    if message_id is None:
        if chat.pinned:
            chat.pinned.pop()
        return True
    if message_id not in chat.pinned:
        raise bad_request("message to unpin not found")
    chat.pinned.remove(message_id)
    return True


@method("unpinAllChatMessages")
async def unpin_all_chat_messages(bot: BotWorld, params: Params) -> Any:
    chat = bot.writable_chat(params.chat_id())
    _check_pin_rights(bot, chat)
    chat.pinned.clear()
    return True

"""Methods that send new messages: text, media, albums, locations, contacts, copies."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.common import (
    MAX_CAPTION,
    MEDIA_KEYS,
    caption_content,
    content_of,
    finish_send,
    is_service,
    send_target,
    text_content,
)
from sandbox.methods.registry import method
from sandbox.models import JSON
from sandbox.params import Params
from sandbox.world import BotWorld

# Method -> (media kind, parameters that describe the file and are echoed in the object).
_MEDIA_METHODS = {
    "sendPhoto": ("photo", ()),
    "sendDocument": ("document", ()),
    "sendVideo": ("video", ("duration", "width", "height")),
    "sendAudio": ("audio", ("duration", "performer", "title")),
    "sendVoice": ("voice", ("duration",)),
    "sendSticker": ("sticker", ("emoji",)),
    "sendAnimation": ("animation", ("duration", "width", "height")),
    "sendVideoNote": ("video_note", ("duration", "length")),
}
_CANT = {"copy": "message can't be copied", "forward": "message can't be forwarded"}
_ALBUM_KINDS = {"photo", "video", "document", "audio"}
_INT_META = {"duration", "width", "height", "length"}


def _meta(params: Params, names: tuple[str, ...]) -> JSON:
    meta: JSON = {}
    for name in names:
        value = params.integer(name) if name in _INT_META else params.text(name)
        if value is not None:
            meta[name] = value
    return meta


def media_content(bot: BotWorld, kind: str, params: Params, meta: JSON) -> JSON:
    """The Message fields for a media kind sent with ``params`` (file, caption, spoiler)."""
    value = params.media(kind)
    if value is None or value == "":
        raise bad_request(f"there is no {kind} in the request")
    stored = bot.files.from_input(kind, value, meta)
    content: JSON = {kind: bot.files.media_object(stored)}
    if kind == "animation":
        # Telegram sends an animation as both fields, for clients that predate animations.
        content["document"] = {**content["animation"]}
        for key in ("width", "height", "duration"):
            content["document"].pop(key, None)
    if kind != "sticker":
        content.update(caption_content(params))
    if params.flag("has_spoiler"):
        content["has_media_spoiler"] = True
    return content


@method("sendMessage")
async def send_message(bot: BotWorld, params: Params) -> Any:
    content = text_content(params)
    chat, thread_id, reply_to = send_target(bot, params)
    record = finish_send(bot, "sendMessage", chat, content, params, thread_id, reply_to)
    return record.snapshot()


def _register_media_method(name: str, kind: str, meta_names: tuple[str, ...]) -> None:
    async def send_media(bot: BotWorld, params: Params) -> Any:
        content = media_content(bot, kind, params, _meta(params, meta_names))
        chat, thread_id, reply_to = send_target(bot, params)
        return finish_send(bot, name, chat, content, params, thread_id, reply_to).snapshot()

    send_media.__name__ = f"send_{kind}"
    method(name)(send_media)


for _name, (_kind, _meta_names) in _MEDIA_METHODS.items():
    _register_media_method(_name, _kind, _meta_names)


@method("sendLocation")
async def send_location(bot: BotWorld, params: Params) -> Any:
    latitude, longitude = params.number("latitude"), params.number("longitude")
    if latitude is None or longitude is None:
        raise bad_request("wrong latitude or longitude specified")
    location: JSON = {"latitude": latitude, "longitude": longitude}
    accuracy = params.number("horizontal_accuracy")
    if accuracy is not None:
        location["horizontal_accuracy"] = accuracy
    chat, thread_id, reply_to = send_target(bot, params)
    record = finish_send(
        bot, "sendLocation", chat, {"location": location}, params, thread_id, reply_to
    )
    return record.snapshot()


@method("sendContact")
async def send_contact(bot: BotWorld, params: Params) -> Any:
    contact: JSON = {
        "phone_number": params.required_text("phone_number", "phone number is empty"),
        "first_name": params.required_text("first_name", "contact first name is empty"),
    }
    for name in ("last_name", "vcard"):
        if params.text(name):
            contact[name] = params.text(name)
    chat, thread_id, reply_to = send_target(bot, params)
    record = finish_send(
        bot, "sendContact", chat, {"contact": contact}, params, thread_id, reply_to
    )
    return record.snapshot()


def _album_item(bot: BotWorld, params: Params, item: Any) -> JSON:
    if not isinstance(item, dict) or item.get("type") not in _ALBUM_KINDS:
        raise bad_request("can't parse InputMedia: unsupported media type")
    kind = str(item["type"])
    media = item.get("media")
    if not isinstance(media, str) or not media:
        raise bad_request("can't parse InputMedia: media not found")
    fields = {k: v for k, v in item.items() if k not in {"type", "media"}}
    item_params = Params({**fields, kind: media}, None)
    file = params.resolve_attachment(media)
    meta = {
        k: fields[k] for k in ("duration", "width", "height") if isinstance(fields.get(k), int)
    }
    stored = bot.files.from_input(kind, file, meta)
    content: JSON = {kind: bot.files.media_object(stored)}
    content.update(caption_content(item_params))
    return content


@method("sendMediaGroup")
async def send_media_group(bot: BotWorld, params: Params) -> Any:
    items = params.obj("media")
    if not isinstance(items, list) or not 2 <= len(items) <= 10:
        raise bad_request("media must include 2-10 items")
    contents = [_album_item(bot, params, item) for item in items]
    chat, thread_id, reply_to = send_target(bot, params)
    group_id = str(secrets.randbelow(9 * 10**17) + 10**17)
    bare = Params({k: params.raw(k) for k in params.names() if k != "reply_markup"})
    sent = []
    for content in contents:
        content["media_group_id"] = group_id
        record = finish_send(bot, "sendMediaGroup", chat, content, bare, thread_id, reply_to)
        sent.append(record.snapshot())
    return sent


def _source(bot: BotWorld, params: Params, action: str) -> Any:
    source_chat = bot.chat(params.chat_id("from_chat_id"))
    message_id = params.integer("message_id")
    record = source_chat.live(message_id) if message_id is not None else None
    if record is None:
        raise bad_request(f"message to {action} not found")
    if is_service(record):
        raise bad_request(_CANT[action])
    return record


@method("copyMessage")
async def copy_message(bot: BotWorld, params: Params) -> Any:
    source = _source(bot, params, "copy")
    content = content_of(source)
    if params.has("caption") and any(k in content for k in MEDIA_KEYS):
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(caption_content(params))
        if len(content.get("caption", "")) > MAX_CAPTION:
            raise bad_request("message caption is too long")
    chat, thread_id, reply_to = send_target(bot, params)
    record = finish_send(bot, "copyMessage", chat, content, params, thread_id, reply_to)
    return {"message_id": record.message_id}


@method("forwardMessage")
async def forward_message(bot: BotWorld, params: Params) -> Any:
    source = _source(bot, params, "forward")
    original = source.message
    content = content_of(source)
    content["forward_origin"] = original.get("forward_origin") or {
        "type": "user",
        "sender_user": original.get("from"),
        "date": original["date"],
    }
    bare = Params({k: params.raw(k) for k in params.names() if k != "reply_markup"})
    chat, thread_id, _ = send_target(bot, params)
    record = finish_send(bot, "forwardMessage", chat, content, bare, thread_id, None)
    return record.snapshot()

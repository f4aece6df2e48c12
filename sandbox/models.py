"""Plain records of the simulated Telegram world (users, chats, messages, topics)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
Direction = Literal["from_bot", "to_bot"]
ChatType = Literal["private", "supergroup"]
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]

DEFAULT_TOPIC_COLOR = 7322096
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)
# Rights a ChatMemberAdministrator object must always carry (the rest are optional).
_REQUIRED_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
# What a ChatMemberRestricted object always carries.
_RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def drop_none(data: JSON) -> JSON:
    return {k: v for k, v in data.items() if v is not None}


@dataclass
class UserProfile:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    is_bot: bool = False
    started: bool = True  # False: the bot may not write first ("can't initiate conversation")

    def to_api(self) -> JSON:
        return drop_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
                "is_premium": True if self.is_premium else None,
            }
        )

    def to_control(self) -> JSON:
        return {**self.to_api(), "is_premium": self.is_premium, "started": self.started}


@dataclass
class Member:
    user_id: int
    status: MemberStatus
    rights: dict[str, bool] = field(default_factory=dict)

    def to_api(self, user: JSON) -> JSON:
        if self.status == "creator":
            return {"status": "creator", "user": user, "is_anonymous": False}
        if self.status == "administrator":
            rights = {name: self.rights.get(name, False) for name in _REQUIRED_ADMIN_RIGHTS}
            rights.update(self.rights)
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                **rights,
            }
        if self.status == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        if self.status == "restricted":
            # A member who may send messages but nothing else (rights default to False).
            rights = {name: self.rights.get(name, False) for name in _RESTRICTED_RIGHTS}
            rights["can_send_messages"] = self.rights.get("can_send_messages", True)
            return {
                "status": "restricted",
                "user": user,
                "is_member": True,
                **rights,
                "until_date": 0,
            }
        return {"status": self.status, "user": user}

    def can(self, right: str) -> bool:
        return self.status == "creator" or (
            self.status == "administrator" and self.rights.get(right, False)
        )


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int = DEFAULT_TOPIC_COLOR
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def to_api(self) -> JSON:
        return drop_none(
            {
                "message_thread_id": self.thread_id,
                "name": self.name,
                "icon_color": self.icon_color,
                "icon_custom_emoji_id": self.icon_custom_emoji_id,
            }
        )

    def to_control(self) -> JSON:
        return {**self.to_api(), "is_closed": self.closed}


@dataclass
class MessageRecord:
    """One message as the sandbox remembers it, plus bookkeeping the wire never shows."""

    message: JSON
    direction: Direction
    seq: int
    service: bool = False
    deleted: bool = False
    edited: bool = False

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def thread_id(self) -> int | None:
        value = self.message.get("message_thread_id")
        return int(value) if value is not None else None

    def snapshot(self) -> JSON:
        return copy.deepcopy(self.message)

    def to_control(self) -> JSON:
        return {
            "seq": self.seq,
            "message_id": self.message_id,
            "direction": self.direction,
            "service": self.service,
            "deleted": self.deleted,
            "edited": self.edited,
            "message_thread_id": self.thread_id,
            "message": self.snapshot(),
        }


@dataclass
class Chat:
    id: int
    type: ChatType
    title: str | None = None
    is_forum: bool = False
    user: UserProfile | None = None
    members: dict[int, Member] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    next_message_id: int = 1
    pinned: list[int] = field(default_factory=list)
    reply_keyboard: JSON | None = None
    last_action: tuple[str, float] | None = None

    def to_api(self) -> JSON:
        if self.user is not None:
            profile = self.user
            return drop_none(
                {
                    "id": self.id,
                    "type": "private",
                    "first_name": profile.first_name,
                    "last_name": profile.last_name,
                    "username": profile.username,
                }
            )
        return drop_none(
            {
                "id": self.id,
                "title": self.title,
                "type": self.type,
                "is_forum": True if self.is_forum else None,
            }
        )

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def live(self, message_id: int) -> MessageRecord | None:
        record = self.messages.get(message_id)
        return record if record is not None and not record.deleted else None


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created: float
    answer: JSON | None = None

    def to_control(self) -> JSON:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answer is not None,
            "answer": self.answer,
        }

"""What the adapter hands the engine: the fan as loaded, and the input that arrived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dialogs.model import FieldValue
from dialogs.state import ConversationState

__all__ = [
    "ButtonPress",
    "DailyOpener",
    "FanSnapshot",
    "GoTo",
    "Input",
    "Media",
    "Start",
    "Text",
]


@dataclass(frozen=True)
class FanSnapshot:
    """One fan as the adapter loaded it; the engine reads it and never changes it."""

    fan_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    telegram_language_code: str | None = None  # as Telegram sent it, e.g. "zh-hans"
    language: str | None = None  # chosen by the fan; None means "from Telegram"
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    first_origin: str | None = None  # deep-link codes
    latest_origin: str | None = None
    consents: frozenset[str] = frozenset()  # granted purposes: daily, offers, profiling
    is_new: bool = False  # first contact ever
    conversation: ConversationState = field(default_factory=ConversationState)
    timezone: str | None = None  # IANA name; None means the brand's


@dataclass(frozen=True)
class Start:
    """/start, with the deep-link payload (already checked for format) or None."""

    payload: str | None = None


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ButtonPress:
    """A callback query; `message_id` (if known) goes into consent proofs."""

    data: str
    message_id: int | None = None


@dataclass(frozen=True)
class Media:
    kind: str  # photo, sticker, voice, video, document...


@dataclass(frozen=True)
class DailyOpener:
    """The planner asks for today's topic of the daily conversation."""


@dataclass(frozen=True)
class GoTo:
    """Staff hand the fan back to the bot at `target` ("dialog.step" or "dialog")."""

    target: str


Input = Start | Text | ButtonPress | Media | DailyOpener | GoTo

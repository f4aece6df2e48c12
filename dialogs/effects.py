"""What the engine asks the adapter to do: frozen values, applied in order.

The adapter writes all effects of one `Outcome` in one transaction, then sends the
`Reply` effects through Telegram. Nothing here touches storage or the network.

`Source` says where a tag or field came from. Its `kind` is one of:
`button` (ref "dialog.step#button"), `capture` (ref "dialog.step"),
`keyword` (ref: the keyword) and `campaign` (ref: the deep-link code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dialogs.model import FieldValue
from dialogs.state import ConversationState

__all__ = [
    "AddTag",
    "CampaignStart",
    "Effect",
    "Escalate",
    "GrantConsent",
    "KeywordHit",
    "LoopStopped",
    "OptIn",
    "OptOut",
    "Outcome",
    "RecordEvent",
    "RefuseConsent",
    "RemoveTag",
    "RenderFailed",
    "Reply",
    "ReplyButton",
    "SetField",
    "SetLanguage",
    "Skipped",
    "Source",
]

JsonScalar = str | int | float | bool | None
SourceKind = Literal["button", "capture", "keyword", "campaign"]


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    ref: str


@dataclass(frozen=True)
class ReplyButton:
    label: str
    callback_data: str  # at most 64 bytes; starts with "d:" (see dialogs.callbacks)


@dataclass(frozen=True)
class Reply:
    """Send this text (plain, no parse mode) with inline buttons in rows."""

    text: str
    buttons: tuple[tuple[ReplyButton, ...], ...] = ()
    step: str | None = None  # the "dialog.step" that produced it, for the timeline
    parse_mode: None = None


@dataclass(frozen=True)
class AddTag:
    tag: str
    source: Source


@dataclass(frozen=True)
class RemoveTag:
    tag: str
    source: Source


@dataclass(frozen=True)
class SetField:
    """Store a profile field: text, a number, a choice's option id, or a `date`."""

    name: str
    value: FieldValue
    source: Source
    category: Literal["registration", "operation", "transaction"]


@dataclass(frozen=True)
class RecordEvent:
    """Add to the fan's timeline: `button`, `gift_claimed`, `daily_topic`, `capture_gave_up`,
    or any kind an editor named with `event:`."""

    kind: str
    data: Mapping[str, JsonScalar]


@dataclass(frozen=True)
class KeywordHit:
    keyword: str


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class GrantConsent:
    purpose: str
    proof: Mapping[str, JsonScalar]  # version, step, button, label, purpose text, time...


@dataclass(frozen=True)
class RefuseConsent:
    purpose: str
    proof: Mapping[str, JsonScalar]


@dataclass(frozen=True)
class Escalate:
    """The fan asked for a person: open a handoff to the staff chat."""

    reason: str


@dataclass(frozen=True)
class OptOut:
    """Stop all proactive messages to this fan."""


@dataclass(frozen=True)
class OptIn:
    """Proactive messages are welcome again."""


@dataclass(frozen=True)
class CampaignStart:
    """The fan came through a deep link; `known` is False for a code not in campaigns.yaml."""

    code: str
    known: bool


@dataclass(frozen=True)
class RenderFailed:
    """A template failed at run time; fallback text was sent instead. Log and count it."""

    step: str | None
    language: str
    error: str


@dataclass(frozen=True)
class LoopStopped:
    """Steps kept flowing into each other without waiting; the engine stopped at `step`."""

    step: str


@dataclass(frozen=True)
class Skipped:
    """The engine decided to send nothing (no consent, unknown step...): `reason` is for logs."""

    reason: str


Effect = (
    Reply
    | AddTag
    | RemoveTag
    | SetField
    | RecordEvent
    | KeywordHit
    | SetLanguage
    | GrantConsent
    | RefuseConsent
    | Escalate
    | OptOut
    | OptIn
    | CampaignStart
    | RenderFailed
    | LoopStopped
    | Skipped
)


@dataclass(frozen=True)
class Outcome:
    """The result of one input: effects in order, and the state to store."""

    effects: tuple[Effect, ...]
    state: ConversationState
    language: str  # the script language used for this fan

    @property
    def replies(self) -> tuple[Reply, ...]:
        return tuple(effect for effect in self.effects if isinstance(effect, Reply))

"""The engine's memory of one fan's conversation, stored by the adapter as JSON.

The state names things (dialog and step ids, field names, topic ids), never
positions or indexes, so it stays meaningful when a new brand version arrives.
Whether the fan is awaiting a free-text answer is not stored: it is read from the
current version of the step, so an editor's change applies at once.

Reading is forgiving: a missing, old or garbled JSON value gives an empty or partial
state instead of an error, because a fan must never be stuck on a bad row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_STACK", "STATE_FORMAT", "ConversationState"]

STATE_FORMAT = 1
MAX_STACK = 5  # return points kept; older ones are dropped


@dataclass(frozen=True)
class ConversationState:
    """Where the fan is, what to come back to, and what was already asked or shown."""

    dialog: str | None = None  # current dialog id, None when no dialog is open
    step: str | None = None  # current step id inside `dialog`
    reasks: int = 0  # failed answers to the current step's capture
    stack: tuple[str, ...] = ()  # "dialog.step" refs to continue at, innermost last
    asked: Mapping[str, str] = field(default_factory=dict)  # profile field -> ISO date
    topics_done: tuple[str, ...] = ()  # daily topics shown in the current round
    version: str | None = None  # brand version that wrote this state (for logs)

    @property
    def position(self) -> str | None:
        """The current step as "dialog.step", or None."""
        if self.dialog is None or self.step is None:
            return None
        return f"{self.dialog}.{self.step}"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "dialog": self.dialog,
            "step": self.step,
            "reasks": self.reasks,
            "stack": list(self.stack),
            "asked": dict(sorted(self.asked.items())),
            "topics_done": list(self.topics_done),
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: Any) -> ConversationState:
        """Read a stored state; anything unreadable is replaced by its default."""
        if not isinstance(data, Mapping):
            return cls()
        dialog, step = _text(data.get("dialog")), _text(data.get("step"))
        if dialog is None or step is None:
            dialog = step = None
        reasks = data.get("reasks")
        return cls(
            dialog=dialog,
            step=step,
            reasks=reasks if type(reasks) is int and reasks >= 0 else 0,
            stack=_texts(data.get("stack"))[-MAX_STACK:],
            asked=_asked(data.get("asked")),
            topics_done=_texts(data.get("topics_done")),
            version=_text(data.get("version")),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _asked(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

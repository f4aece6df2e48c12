"""A brand's compiled rules: what the scheduler evaluates, built once per brand version.

Every reference is resolved (steps are "dialog.step", buttons are callback data) and every
template compiled and checked; message templates keep their source, which is what an
outbox row stores and the sender renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

from dialogs.conditions import Condition, format_duration

__all__ = [
    "Action",
    "AddTags",
    "AnniversaryTrigger",
    "CancelRule",
    "EventTrigger",
    "InactivityTrigger",
    "Limit",
    "NotifyStaff",
    "RemoveTags",
    "Rule",
    "ScheduleTrigger",
    "SendStep",
    "SendText",
    "SetFields",
    "Trigger",
]

EventKindName = Literal[
    "joined", "tag_added", "field_set", "keyword", "button", "gift_claimed", "message"
]


@dataclass(frozen=True)
class EventTrigger:
    """Something the fan did; `value` narrows it (campaign, tag, field, keyword, button)."""

    kind: EventKindName
    value: str | None = None

    def describe(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind


@dataclass(frozen=True)
class ScheduleTrigger:
    cron: str
    fan_clock: bool  # True: on each fan's wall clock; False: the brand's

    def describe(self) -> str:
        return f"schedule '{self.cron}' ({'fan' if self.fan_clock else 'brand'} clock)"


@dataclass(frozen=True)
class AnniversaryTrigger:
    field: str  # a date field
    at: time  # the fan's local time on the day

    def describe(self) -> str:
        return f"anniversary of {self.field} at {self.at:%H:%M}"


@dataclass(frozen=True)
class InactivityTrigger:
    silent_for: timedelta

    def describe(self) -> str:
        return f"inactive for {format_duration(self.silent_for)}"


Trigger = EventTrigger | ScheduleTrigger | AnniversaryTrigger | InactivityTrigger


@dataclass(frozen=True)
class SendStep:
    step: str  # "dialog.step": outbox content {"step": ...}


@dataclass(frozen=True)
class SendText:
    texts: Mapping[str, str]  # language -> template source: outbox content {"text": ...}


@dataclass(frozen=True)
class AddTags:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RemoveTags:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SetFields:
    values: tuple[tuple[str, str | int | float | date], ...]  # checked against the field type
    categories: Mapping[str, str]  # field -> registration / operation / transaction


@dataclass(frozen=True)
class NotifyStaff:
    template: str  # source; rendered for the fan at send time


@dataclass(frozen=True)
class CancelRule:
    rule: str


Action = SendStep | SendText | AddTags | RemoveTags | SetFields | NotifyStaff | CancelRule


@dataclass(frozen=True)
class Limit:
    kind: Literal["once", "always", "every"]
    every: timedelta | None = None

    def describe(self) -> str:
        if self.every is not None:
            return f"every {format_duration(self.every)}"
        return self.kind


@dataclass(frozen=True)
class Rule:
    name: str
    trigger: Trigger
    condition: Condition | None
    actions: tuple[Action, ...]
    delay: timedelta
    recheck: Condition | None  # re-checked at send time
    limit: Limit
    priority: int
    purpose: str | None  # the consent a send needs
    enabled: bool

"""The shape of rules.yaml, as pydantic models (references are checked by the compiler).

    rules:
      spring_gift_reminder:
        trigger: {event: joined, campaign: spring_gift}
        condition: {not: {claimed_gift: spring_gift}}
        delay: 3d
        recheck: true
        limit: once
        priority: 5
        purpose: offers
        actions:
          - send: spring_gift.claim

Each model is flat (a trigger is one mapping with optional keys, an action one mapping
with exactly one key), so pydantic reports one error per mistake, on the key written.
Conditions are kept as plain data here and validated by the compiler with the condition
language's own model, whose error locations need `clean_location`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from dialogs.conditions import Duration
from dialogs.schema import Tag, Texts

__all__ = [
    "EVENT_KINDS",
    "ActionSpec",
    "LimitSpec",
    "RuleSpec",
    "RulesFile",
    "TriggerSpec",
    "short_trigger",
]

EVENT_KINDS = (
    "joined",
    "tag_added",
    "field_set",
    "keyword",
    "button",
    "gift_claimed",
    "message",
)
_ACTION_KEYS = (
    "send",
    "message",
    "start",
    "add_tags",
    "remove_tags",
    "set_field",
    "notify_staff",
    "cancel",
)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def short_trigger(value: Any) -> Any:
    """`trigger: message` means `{event: message}`."""
    return {"event": value} if isinstance(value, str) else value


def _short_limit(value: Any) -> Any:
    """`limit: once` means `{kind: once}`; `limit: {every: 7d}` means `{kind: every, ...}`."""
    if isinstance(value, str):
        return {"kind": value}
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "every", **value}
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class TriggerSpec(_Model):
    """Exactly one of `event`, `schedule`, `anniversary` or `inactive_for`."""

    event: (
        Literal["joined", "tag_added", "field_set", "keyword", "button", "gift_claimed", "message"]
        | None
    ) = None
    campaign: str | None = None  # joined, gift_claimed: only via this campaign code
    tag: Tag | None = None  # tag_added
    field: str | None = None  # field_set
    keyword: str | None = None  # keyword
    step: str | None = None  # button: a button of this step ("dialog.step")
    button: str | None = None  # button: its id (or its label in the default language)
    schedule: str | None = None  # cron: minute hour day month weekday
    clock: Literal["brand", "fan"] = "brand"  # whose wall clock the schedule reads
    anniversary: str | None = None  # a date field: every year on its day
    at: str = "10:00"  # anniversary: the fan's local time
    inactive_for: Duration | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> TriggerSpec:
        given = [
            name
            for name in ("event", "schedule", "anniversary", "inactive_for")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a trigger needs exactly one of event, schedule, anniversary, inactive_for"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class LimitSpec(_Model):
    """Re-entry: `once` per fan, at most once `every` N, or `always`."""

    kind: Literal["once", "always", "every"]
    every: Duration | None = None

    @model_validator(mode="after")
    def _every_has_a_duration(self) -> LimitSpec:
        if (self.kind == "every") != (self.every is not None):
            raise ValueError("write the limit as once, always or {every: 7d}")
        return self


class ActionSpec(_Model):
    """One action: a mapping with exactly one key."""

    send: str | None = None  # a step, "dialog.step" (or a dialog: its entry)
    message: Texts | None = None  # a message template per language
    start: str | None = None  # a dialog, from its first step
    add_tags: Annotated[list[Tag] | None, BeforeValidator(_one_or_many)] = None
    remove_tags: Annotated[list[Tag] | None, BeforeValidator(_one_or_many)] = None
    set_field: dict[str, str | int | float | bool] | None = None
    notify_staff: Annotated[str, Field(min_length=1)] | None = None  # a template
    cancel: str | None = None  # another rule's name: its pending sends for this fan

    @model_validator(mode="after")
    def _one_key(self) -> ActionSpec:
        given = [key for key in _ACTION_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                "an action has exactly one of " + ", ".join(_ACTION_KEYS)
                if not given
                else f"an action has exactly one key (got {', '.join(given)}); "
                "write each as its own list item"
            )
        return self


class RuleSpec(_Model):
    """A rule's own keys; its trigger and each action are validated on their own."""

    trigger: Any
    condition: Any = None  # the condition language; validated by the compiler
    actions: Annotated[list[Any], Field(min_length=1)]
    delay: Duration = timedelta(0)
    recheck: Any = None  # true (the rule's condition again) or a condition
    limit: Annotated[LimitSpec, BeforeValidator(_short_limit)] = LimitSpec(kind="once")
    priority: int = Field(default=0, ge=0, le=100)
    purpose: Literal["daily", "offers", "profiling"] | None = "offers"
    enabled: bool = True


class RulesFile(_Model):
    rules: dict[str, Any] = {}  # name -> RuleSpec, validated one by one

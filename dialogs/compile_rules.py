"""Compile rules.yaml: triggers, conditions, actions; every reference checked.

Runs after the steps are compiled, so sends, buttons, fields, keywords and campaigns
resolve against the same brand version; a mistake is a `rules.yaml:line:column` problem
and rejects the whole version like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, TypeAdapter, ValidationError

from dialogs.checker import Checker
from dialogs.compile_fields import field_value
from dialogs.conditions import (
    AllOf,
    AnyOf,
    ClaimedGift,
    Condition,
    FieldIs,
    FromOrigin,
    HasConsent,
    Not,
    Said,
    clean_location,
)
from dialogs.files import RulesPart
from dialogs.model import Button, Campaign, FieldDef, FieldValue
from dialogs.rule_model import (
    Action,
    AddTags,
    AnniversaryTrigger,
    CancelRule,
    EventTrigger,
    InactivityTrigger,
    Limit,
    NotifyStaff,
    RemoveTags,
    Rule,
    ScheduleTrigger,
    SendStep,
    SendText,
    SetFields,
    Trigger,
)
from dialogs.rule_schema import ActionSpec, RuleSpec, TriggerSpec, short_trigger
from dialogs.schema import PURPOSES
from dialogs.shape_errors import shape_problems
from dialogs.yamlnodes import Path, YamlDoc

__all__ = ["RuleCompiler"]

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
M = TypeVar("M", bound=BaseModel)

# The keys each kind of event trigger may narrow itself with.
_EVENT_KEYS: Mapping[str, tuple[str, ...]] = {
    "joined": ("campaign",),
    "gift_claimed": ("campaign",),
    "tag_added": ("tag",),
    "field_set": ("field",),
    "keyword": ("keyword",),
    "button": ("step", "button"),
    "message": (),
}
_REQUIRED = {"tag_added": "tag", "field_set": "field", "keyword": "keyword", "button": "step"}
_NARROWING = ("campaign", "tag", "field", "keyword", "step", "button")


@dataclass
class RuleCompiler:
    checker: Checker
    fields: Mapping[str, FieldDef]
    campaigns: Mapping[str, Campaign]
    broken_campaigns: frozenset[str]
    buttons: Mapping[str, Button]  # callback data -> button
    timezone: str  # the brand's, for schedules on the brand clock

    def rules(self, part: RulesPart | None) -> dict[str, Rule]:
        if part is None:
            return {}
        compiled: dict[str, Rule] = {}
        names = frozenset(part.rules)
        for name, spec in part.rules.items():
            rule = self.rule(part.doc, name, spec, names)
            if rule is not None:
                compiled[name] = rule
        return compiled

    def rule(
        self, doc: YamlDoc, name: str, spec: RuleSpec | None, names: frozenset[str]
    ) -> Rule | None:
        """The rule, or None if broken; a broken rule's parts are still checked."""
        path: Path = ("rules", name)
        trigger_spec = (
            self._shape(doc, (*path, "trigger"), TriggerSpec, short_trigger)
            if doc.value_at((*path, "trigger")) is not None
            else None  # missing: reported with the rule's own keys
        )
        trigger = self.trigger(doc, (*path, "trigger"), trigger_spec) if trigger_spec else None
        condition = self.condition(doc, (*path, "condition"), doc.value_at((*path, "condition")))
        actions: list[Action | None] = []
        raw_actions = doc.value_at((*path, "actions"))
        for index in range(len(raw_actions) if isinstance(raw_actions, list) else 0):
            action_path = (*path, "actions", index)
            action_spec = self._shape(doc, action_path, ActionSpec)
            actions.append(
                self.action(doc, action_path, action_spec, names) if action_spec else None
            )
        recheck = self._recheck(
            doc, (*path, "recheck"), doc.value_at((*path, "recheck")), condition
        )
        if spec is None or trigger is None or None in actions:
            return None
        return Rule(
            name=name,
            trigger=trigger,
            condition=condition,
            actions=tuple(action for action in actions if action is not None),
            delay=spec.delay,
            recheck=recheck,
            limit=Limit(spec.limit.kind, spec.limit.every),
            priority=spec.priority,
            purpose=spec.purpose,
            enabled=spec.enabled,
        )

    def _shape(
        self,
        doc: YamlDoc,
        path: Path,
        model: type[M],
        expand: Callable[[Any], Any] = lambda value: value,
    ) -> M | None:
        try:
            return model.model_validate(expand(doc.value_at(path)))
        except ValidationError as error:
            self.checker.problems.extend(shape_problems(doc, model, error, path))
            return None

    # conditions ---------------------------------------------------------------------------

    def condition(self, doc: YamlDoc, path: Path, data: Any) -> Condition | None:
        if data is None:
            return None
        try:
            condition = _CONDITION.validate_python(data)
        except ValidationError as error:
            self._condition_problems(doc, path, error)
            return None
        for where, kind, name in _references(condition, ()):
            self._check_reference(doc, (*path, *where), kind, name)
        return condition

    def _condition_problems(self, doc: YamlDoc, path: Path, error: ValidationError) -> None:
        for detail in error.errors():
            where = clean_location(detail["loc"])
            kind = detail["type"]
            if kind == "missing":
                message, on_key = f"missing required key '{where[-1]}'", True
                where = where[:-1]
            elif kind == "extra_forbidden":
                message, on_key = f"unknown key '{where[-1]}'", True
            elif kind == "value_error":
                message, on_key = str(detail.get("ctx", {}).get("error", detail["msg"])), False
            else:
                message, on_key = detail["msg"], False
            self.checker.report(doc, (*path, *where), message, on_key=on_key)

    def _check_reference(self, doc: YamlDoc, path: Path, kind: str, name: str) -> None:
        check = self.checker
        if kind == "field" and name not in check.field_names:
            check.report(doc, path, f"unknown field '{name}'")
        elif kind == "keyword" and name not in check.keyword_names:
            check.report(doc, path, f"unknown keyword '{name}'")
        elif kind == "campaign":
            self._campaign(doc, path, name)
        elif kind == "purpose" and name not in PURPOSES:
            check.report(doc, path, f"unknown consent '{name}' (use {', '.join(PURPOSES)})")

    def _recheck(
        self, doc: YamlDoc, path: Path, data: Any, condition: Condition | None
    ) -> Condition | None:
        if data is None or data is False:
            return None
        if data is True:
            if condition is None and doc.value_at((*path[:-1], "condition")) is None:
                self.checker.report(doc, path, "recheck: true needs the rule's condition")
            return condition
        return self.condition(doc, path, data)

    # triggers -----------------------------------------------------------------------------

    def trigger(self, doc: YamlDoc, path: Path, spec: TriggerSpec) -> Trigger:
        self._defaults_that_apply(doc, path, spec)
        if spec.event is not None:
            return self._event(doc, path, spec)
        self._no_narrowing(doc, path, spec, allowed=())
        if spec.schedule is not None:
            self._cron(doc, (*path, "schedule"), spec.schedule)
            return ScheduleTrigger(spec.schedule, fan_clock=spec.clock == "fan")
        if spec.anniversary is not None:
            self._date_field(doc, (*path, "anniversary"), spec.anniversary)
            return AnniversaryTrigger(spec.anniversary, self._time(doc, (*path, "at"), spec.at))
        assert spec.inactive_for is not None
        return InactivityTrigger(spec.inactive_for)

    def _event(self, doc: YamlDoc, path: Path, spec: TriggerSpec) -> EventTrigger:
        kind = spec.event
        assert kind is not None
        self._no_narrowing(doc, path, spec, allowed=_EVENT_KEYS[kind])
        required = _REQUIRED.get(kind)
        if required is not None and getattr(spec, required) is None:
            self.checker.report(doc, path, f"a {kind} trigger needs {required}")
            return EventTrigger(kind)
        value: str | None = None
        if kind in ("joined", "gift_claimed") and spec.campaign is not None:
            self._campaign(doc, (*path, "campaign"), spec.campaign, gift=kind == "gift_claimed")
            value = spec.campaign
        elif kind == "tag_added":
            value = spec.tag
        elif kind == "field_set" and spec.field is not None:
            self._field(doc, (*path, "field"), spec.field)
            value = spec.field
        elif kind == "keyword" and spec.keyword is not None:
            if spec.keyword not in self.checker.keyword_names:
                self.checker.report(doc, (*path, "keyword"), f"unknown keyword '{spec.keyword}'")
            value = spec.keyword
        elif kind == "button" and spec.step is not None:
            value = self._button(doc, path, spec.step, spec.button)
        return EventTrigger(kind, value)

    def _no_narrowing(
        self, doc: YamlDoc, path: Path, spec: TriggerSpec, allowed: tuple[str, ...]
    ) -> None:
        what = f"a {spec.event} trigger" if spec.event else "this trigger"
        for key in _NARROWING:
            if key not in allowed and getattr(spec, key) is not None:
                message = f"{key} does not apply to {what}"
                self.checker.report(doc, (*path, key), message, on_key=True)

    def _defaults_that_apply(self, doc: YamlDoc, path: Path, spec: TriggerSpec) -> None:
        """`clock` is for schedules and `at` for anniversaries (both have defaults)."""
        written = doc.value_at(path)
        if not isinstance(written, dict):
            return
        for key, owner in (("clock", spec.schedule), ("at", spec.anniversary)):
            if key in written and owner is None:
                message = f"{key} does not apply to this trigger"
                self.checker.report(doc, (*path, key), message, on_key=True)

    def _button(self, doc: YamlDoc, path: Path, step: str, key: str | None) -> str | None:
        ref = self.checker.ref(doc, (*path, "step"), step, None)
        if ref is None:
            return None
        if key is None:
            return ref
        if not any(b.step == ref and b.key == key for b in self.buttons.values()):
            self.checker.report(doc, (*path, "button"), f"step '{ref}' has no button '{key}'")
        return f"{ref}#{key}"

    def _cron(self, doc: YamlDoc, path: Path, expression: str) -> None:
        try:
            CronTrigger.from_crontab(expression, timezone=ZoneInfo(self.timezone))
        except ValueError as error:
            message = f"bad schedule '{expression}': {error} (write minute hour day month weekday)"
            self.checker.report(doc, path, message)

    def _time(self, doc: YamlDoc, path: Path, text: str) -> time:
        match = _TIME.fullmatch(text)
        if match is None:
            self.checker.report(doc, path, f"expected a time like 10:00, got '{text}'")
            return time(10)
        return time(int(match[1]), int(match[2]))

    # actions ------------------------------------------------------------------------------

    def action(
        self, doc: YamlDoc, path: Path, spec: ActionSpec, rules: frozenset[str]
    ) -> Action | None:
        check = self.checker
        if spec.send is not None:
            ref = check.ref(doc, (*path, "send"), spec.send, None)
            return SendStep(ref) if ref is not None else None
        if spec.start is not None:
            entry = check.dialogs.entries.get(spec.start)
            if entry is None:
                check.report(doc, (*path, "start"), f"unknown dialog '{spec.start}'")
                return None
            return SendStep(entry)
        if spec.message is not None:
            check.template_texts(doc, (*path, "message"), spec.message)
            return SendText(dict(spec.message))
        if spec.add_tags is not None:
            return AddTags(tuple(spec.add_tags))
        if spec.remove_tags is not None:
            return RemoveTags(tuple(spec.remove_tags))
        if spec.set_field is not None:
            return self._set_fields(doc, (*path, "set_field"), spec.set_field)
        if spec.notify_staff is not None:
            check.template(doc, (*path, "notify_staff"), spec.notify_staff)
            return NotifyStaff(spec.notify_staff)
        assert spec.cancel is not None
        if spec.cancel not in rules:
            check.report(doc, (*path, "cancel"), f"unknown rule '{spec.cancel}'")
        return CancelRule(spec.cancel)

    def _set_fields(self, doc: YamlDoc, path: Path, values: Mapping[str, object]) -> SetFields:
        result: list[tuple[str, FieldValue]] = []
        for name, raw in values.items():
            target = self._field(doc, (*path, name), name, on_key=True)
            if target is None:
                continue
            value, why = field_value(target, raw)
            if value is None:
                self.checker.report(
                    doc, (*path, name), f"{raw!r} does not fit field '{name}': {why}"
                )
                continue
            result.append((name, value))
        categories = {name: self.fields[name].category for name, _ in result}
        return SetFields(tuple(result), categories)

    # references ---------------------------------------------------------------------------

    def _field(
        self, doc: YamlDoc, path: Path, name: str, *, on_key: bool = False
    ) -> FieldDef | None:
        target = self.fields.get(name)
        if target is None and name not in self.checker.field_names:
            self.checker.report(doc, path, f"unknown field '{name}'", on_key=on_key)
        return target

    def _date_field(self, doc: YamlDoc, path: Path, name: str) -> None:
        target = self._field(doc, path, name)
        if target is not None and target.type != "date":
            message = f"field '{name}' is a {target.type} field; an anniversary needs a date"
            self.checker.report(doc, path, message)

    def _campaign(self, doc: YamlDoc, path: Path, code: str, *, gift: bool = False) -> None:
        if code == "any" and gift:
            return
        campaign = self.campaigns.get(code)
        if campaign is None:
            if code not in self.broken_campaigns:
                self.checker.report(doc, path, f"unknown campaign '{code}'")
        elif gift and campaign.gift is None:
            self.checker.report(doc, path, f"campaign '{code}' has no gift")


def _references(condition: Condition, path: Path) -> Iterator[tuple[Path, str, str]]:
    """Every name a condition refers to, with where it is written (for the checks)."""
    match condition:
        case AllOf(all=children):
            for index, child in enumerate(children):
                yield from _references(child, (*path, "all", index))
        case AnyOf(any=children):
            for index, child in enumerate(children):
                yield from _references(child, (*path, "any", index))
        case Not(not_=child):
            yield from _references(child, (*path, "not"))
        case FieldIs(field=name):
            yield (*path, "field"), "field", name
        case FromOrigin(origin=code):
            yield (*path, "origin"), "campaign", code
        case ClaimedGift(claimed_gift=code) if code != "any":
            yield (*path, "claimed_gift"), "campaign", code
        case Said(said=names):
            for index, name in enumerate(names):
                yield (*path, "said", index), "keyword", name
        case HasConsent(consent=purpose):
            yield (*path, "consent"), "purpose", purpose
        case _:
            pass

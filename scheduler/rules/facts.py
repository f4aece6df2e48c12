"""Trigger facts: what one inbound update did, as (kind, value) pairs. Pure.

Each fact comes twice, narrowed and not (`("keyword", "buy")` and `("keyword", None)`), so
a trigger matches with a plain set lookup whether it names a value or not.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import dialogs
from dialogs import CompiledBrand
from dialogs.rule_model import EventTrigger

__all__ = ["TriggerFacts", "facts_of"]

Fact = tuple[str, str | None]


@dataclass
class TriggerFacts:
    occurrence: str  # names the update, so the same firing twice is one
    happened: set[Fact] = field(default_factory=set)

    def add(self, kind: str, value: str | None = None) -> None:
        self.happened.add((kind, None))
        if value is not None:
            self.happened.add((kind, value))

    def matches(self, trigger: EventTrigger) -> bool:
        return (trigger.kind, trigger.value) in self.happened

    def __bool__(self) -> bool:
        return bool(self.happened)


def facts_of(
    brand: CompiledBrand,
    event: dialogs.Input,
    effects: Iterable[dialogs.Effect],
    now: datetime,
    *,
    is_new: bool,
) -> TriggerFacts:
    """The facts of one input and the effects the engine gave for it."""
    facts = TriggerFacts(occurrence=f"at:{now.isoformat(timespec='microseconds')}")
    if isinstance(event, dialogs.GoTo | dialogs.DailyOpener):
        return facts  # staff hand-backs, daily openers and rule sends are not the fan's doing
    match event:
        case dialogs.Start(payload=payload):
            if is_new:
                facts.add("joined", payload)
            # A campaign's tags are given by the deep link itself (storage.lifecycle).
            campaign = brand.campaigns.get(payload) if payload else None
            for tag in campaign.tags if campaign is not None else ():
                facts.add("tag_added", tag)
        case dialogs.Text() | dialogs.Media():
            facts.add("message")
        case dialogs.ButtonPress(data=data) if (button := brand.buttons.get(data)) is not None:
            facts.add("button", button.step)
            facts.add("button", f"{button.step}#{button.key}")
        case _:
            pass
    for effect in effects:
        match effect:
            case dialogs.AddTag(tag=tag):
                facts.add("tag_added", tag)
            case dialogs.SetField(name=name):
                facts.add("field_set", name)
            case dialogs.KeywordHit(keyword=keyword):
                facts.add("keyword", keyword)
            case dialogs.RecordEvent(kind="gift_claimed", data=details):
                code = details.get("campaign")
                facts.add("gift_claimed", str(code) if code is not None else None)
            case _:
                pass
    return facts

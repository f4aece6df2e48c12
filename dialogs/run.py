"""The working copy of one fan while the engine handles one input.

`Run` starts from the fan snapshot and the stored state, collects effects, and keeps
its copy of tags, fields, consents and language in step with them, so later steps
of the same input see what earlier ones did (a field just answered is answered).
"""

from __future__ import annotations

from datetime import datetime

from dialogs.context import local_time, pick_language, template_context
from dialogs.effects import (
    AddTag,
    Effect,
    GrantConsent,
    Outcome,
    RefuseConsent,
    RemoveTag,
    RenderFailed,
    SetField,
    SetLanguage,
)
from dialogs.errors import RenderError
from dialogs.inputs import FanSnapshot
from dialogs.model import CompiledBrand, Texts
from dialogs.state import MAX_STACK, ConversationState

__all__ = ["Run"]


class Run:
    """The working copy of one fan while an input is handled."""

    def __init__(self, brand: CompiledBrand, fan: FanSnapshot, now: datetime) -> None:
        self.brand = brand
        self.fan = fan
        self.now = now
        self.local = local_time(brand, fan, now)
        self.language = pick_language(brand, fan)
        self.fields = dict(fan.fields)
        self.tags = set(fan.tags)
        self.consents = set(fan.consents)
        state = fan.conversation
        self.position = state.position
        self.reasks = state.reasks
        self.stack = list(state.stack)
        self.asked = dict(state.asked)
        self.topics_done = list(state.topics_done)
        self.effects: list[Effect] = []

    @property
    def today(self) -> str:
        return self.local.date().isoformat()

    def emit(self, effect: Effect) -> None:
        """Record an effect and keep the working copy in step with it."""
        if isinstance(effect, AddTag):
            if effect.tag in self.tags:
                return
            self.tags.add(effect.tag)
        elif isinstance(effect, RemoveTag):
            if effect.tag not in self.tags:
                return
            self.tags.discard(effect.tag)
        elif isinstance(effect, SetField):
            self.fields[effect.name] = effect.value
        elif isinstance(effect, GrantConsent):
            self.consents.add(effect.purpose)
        elif isinstance(effect, RefuseConsent):
            self.consents.discard(effect.purpose)
        elif isinstance(effect, SetLanguage):
            self.language = effect.language
        self.effects.append(effect)

    def render(self, texts: Texts | None, step: str | None) -> str | None:
        """Render in the fan's language; a failure is reported and gives None."""
        if texts is None or self.language not in texts:
            return None
        context = template_context(
            self.brand,
            self.fan,
            language=self.language,
            fields=self.fields,
            tags=frozenset(self.tags),
            local=self.local,
        )
        try:
            return self.brand.templates.render(texts[self.language], context)
        except RenderError as error:
            self.emit(RenderFailed(step, self.language, str(error)))
            return None

    def finish(self) -> Outcome:
        dialog, _, step = (self.position or "").partition(".")
        state = ConversationState(
            dialog=dialog or None,
            step=step or None,
            reasks=self.reasks,
            stack=tuple(self.stack[-MAX_STACK:]),
            asked=self.asked,
            topics_done=tuple(self.topics_done),
            version=self.brand.version,
        )
        return Outcome(tuple(self.effects), state, self.language)

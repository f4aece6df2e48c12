"""The compiled brand: what the engine runs, built once per brand version.

Everything here is resolved and checked: step references are fully qualified
(`dialog.step`), templates are compiled, button callback data is computed, and the
lexicon is an automaton. The engine never looks at YAML or pydantic models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from jinja2 import Template

from dialogs.lexicon import Lexicon, TermMatcher
from dialogs.rule_model import Rule
from dialogs.schema import END, NEXT_QUESTION
from dialogs.templates import TemplateEngine

__all__ = [
    "END",
    "NEXT_QUESTION",
    "Actions",
    "BrandSettings",
    "Button",
    "Campaign",
    "Capture",
    "CompiledBrand",
    "Dialog",
    "FieldDef",
    "FieldValue",
    "Gift",
    "KeywordRoute",
    "ProfileQuestion",
    "Routes",
    "SkipRule",
    "Step",
    "Target",
    "Texts",
]

FieldValue = str | int | float | date  # text, number, choice (option id), date
Texts = Mapping[str, Template]  # language -> compiled template
FieldType = Literal["text", "number", "choice", "date"]
Category = Literal["registration", "operation", "transaction"]


@dataclass(frozen=True)
class Target:
    """Where to go: a qualified step ref, `end` or `next_question`; `then` is pushed first."""

    go: str
    then: str | None = None


@dataclass(frozen=True)
class Gift:
    campaign: str
    code: str
    name: Mapping[str, str]


@dataclass(frozen=True)
class Actions:
    """The effects of a button press or routed keyword, applied in this field order."""

    set_language: str | None = None
    grant_consent: tuple[str, ...] = ()
    refuse_consent: tuple[str, ...] = ()
    opt_in: bool = False
    opt_out: bool = False
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    set_field: tuple[tuple[str, FieldValue], ...] = ()
    claim_gift: Gift | None = None
    event: tuple[str, Mapping[str, str | int | float | bool]] | None = None
    escalate: str | None = None


@dataclass(frozen=True)
class Button:
    step: str  # qualified ref of the step showing it
    key: str  # stable within the step: its id, or its label in the default language
    label: Mapping[str, str]
    data: str  # callback data sent to Telegram
    actions: Actions
    go: Target | None


@dataclass(frozen=True)
class Option:
    value: str
    label: Mapping[str, str]


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    category: Category
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    earliest: date | Literal["today"] | None = None
    latest: date | Literal["today"] | None = None
    min_length: int = 1
    max_length: int = 200
    options: tuple[Option, ...] = ()
    choices: TermMatcher[str] | None = None  # synonyms -> option value


@dataclass(frozen=True)
class Capture:
    field: FieldDef
    reask: Texts | None
    max_attempts: int


@dataclass(frozen=True)
class SkipRule:
    consent: str | None = None
    tag: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class Step:
    ref: str  # "dialog.step"
    text: Texts
    fallback: Texts | None
    buttons: tuple[Button, ...]
    columns: int
    capture: Capture | None
    next: Target | None
    skip_if: SkipRule | None
    skip_to: Target | None
    answers: tuple[str, ...]  # fields whose answer makes this profile question done

    @property
    def waits(self) -> bool:
        """A step with buttons or a capture waits for the fan; others flow on."""
        return bool(self.buttons) or self.capture is not None

    @property
    def dialog(self) -> str:
        return self.ref.split(".", 1)[0]


@dataclass(frozen=True)
class Dialog:
    id: str
    entry: str  # qualified ref of the first step
    daily: bool


@dataclass(frozen=True)
class KeywordRoute:
    keyword: str
    actions: Actions
    go: Target


@dataclass(frozen=True)
class ProfileQuestion:
    step: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Routes:
    start: Target
    restart: Target | None
    fallback: Target
    media: Target | None
    keywords: tuple[KeywordRoute, ...]
    profile_questions: tuple[ProfileQuestion, ...]


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    tags: tuple[str, ...]
    gift: Gift | None
    start: Target | None


@dataclass(frozen=True)
class BrandSettings:
    """brand.yaml, for the engine and for the scheduler (quiet hours, caps)."""

    name: str
    default_language: str
    languages: tuple[str, ...]
    timezone: str
    quiet_hours: tuple[time, time] | None
    per_day: int
    per_week: int
    daily_time: time
    staff_chat_id: int | None
    consent: Mapping[str, Mapping[str, str]]  # purpose -> language -> text

    def is_quiet(self, local: time) -> bool:
        """Is `local` (the fan's wall-clock time) inside the quiet hours?"""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # the quiet period crosses midnight


@dataclass(frozen=True)
class CompiledBrand:
    version: str
    settings: BrandSettings
    templates: TemplateEngine
    texts: Mapping[str, Texts]  # brand texts: fallback, button_expired, reask
    greetings: Mapping[str, Mapping[str, str]]  # morning/afternoon/evening -> language -> text
    fields: Mapping[str, FieldDef]
    dialogs: Mapping[str, Dialog]
    steps: Mapping[str, Step]
    buttons: Mapping[str, Button]  # callback data -> button
    campaigns: Mapping[str, Campaign]
    routes: Routes
    lexicon: Lexicon
    daily_topics: tuple[str, ...]  # dialog ids, in file order
    rules: Mapping[str, Rule]  # rules.yaml, in file order

    def resolve(self, ref: str) -> str | None:
        """`dialog.step` or `dialog` (its entry) to a qualified step ref, if it exists."""
        if ref in self.steps:
            return ref
        dialog = self.dialogs.get(ref)
        return dialog.entry if dialog is not None else None

"""The shape of each brand file, as pydantic models.

These models only say which keys exist and what type each value has. Everything
that needs more than one value to decide (does this step exist? is every language
translated? does this template compile?) is checked in `dialogs.compiler`, where
the error can point at the exact key.

A few keys accept a short form that a before-validator expands, so pydantic never
sees a union (unions make pydantic report one error per alternative):
`add_tags: vip` means `[vip]`; `next: ask_city` means `{go: ask_city}`;
`event: liked_tip` means `{kind: liked_tip}`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel

__all__ = [
    "END",
    "NEXT_QUESTION",
    "PURPOSES",
    "ActionsSpec",
    "BrandFile",
    "BrandTextsSpec",
    "ButtonSpec",
    "CampaignSpec",
    "CampaignsFile",
    "CaptureSpec",
    "ConsentSpec",
    "DialogFile",
    "DialogSpec",
    "EntriesSpec",
    "EventSpec",
    "FieldSpec",
    "GiftSpec",
    "KeywordRouteSpec",
    "KeywordSpec",
    "NextSpec",
    "OptionSpec",
    "ProfileQuestionSpec",
    "SkipIfSpec",
    "StepSpec",
    "check_campaign_code",
    "check_id",
]

END = "end"
NEXT_QUESTION = "next_question"
PURPOSES = ("daily", "offers", "profiling")

_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REF = re.compile(r"[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39})?")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_TAG = re.compile(r"[^\s]{1,64}")
_CAMPAIGN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid id: use lowercase letters, digits and _, "
            "starting with a letter (at most 40 characters)"
        )
    if value in (END, NEXT_QUESTION):
        raise ValueError(f"'{value}' is a reserved word and cannot be an id")
    return value


def _check_ref(value: str) -> str:
    if not _REF.fullmatch(value):
        raise ValueError(f"'{value}' is not a valid target: write step, dialog or dialog.step")
    return value


def _check_language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError(f"'{value}' is not a language code like en, zh or pt-br")
    return value


def _check_tag(value: str) -> str:
    if not _TAG.fullmatch(value):
        raise ValueError(f"'{value}' is not a valid tag: 1-64 characters without spaces")
    return value


def check_campaign_code(value: str) -> str:
    if not _CAMPAIGN.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid campaign code: 1-64 characters of A-Z, a-z, 0-9, _ and -"
        )
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _short_target(value: Any) -> Any:
    return {"go": value} if isinstance(value, str) else value


def _short_event(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


def _short_question(value: Any) -> Any:
    return {"step": value} if isinstance(value, str) else value


Id = Annotated[str, AfterValidator(check_id)]
Ref = Annotated[str, AfterValidator(_check_ref)]
Language = Annotated[str, AfterValidator(_check_language)]
Tag = Annotated[str, AfterValidator(_check_tag)]
Purpose = Literal["daily", "offers", "profiling"]
Text = Annotated[str, Field(min_length=1)]
Texts = dict[str, Text]  # language -> text; translations are checked by the compiler
Tags = Annotated[list[Tag], BeforeValidator(_one_or_many)]
Purposes = Annotated[list[Purpose], BeforeValidator(_one_or_many)]
Words = Annotated[list[Text], BeforeValidator(_one_or_many)]
Scalar = str | int | float | bool


class _Model(BaseModel):
    # Editors write `label: {en: 38}`; numbers are welcome where text is expected.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class NextSpec(_Model):
    go: Ref
    then: Ref | None = None


Next = Annotated[NextSpec, BeforeValidator(_short_target)]


class EventSpec(_Model):
    kind: Annotated[Id, Field(max_length=32)]  # events.kind holds 32 characters
    data: dict[str, Scalar] = {}


class ActionsSpec(_Model):
    """What a button press (or a routed keyword) does, besides moving on."""

    set_language: str | None = None
    grant_consent: Purposes = []
    refuse_consent: Purposes = []
    opt_in: bool = False
    opt_out: bool = False
    add_tags: Tags = []
    remove_tags: Tags = []
    set_field: dict[str, Scalar] = {}
    claim_gift: str | None = None
    event: Annotated[EventSpec | None, BeforeValidator(_short_event)] = None
    escalate: Text | None = None


class ButtonSpec(ActionsSpec):
    label: Texts
    id: Id | None = None
    go: Next | None = None


class CaptureSpec(_Model):
    field: str
    reask: Texts | None = None
    max_attempts: int = Field(default=3, ge=1, le=10)
    option_buttons: bool = False


class SkipIfSpec(_Model):
    consent: Purpose | None = None
    tag: Tag | None = None
    field: str | None = None


class StepSpec(_Model):
    text: Texts
    fallback: Texts | None = None
    buttons: list[ButtonSpec] = []
    columns: int = Field(default=1, ge=1, le=8)
    capture: CaptureSpec | None = None
    next: Next | None = None
    skip_if: SkipIfSpec | None = None
    skip_to: Next | None = None


class DialogSpec(_Model):
    """A dialog's own keys; each step is validated on its own as a `StepSpec`."""

    daily: bool = False
    entry: Id | None = None
    steps: Annotated[dict[str, Any], Field(min_length=1)]


class OptionSpec(_Model):
    label: dict[str, Text]
    synonyms: dict[str, Words] = {}


class FieldSpec(_Model):
    type: Literal["text", "number", "choice", "date"]
    category: Literal["registration", "operation", "transaction"]
    min: float | str | None = None
    max: float | str | None = None
    integer: bool = False
    min_length: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=1, le=4096)
    options: dict[Id, OptionSpec] = {}


class KeywordRouteSpec(ActionsSpec):
    go: Next


class ProfileQuestionSpec(_Model):
    step: Ref
    answered_by: list[str] = []


class EntriesSpec(_Model):
    start: Next
    restart: Next | None = None
    fallback: Next
    media: Next | None = None
    keywords: dict[str, Annotated[KeywordRouteSpec, BeforeValidator(_short_target)]] = {}
    profile_questions: list[Annotated[ProfileQuestionSpec, BeforeValidator(_short_question)]] = []


class KeywordSpec(RootModel[dict[str, Words]]):
    """Synonyms per language, plus an optional `tags` list."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)


class DialogFile(_Model):
    """One file under dialogs/: any of fields, keywords, entries and dialogs.

    Only the top level is checked here; each field, keyword, dialog and step is
    validated on its own (see `dialogs.files`), so one mistake hides nothing else.
    """

    fields: dict[str, Any] = {}
    keywords: dict[str, Any] = {}
    entries: dict[str, Any] | None = None
    dialogs: dict[str, Any] = {}


class ConsentSpec(_Model):
    daily: Texts
    offers: Texts
    profiling: Texts


class BrandTextsSpec(_Model):
    fallback: Texts | None = None
    button_expired: Texts | None = None
    reask: Texts | None = None
    greeting_morning: Texts | None = None
    greeting_afternoon: Texts | None = None
    greeting_evening: Texts | None = None


class FrequencyCapsSpec(_Model):
    per_day: int = Field(ge=0)
    per_week: int = Field(ge=0)


class BrandFile(_Model):
    name: Text
    default_language: Language
    languages: Annotated[list[Language], Field(min_length=1)]
    timezone: str
    quiet_hours: str | None = None
    frequency_caps: FrequencyCapsSpec
    daily_time: str
    staff_chat_id: int | None = None
    consent: ConsentSpec
    texts: BrandTextsSpec = BrandTextsSpec()


class GiftSpec(_Model):
    code: Annotated[Text, Field(max_length=64)]
    name: Texts


class CampaignSpec(_Model):
    name: Text
    tags: Tags = []
    gift: GiftSpec | None = None
    start: Next | None = None


class CampaignsFile(_Model):
    campaigns: dict[str, Any] = {}  # code -> CampaignSpec, validated one by one

"""Who the fan is for a template: language, local time and the documented context.

The context is made of plain dicts, tuples and strings, so the sandbox has nothing
interesting to reach from it. Values that may be missing (last name, username,
unanswered fields, origins) are left out rather than set to None: a template can
test them (`{% if fan.username %}`) or give a default (`{{ fan.username|default('') }}`),
and printing a missing one makes the engine send fallback text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs.inputs import FanSnapshot
from dialogs.model import CompiledBrand, FieldValue

__all__ = ["local_time", "pick_language", "template_context"]


def pick_language(brand: CompiledBrand, fan: FanSnapshot) -> str:
    """The fan's chosen language, else Telegram's ("zh-hans" -> zh), else the brand's."""
    offered = brand.settings.languages
    if fan.language in offered:
        return fan.language
    code = (fan.telegram_language_code or "").lower().replace("_", "-")
    while code:
        if code in offered:
            return code
        code = code.rpartition("-")[0]  # "pt-br" -> "pt" -> ""
    return brand.settings.default_language


def local_time(brand: CompiledBrand, fan: FanSnapshot, now: datetime) -> datetime:
    """`now` on the fan's wall clock (their timezone, else the brand's)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the engine needs a timezone-aware `now`")
    return now.astimezone(_zone(fan.timezone) or ZoneInfo(brand.settings.timezone))


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown: use the brand's zone
        return None


def template_context(
    brand: CompiledBrand,
    fan: FanSnapshot,
    *,
    language: str,
    fields: Mapping[str, FieldValue],
    tags: frozenset[str],
    local: datetime,
) -> dict[str, Any]:
    """The variables a template can use; see docs/scripts.md, "Personalizing texts"."""
    person: dict[str, Any] = {
        "first_name": fan.first_name,
        "language": language,
        "fields": dict(fields),
        "tags": tuple(sorted(tags)),
    }
    _put(person, "last_name", fan.last_name)
    _put(person, "username", fan.username)
    origin: dict[str, Any] = {}
    _put(origin, "first", fan.first_origin)
    _put(origin, "latest", fan.latest_origin)
    consent = {purpose: texts[language] for purpose, texts in brand.settings.consent.items()}
    return {
        "fan": person,
        "origin": origin,
        "brand": {"name": brand.settings.name, "consent": consent},
        "today": local.date(),
        "now": local.replace(tzinfo=None),
        "greeting": brand.greetings[_day_part(local.hour)][language],
    }


def _put(target: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        target[key] = value


def _day_part(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 18:
        return "afternoon"
    return "evening"

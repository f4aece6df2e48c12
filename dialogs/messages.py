"""Message content written outside the scripts: `{"text": {language: template}}`.

Rules and broadcasts send such texts. They are rendered like a step's text: the same
sandbox, the same context and filters (dialogs.context), in the fan's language, with the
brand's default language as the fallback. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import Template

from dialogs.context import local_time, pick_language, template_context
from dialogs.errors import RenderError
from dialogs.inputs import FanSnapshot
from dialogs.model import CompiledBrand
from dialogs.templates import TemplateEngine

__all__ = ["message_problems", "message_texts", "render_message"]


def message_texts(content: Mapping[str, Any]) -> dict[str, str] | None:
    """The texts of a content mapping, or None if it is not a text message."""
    texts = content.get("text")
    if not isinstance(texts, Mapping):
        return None
    return {str(language): str(source) for language, source in texts.items()}


def message_problems(brand: CompiledBrand, texts: Mapping[str, str]) -> list[str]:
    """Everything wrong with these texts for this brand, as `language:line: message`."""
    problems = []
    default = brand.settings.default_language
    if default not in texts:
        problems.append(f"a text in the brand's default language ({default}) is needed")
    for language, source in texts.items():
        if language not in brand.settings.languages:
            offered = ", ".join(brand.settings.languages)
            problems.append(f"{language}: the brand has no language '{language}' ({offered})")
            continue
        _, issues = _prepared(brand.templates, source, frozenset(brand.fields))
        problems.extend(f"{language}:{issue.line}: {issue.message}" for issue in issues)
    return problems


def render_message(
    brand: CompiledBrand, fan: FanSnapshot, texts: Mapping[str, str], now: datetime
) -> tuple[str, str]:
    """(language, text) for this fan; RenderError if it cannot be rendered cleanly.

    The raw template is never a result: a broken template, an unknown name or a value
    that is missing when printed is an error, and the caller skips the message.
    """
    language = pick_language(brand, fan)
    if language not in texts:
        language = brand.settings.default_language
    source = texts.get(language)
    if source is None:
        raise RenderError(f"no text in {pick_language(brand, fan)} or {language}")
    template, issues = _prepared(brand.templates, source, frozenset(brand.fields))
    if template is None:
        raise RenderError("; ".join(f"line {i.line}: {i.message}" for i in issues))
    context = template_context(
        brand,
        fan,
        language=language,
        fields=fan.fields,
        tags=fan.tags,
        local=local_time(brand, fan, now),
    )
    return language, brand.templates.render(template, context)


@lru_cache(maxsize=512)
def _prepared(
    engine: TemplateEngine, source: str, fields: frozenset[str]
) -> tuple[Template | None, tuple[Any, ...]]:
    """Compiled once per brand version and text: a broadcast renders the same text often."""
    template, issues = engine.prepare(source, fields)
    return template, tuple(issues)

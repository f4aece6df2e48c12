"""Compile profile fields and the keyword lexicon, declared in dialog files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from dialogs.checker import Checker
from dialogs.files import DialogsPart
from dialogs.lexicon import Lexicon, LexiconEntry, TermMatcher, edge_trimmed, normalize
from dialogs.model import FieldDef, FieldValue, Option
from dialogs.schema import FieldSpec
from dialogs.yamlnodes import Path, YamlDoc

__all__ = ["compile_fields", "compile_lexicon", "field_value"]

# Which optional keys make sense for which field type.
_APPLIES = {
    "min": ("number", "date"),
    "max": ("number", "date"),
    "integer": ("number",),
    "min_length": ("text",),
    "max_length": ("text",),
    "options": ("choice",),
}


def compile_fields(checker: Checker, files: Iterable[DialogsPart]) -> dict[str, FieldDef]:
    """Fields declared in any dialog file; names of broken ones still count as known."""
    fields: dict[str, FieldDef] = {}
    where: dict[str, str] = {}
    for part in files:
        for name, spec in part.fields.items():
            path: Path = ("fields", name)
            if name in where:
                message = f"field '{name}' is already declared in {where[name]}"
                checker.report(part.doc, path, message, on_key=True)
                continue
            where[name] = part.file
            if spec is not None:
                fields[name] = _field(checker, part.doc, path, name, spec)
    checker.field_names = frozenset(where)
    return fields


def _field(checker: Checker, doc: YamlDoc, path: Path, name: str, spec: FieldSpec) -> FieldDef:
    for key in sorted(spec.model_fields_set & set(_APPLIES)):
        if spec.type not in _APPLIES[key]:
            message = f"'{key}' does not apply to a {spec.type} field"
            checker.report(doc, (*path, key), message, on_key=True)
    if spec.type == "choice":
        return _choice(checker, doc, path, name, spec)
    if spec.type == "number":
        return _number(checker, doc, path, name, spec)
    if spec.type == "date":
        return _date(checker, doc, path, name, spec)
    low, high = spec.min_length or 1, spec.max_length or 200
    if low > high:
        checker.report(doc, (*path, "min_length"), "min_length is larger than max_length")
    return FieldDef(name, "text", spec.category, min_length=low, max_length=high)


def _number(checker: Checker, doc: YamlDoc, path: Path, name: str, spec: FieldSpec) -> FieldDef:
    bounds: list[float | None] = []
    for key, value in (("min", spec.min), ("max", spec.max)):
        if isinstance(value, str):
            checker.report(doc, (*path, key), f"expected a number, got '{value}'")
            value = None
        bounds.append(value)
    low, high = bounds
    if low is not None and high is not None and low > high:
        checker.report(doc, (*path, "min"), "min is larger than max")
    return FieldDef(name, "number", spec.category, low, high, integer=spec.integer)


def _date(checker: Checker, doc: YamlDoc, path: Path, name: str, spec: FieldSpec) -> FieldDef:
    bounds: list[date | Literal["today"] | None] = []
    for key, value in (("min", spec.min), ("max", spec.max)):
        bound = _date_bound(value)
        if value is not None and bound is None:
            message = f"expected a date like 1990-05-17 or the word today, got {value!r}"
            checker.report(doc, (*path, key), message)
        bounds.append(bound)
    low, high = bounds
    if isinstance(low, date) and isinstance(high, date) and low > high:
        checker.report(doc, (*path, "min"), "min is later than max")
    return FieldDef(name, "date", spec.category, earliest=low, latest=high)


def _date_bound(value: float | str | None) -> date | Literal["today"] | None:
    if value == "today":
        return "today"
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _choice(checker: Checker, doc: YamlDoc, path: Path, name: str, spec: FieldSpec) -> FieldDef:
    if not spec.options:
        checker.report(doc, path, "a choice field needs options", on_key=True)
    options: list[Option] = []
    terms: list[tuple[str, str]] = []
    for value, option in spec.options.items():
        option_path = (*path, "options", value)
        label = checker.plain_texts(doc, (*option_path, "label"), option.label)
        checker.known_languages(doc, (*option_path, "synonyms"), option.synonyms)
        options.append(Option(value, label))
        words = [value, *label.values()]
        words += [word for synonyms in option.synonyms.values() for word in synonyms]
        terms += [(word, value) for word in words]
    matcher = TermMatcher(terms, whole_words=True)
    return FieldDef(name, "choice", spec.category, options=tuple(options), choices=matcher)


def field_value(field: FieldDef, value: object) -> tuple[FieldValue | None, str]:
    """A value written in a script (`set_field`), checked against its field."""
    if field.type == "text" and isinstance(value, str):
        return value, ""
    if field.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        if field.minimum is not None and value < field.minimum:
            return None, f"below the minimum {field.minimum:g}"
        if field.maximum is not None and value > field.maximum:
            return None, f"above the maximum {field.maximum:g}"
        return value, ""
    if field.type == "choice":
        known = [option.value for option in field.options]
        if value in known:
            return str(value), ""
        return None, f"expected one of {', '.join(known)}"
    if field.type == "date":
        bound = _date_bound(value if isinstance(value, str) else None)
        if isinstance(bound, date):
            return bound, ""
    return None, f"expected a {field.type} value"


def compile_lexicon(checker: Checker, files: Iterable[DialogsPart]) -> Lexicon:
    entries: list[LexiconEntry] = []
    where: dict[str, str] = {}
    for part in files:
        for keyword, spec in part.keywords.items():
            path: Path = ("keywords", keyword)
            if keyword in where:
                message = f"keyword '{keyword}' is already declared in {where[keyword]}"
                checker.report(part.doc, path, message, on_key=True)
                continue
            where[keyword] = part.file
            if spec is not None:
                entries.append(_keyword(checker, part.doc, path, keyword, spec.root))
    checker.keyword_names = frozenset(where)
    return Lexicon(entries)


def _keyword(
    checker: Checker, doc: YamlDoc, path: Path, keyword: str, spec: dict[str, list[str]]
) -> LexiconEntry:
    synonyms = {language: words for language, words in spec.items() if language != "tags"}
    checker.translations(doc, path, synonyms)
    for language, words in synonyms.items():
        for index, word in enumerate(words):
            if not edge_trimmed(normalize(word)):
                message = "a synonym needs at least one letter or digit"
                checker.report(doc, (*path, language, index), message)
    tags = spec.get("tags", [])
    for index, tag in enumerate(tags):
        if not tag or any(char.isspace() for char in tag) or len(tag) > 64:
            message = f"'{tag}' is not a valid tag: 1-64 characters without spaces"
            checker.report(doc, (*path, "tags", index), message)
    words = [word for group in synonyms.values() for word in group]
    return LexiconEntry(keyword, words, tags)

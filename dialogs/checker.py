"""Shared helpers of the compile passes: reporting, translations, templates, targets.

A `Checker` collects problems instead of raising, so one pass over a brand finds
every mistake. Compile functions return their best attempt even when they report a
problem; the compiler throws the result away if any problem was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from jinja2 import Template

from dialogs.errors import Problem
from dialogs.model import END, NEXT_QUESTION, Target
from dialogs.schema import NextSpec
from dialogs.templates import MESSAGE_LIMIT, TemplateEngine, utf16_length
from dialogs.yamlnodes import Mark, Path, YamlDoc

__all__ = ["Checker", "DialogIndex"]


@dataclass
class DialogIndex:
    """Which dialogs and steps exist, known before any step is compiled."""

    steps: dict[str, list[str]] = field(default_factory=dict)  # dialog -> step ids
    entries: dict[str, str] = field(default_factory=dict)  # dialog -> "dialog.step"

    def has_step(self, ref: str) -> bool:
        dialog, _, step = ref.partition(".")
        return step in self.steps.get(dialog, ())


@dataclass
class Checker:
    languages: tuple[str, ...]  # empty when brand.yaml is unusable: skip translation checks
    templates: TemplateEngine
    problems: list[Problem] = field(default_factory=list)
    field_names: frozenset[str] = frozenset()  # declared, even if broken
    keyword_names: frozenset[str] = frozenset()
    dialogs: DialogIndex = field(default_factory=DialogIndex)

    def report(self, doc: YamlDoc, path: Path, message: str, *, on_key: bool = False) -> None:
        self.problems.append(doc.problem(path, message, on_key=on_key))

    def report_at(self, doc: YamlDoc, mark: Mark, message: str) -> None:
        self.problems.append(Problem(doc.file, mark.line, mark.column, message))

    def translations(self, doc: YamlDoc, path: Path, texts: Mapping[str, object]) -> None:
        """Every offered language present, and no other."""
        if not self.languages:
            return
        self.known_languages(doc, path, texts)
        for language in self.languages:
            if language not in texts:
                self.report(doc, path, f"missing '{language}' translation", on_key=True)

    def known_languages(self, doc: YamlDoc, path: Path, keys: Iterable[str]) -> None:
        """Only offered languages (optional ones, like synonyms, need not all be there)."""
        if not self.languages:
            return
        offered = ", ".join(self.languages)
        for language in keys:
            if language not in self.languages:
                message = f"'{language}' is not one of the brand's languages ({offered})"
                self.report(doc, (*path, language), message, on_key=True)

    def plain_texts(self, doc: YamlDoc, path: Path, texts: Mapping[str, str]) -> dict[str, str]:
        self.translations(doc, path, texts)
        return dict(texts)

    def template_texts(
        self, doc: YamlDoc, path: Path, texts: Mapping[str, str]
    ) -> dict[str, Template]:
        self.translations(doc, path, texts)
        compiled: dict[str, Template] = {}
        for language, source in texts.items():
            template = self.template(doc, (*path, language), source)
            if template is not None:
                compiled[language] = template
        return compiled

    def template(self, doc: YamlDoc, path: Path, source: str) -> Template | None:
        length = utf16_length(source)
        if length > MESSAGE_LIMIT:
            message = f"text is too long: {length} characters, Telegram allows {MESSAGE_LIMIT}"
            self.report(doc, path, message)
        template, issues = self.templates.prepare(source, self.field_names)
        for issue in issues:
            self.report_at(doc, doc.template_line(path, issue.line), issue.message)
        return template

    def target(
        self, doc: YamlDoc, path: Path, spec: NextSpec | None, dialog: str | None
    ) -> Target | None:
        """Resolve `next:`-like values; `dialog` is the one the reference is written in."""
        if spec is None:
            return None
        go = self.ref(doc, (*path, "go"), spec.go, dialog)
        then = self.ref(doc, (*path, "then"), spec.then, dialog) if spec.then else None
        return Target(go or END, then)

    def ref(self, doc: YamlDoc, path: Path, ref: str, dialog: str | None) -> str | None:
        """`step` (in `dialog`), `dialog` (its entry) or `dialog.step`, as "dialog.step"."""
        if ref in (END, NEXT_QUESTION):
            return ref
        if "." in ref:
            owner, _, step = ref.partition(".")
            if self.dialogs.has_step(ref):
                return ref
            if owner in self.dialogs.steps:
                self.report(doc, path, f"dialog '{owner}' has no step '{step}'")
            else:
                self.report(doc, path, f"unknown dialog '{owner}'")
            return None
        if dialog is not None and self.dialogs.has_step(f"{dialog}.{ref}"):
            return f"{dialog}.{ref}"
        if ref in self.dialogs.entries:
            return self.dialogs.entries[ref]
        what = "step or dialog" if dialog is not None else "dialog"
        self.report(doc, path, f"unknown {what} '{ref}'")
        return None

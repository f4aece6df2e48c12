"""The files of a brand folder: which kinds exist, reading them, checking their shape.

A brand version travels as `{relative path: text}` (that is how the database stores
versions), so everything here works on such a mapping; `read_brand_dir` is the only
function that touches the disk.

Each file kind is one entry of `FILE_KINDS`; adding a kind means adding an entry, a
reader and a field on `ParsedFiles`.

Shapes are checked part by part (each field, keyword, dialog, step and campaign on
its own), so one mistake does not hide the others, and the ids of a broken part are
still known: a reference to a step with a typo inside is not reported as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dialogs.errors import InvalidBrandError, Problem
from dialogs.rule_schema import RulesFile, RuleSpec
from dialogs.schema import (
    BrandFile,
    CampaignsFile,
    CampaignSpec,
    DialogFile,
    DialogSpec,
    EntriesSpec,
    FieldSpec,
    KeywordSpec,
    StepSpec,
    check_campaign_code,
    check_id,
)
from dialogs.shape_errors import shape_problems
from dialogs.yamlnodes import Path, YamlDoc, parse_yaml

__all__ = [
    "FILE_KINDS",
    "BrandPart",
    "CampaignsPart",
    "DialogPart",
    "DialogsPart",
    "FileKind",
    "ParsedFiles",
    "RulesPart",
    "parse_files",
    "read_brand_dir",
]

M = TypeVar("M", bound=BaseModel)


@dataclass
class BrandPart:
    doc: YamlDoc
    spec: BrandFile | None  # None if the shape is wrong
    languages: tuple[str, ...]  # read even from a broken brand.yaml, if possible
    default_language: str | None


@dataclass
class CampaignsPart:
    doc: YamlDoc
    campaigns: dict[str, CampaignSpec | None]  # None: declared, but broken


@dataclass
class DialogPart:
    doc: YamlDoc
    spec: DialogSpec | None
    steps: dict[str, StepSpec | None]  # None: the step exists, but is broken


@dataclass
class DialogsPart:
    """One file under dialogs/."""

    doc: YamlDoc
    fields: dict[str, FieldSpec | None] = field(default_factory=dict)
    keywords: dict[str, KeywordSpec | None] = field(default_factory=dict)
    entries: EntriesSpec | None = None
    has_entries: bool = False  # true even if the entries are broken
    dialogs: dict[str, DialogPart] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.doc.file


@dataclass
class RulesPart:
    doc: YamlDoc
    rules: dict[str, RuleSpec | None]  # None: declared, but broken


@dataclass
class ParsedFiles:
    brand: BrandPart | None = None
    campaigns: CampaignsPart | None = None
    rules: RulesPart | None = None
    dialogs: list[DialogsPart] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)  # files with a YAML syntax error

    def report(self, doc: YamlDoc, path: Path, message: str, *, on_key: bool = False) -> None:
        self.problems.append(doc.problem(path, message, on_key=on_key))

    def validate(self, doc: YamlDoc, path: Path, model: type[M]) -> M | None:
        """Validate the value at `path` with `model`; report its problems on failure."""
        try:
            return model.model_validate(doc.value_at(path))
        except ValidationError as error:
            self.problems.extend(shape_problems(doc, model, error, path))
            return None

    def valid_key(self, doc: YamlDoc, path: Path, check: Callable[[str], str]) -> bool:
        try:
            check(str(path[-1]))
        except ValueError as error:
            self.report(doc, path, str(error), on_key=True)
            return False
        return True


@dataclass(frozen=True)
class FileKind:
    name: str
    matches: Callable[[str], bool]
    read: Callable[[ParsedFiles, YamlDoc], None] | None  # None: known, read elsewhere


def read_brand_dir(root: str | FsPath) -> dict[str, str]:
    """Read every YAML file under `root` into `{relative path: text}`."""
    base = FsPath(root)
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base).as_posix()
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        try:
            files[relative] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(relative, 1, 1, "the file is not UTF-8 text"))
    if problems:
        raise InvalidBrandError(problems)
    return files


def parse_files(files: Mapping[str, str]) -> ParsedFiles:
    """Parse and shape-check every known file; unknown YAML files are problems."""
    parsed = ParsedFiles()
    for path in sorted(files):
        kind = next((kind for kind in FILE_KINDS if kind.matches(path)), None)
        if kind is None:
            if path.endswith((".yaml", ".yml")):
                parsed.problems.append(Problem(path, 1, 1, _unknown_file_message(path)))
            continue
        if kind.read is None:
            continue
        doc, problems = parse_yaml(path, files[path])
        parsed.problems.extend(problems)
        if doc is None:
            parsed.unreadable.add(path)
            continue
        if doc.data is None:
            doc.data = {}  # an empty file is an empty mapping
        kind.read(parsed, doc)
    if "brand.yaml" not in files:
        parsed.problems.append(Problem("brand.yaml", 1, 1, "missing file brand.yaml"))
    return parsed


def _unknown_file_message(path: str) -> str:
    return (
        f"unknown file '{path}': a brand has brand.yaml, campaigns.yaml, rules.yaml "
        "and dialogs/*.yaml"
    )


def _read_brand(parsed: ParsedFiles, doc: YamlDoc) -> None:
    spec = parsed.validate(doc, (), BrandFile)
    languages: tuple[str, ...]
    default: str | None
    if spec is not None:
        languages, default = tuple(spec.languages), spec.default_language
    else:  # keep checking translations elsewhere if the languages themselves are fine
        languages, default = _languages_of(doc.data)
    parsed.brand = BrandPart(doc, spec, languages, default)


def _languages_of(data: Any) -> tuple[tuple[str, ...], str | None]:
    if not isinstance(data, dict):
        return (), None
    languages = data.get("languages")
    default = data.get("default_language")
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        return (), None
    return tuple(languages), default if isinstance(default, str) else None


def _read_campaigns(parsed: ParsedFiles, doc: YamlDoc) -> None:
    top = parsed.validate(doc, (), CampaignsFile)
    part = CampaignsPart(doc, {})
    for code in top.campaigns if top else {}:
        path: Path = ("campaigns", code)
        if parsed.valid_key(doc, path, check_campaign_code):
            part.campaigns[code] = parsed.validate(doc, path, CampaignSpec)
    parsed.campaigns = part


def _read_rules(parsed: ParsedFiles, doc: YamlDoc) -> None:
    top = parsed.validate(doc, (), RulesFile)
    part = RulesPart(doc, {})
    for name in top.rules if top else {}:
        path: Path = ("rules", name)
        if parsed.valid_key(doc, path, check_id):
            part.rules[name] = parsed.validate(doc, path, RuleSpec)
    parsed.rules = part


def _read_dialogs(parsed: ParsedFiles, doc: YamlDoc) -> None:
    top = parsed.validate(doc, (), DialogFile)
    part = DialogsPart(doc)
    parsed.dialogs.append(part)
    if top is None:
        part.has_entries = isinstance(doc.data, dict) and "entries" in doc.data
        return
    for name in top.fields:
        if parsed.valid_key(doc, ("fields", name), check_id):
            part.fields[name] = parsed.validate(doc, ("fields", name), FieldSpec)
    for name in top.keywords:
        if parsed.valid_key(doc, ("keywords", name), check_id):
            part.keywords[name] = parsed.validate(doc, ("keywords", name), KeywordSpec)
    if top.entries is not None:
        part.has_entries = True
        part.entries = parsed.validate(doc, ("entries",), EntriesSpec)
    for dialog_id in top.dialogs:
        if parsed.valid_key(doc, ("dialogs", dialog_id), check_id):
            part.dialogs[dialog_id] = _read_dialog(parsed, doc, ("dialogs", dialog_id))


def _read_dialog(parsed: ParsedFiles, doc: YamlDoc, path: Path) -> DialogPart:
    spec = parsed.validate(doc, path, DialogSpec)
    dialog = DialogPart(doc, spec, {})
    for step_id in spec.steps if spec else _raw_keys(doc.value_at((*path, "steps"))):
        step_path = (*path, "steps", step_id)
        if parsed.valid_key(doc, step_path, check_id):
            dialog.steps[step_id] = parsed.validate(doc, step_path, StepSpec)
    return dialog


def _raw_keys(value: Any) -> list[str]:
    """Step ids of a dialog whose own keys are broken: its steps still get checked."""
    return [key for key in value if isinstance(key, str)] if isinstance(value, dict) else []


def _is_dialog_file(path: str) -> bool:
    return path.startswith("dialogs/") and path.count("/") == 1 and path.endswith(".yaml")


FILE_KINDS: tuple[FileKind, ...] = (
    FileKind("brand", lambda path: path == "brand.yaml", _read_brand),
    FileKind("campaigns", lambda path: path == "campaigns.yaml", _read_campaigns),
    FileKind("dialog", _is_dialog_file, _read_dialogs),
    FileKind("rules", lambda path: path == "rules.yaml", _read_rules),
)

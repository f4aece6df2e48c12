"""Check a brand folder and compile it: all problems, or a complete `CompiledBrand`.

    files --parse_files--> shapes --compile passes--> CompiledBrand
                     (every pass adds problems; any problem rejects the version)

The passes run in dependency order: brand.yaml (languages), fields (templates may
name them), lexicon, dialog index (so references resolve), campaigns (gifts), steps,
entries, rules. Nothing is half-loaded: `compile_brand` returns a brand or raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path as FsPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs.checker import Checker
from dialogs.compile_fields import compile_fields, compile_lexicon
from dialogs.compile_rules import RuleCompiler
from dialogs.compile_steps import StepCompiler, index_dialogs
from dialogs.errors import InvalidBrandError, Problem
from dialogs.files import (
    BrandPart,
    CampaignsPart,
    DialogPart,
    ParsedFiles,
    parse_files,
    read_brand_dir,
)
from dialogs.model import (
    END,
    BrandSettings,
    Campaign,
    CompiledBrand,
    FieldDef,
    Gift,
    KeywordRoute,
    ProfileQuestion,
    Routes,
    Target,
    Texts,
)
from dialogs.schema import PURPOSES, BrandFile, EntriesSpec, NextSpec
from dialogs.templates import TemplateEngine
from dialogs.yamlnodes import Path, YamlDoc

__all__ = [
    "DEFAULT_TEXTS",
    "check_brand",
    "check_brand_dir",
    "compile_brand",
    "compile_brand_dir",
]

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")

# Used when brand.yaml leaves a text out; a language without a default must be given.
DEFAULT_TEXTS: Mapping[str, Mapping[str, str]] = {
    "fallback": {
        "en": "Sorry, I didn't quite get that.",
        "zh": "抱歉，我没太明白。",
    },
    "button_expired": {
        "en": "Sorry, that button has expired. Please use the buttons of my latest message.",
        "zh": "抱歉，这个按钮已经过期了。请使用我最新消息里的按钮。",
    },
    "reask": {
        "en": "Sorry, I couldn't read that. Could you try again?",
        "zh": "抱歉，我没看懂。可以再试一次吗？",
    },
    "greeting_morning": {"en": "Good morning", "zh": "早上好"},
    "greeting_afternoon": {"en": "Good afternoon", "zh": "下午好"},
    "greeting_evening": {"en": "Good evening", "zh": "晚上好"},
}
_TEMPLATE_TEXTS = ("fallback", "button_expired", "reask")  # the others are plain text


def check_brand(files: Mapping[str, str]) -> list[Problem]:
    """Every problem of a brand folder given as {relative path: text}; [] if valid."""
    return _build(files, "check")[1]


def check_brand_dir(root: str | FsPath) -> list[Problem]:
    try:
        files = read_brand_dir(root)
    except InvalidBrandError as error:
        return list(error.problems)
    return check_brand(files)


def compile_brand(files: Mapping[str, str], version_label: str) -> CompiledBrand:
    """Compile a brand version, or raise `InvalidBrandError` with every problem."""
    brand, problems = _build(files, version_label)
    if brand is None:
        raise InvalidBrandError(problems)
    return brand


def compile_brand_dir(root: str | FsPath, version_label: str) -> CompiledBrand:
    return compile_brand(read_brand_dir(root), version_label)


def _build(files: Mapping[str, str], version: str) -> tuple[CompiledBrand | None, list[Problem]]:
    parsed = parse_files(files)
    compiler = _Compiler(parsed, version)
    brand = compiler.run()
    problems = sorted(set(parsed.problems + compiler.checker.problems))
    return (brand if not problems else None), problems


def _parse_time(text: str) -> time | None:
    match = _TIME.fullmatch(text)
    return time(int(match[1]), int(match[2])) if match else None


class _Compiler:
    def __init__(self, parsed: ParsedFiles, version: str) -> None:
        self.parsed = parsed
        self.version = version
        brand = parsed.brand
        self.default_language = brand.default_language if brand else None
        self.checker = Checker(brand.languages if brand else (), TemplateEngine())

    def run(self) -> CompiledBrand | None:
        check, parts = self.checker, self.parsed.dialogs
        brand = self.parsed.brand
        settings = self._settings(brand.doc, brand.spec) if brand and brand.spec else None
        fields = compile_fields(check, parts)
        texts, greetings = self._brand_texts(brand) if brand else ({}, {})
        lexicon = compile_lexicon(check, parts)
        declared = index_dialogs(check, parts)
        campaigns, broken = self._campaigns(self.parsed.campaigns)
        entries = self._entries()
        steps = StepCompiler(
            check,
            fields,
            {code: campaign.gift for code, campaign in campaigns.items()},
            broken,
            self.default_language,
            self._answers(entries, declared, fields),
        )
        dialogs, compiled_steps = steps.dialogs(declared)
        routes = self._routes(entries, steps)
        rules = RuleCompiler(
            check,
            fields,
            campaigns,
            broken,
            steps.buttons,
            settings.timezone if settings else "UTC",
        ).rules(self.parsed.rules)
        if settings is None or routes is None or check.problems or self.parsed.problems:
            return None
        return CompiledBrand(
            version=self.version,
            settings=settings,
            templates=check.templates,
            texts=texts,
            greetings=greetings,
            fields=fields,
            dialogs=dialogs,
            steps=compiled_steps,
            buttons=steps.buttons,
            campaigns=campaigns,
            routes=routes,
            lexicon=lexicon,
            daily_topics=tuple(dialog.id for dialog in dialogs.values() if dialog.daily),
            rules=rules,
        )

    # brand.yaml ---------------------------------------------------------------------

    def _settings(self, doc: YamlDoc, spec: BrandFile) -> BrandSettings:
        check = self.checker
        if spec.default_language not in spec.languages:
            message = f"default_language '{spec.default_language}' is not in languages"
            check.report(doc, ("default_language",), message)
        for index, language in enumerate(spec.languages):
            if spec.languages.index(language) != index:
                check.report(doc, ("languages", index), f"'{language}' is listed twice")
        if spec.frequency_caps.per_week < spec.frequency_caps.per_day:
            message = "per_week must be at least per_day"
            check.report(doc, ("frequency_caps", "per_week"), message)
        consent = {
            purpose: check.plain_texts(doc, ("consent", purpose), getattr(spec.consent, purpose))
            for purpose in PURPOSES
        }
        return BrandSettings(
            name=spec.name,
            default_language=spec.default_language,
            languages=tuple(spec.languages),
            timezone=self._timezone(doc, spec.timezone),
            quiet_hours=self._quiet_hours(doc, spec.quiet_hours),
            per_day=spec.frequency_caps.per_day,
            per_week=spec.frequency_caps.per_week,
            daily_time=self._daily_time(doc, spec.daily_time),
            staff_chat_id=spec.staff_chat_id,
            consent=consent,
        )

    def _timezone(self, doc: YamlDoc, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            message = f"unknown timezone '{name}' (use a name like Asia/Shanghai or Europe/Paris)"
            self.checker.report(doc, ("timezone",), message)
            return "UTC"
        return name

    def _quiet_hours(self, doc: YamlDoc, text: str | None) -> tuple[time, time] | None:
        if text is None:
            return None
        start, _, end = text.partition("-")
        first, last = _parse_time(start.strip()), _parse_time(end.strip())
        if first is None or last is None:
            message = f"expected hours like 21:00-09:00, got '{text}'"
            self.checker.report(doc, ("quiet_hours",), message)
            return None
        return first, last

    def _daily_time(self, doc: YamlDoc, text: str) -> time:
        parsed = _parse_time(text)
        if parsed is None:
            self.checker.report(doc, ("daily_time",), f"expected a time like 10:00, got '{text}'")
            return time(10)
        return parsed

    def _brand_texts(
        self, brand: BrandPart
    ) -> tuple[dict[str, Texts], dict[str, Mapping[str, str]]]:
        """The brand's own texts (given or built in); greetings are plain text."""
        texts: dict[str, Texts] = {}
        greetings: dict[str, Mapping[str, str]] = {}
        for name in DEFAULT_TEXTS:
            path: Path = ("texts", name)
            given = getattr(brand.spec.texts, name) if brand.spec else None
            if given is None:
                given = self._default_text(brand.doc, path, name)
            if name in _TEMPLATE_TEXTS:
                texts[name] = self.checker.template_texts(brand.doc, path, given)
            else:
                greeting = name.removeprefix("greeting_")
                greetings[greeting] = self.checker.plain_texts(brand.doc, path, given)
        return texts, greetings

    def _default_text(self, doc: YamlDoc, path: Path, name: str) -> dict[str, str]:
        defaults = DEFAULT_TEXTS[name]
        for language in self.checker.languages:
            if language not in defaults:
                message = f"texts.{name} has no built-in '{language}' text; write one"
                self.checker.report(doc, path, message)
        return {lang: text for lang, text in defaults.items() if lang in self.checker.languages}

    # campaigns.yaml ---------------------------------------------------------------------

    def _campaigns(self, part: CampaignsPart | None) -> tuple[dict[str, Campaign], frozenset[str]]:
        """Readable campaigns, and the codes of broken ones (reported already)."""
        if part is None:
            return {}, frozenset()
        campaigns: dict[str, Campaign] = {}
        for code, spec in part.campaigns.items():
            if spec is None:
                continue
            path: Path = ("campaigns", code)
            gift = None
            if spec.gift is not None:
                names = self.checker.plain_texts(part.doc, (*path, "gift", "name"), spec.gift.name)
                gift = Gift(code, spec.gift.code, names)
            start = self.checker.target(part.doc, (*path, "start"), spec.start, None)
            campaigns[code] = Campaign(code, spec.name, tuple(spec.tags), gift, start)
        broken = frozenset(code for code, spec in part.campaigns.items() if spec is None)
        return campaigns, broken

    # entries ------------------------------------------------------------------------------

    def _entries(self) -> tuple[YamlDoc, EntriesSpec] | None:
        """The one `entries` section (among all dialog files)."""
        found: tuple[YamlDoc, EntriesSpec] | None = None
        first_file: str | None = None
        for part in self.parsed.dialogs:
            if not part.has_entries:
                continue
            if first_file is not None:
                message = f"entries are already declared in {first_file}"
                self.checker.report(part.doc, ("entries",), message, on_key=True)
                continue
            first_file = part.file
            if part.entries is not None:
                found = (part.doc, part.entries)
        if first_file is None and not self._any_dialog_file_unreadable():
            self._report_missing_entries()
        return found

    def _any_dialog_file_unreadable(self) -> bool:
        return any(path.startswith("dialogs/") for path in self.parsed.unreadable)

    def _report_missing_entries(self) -> None:
        message = "no file under dialogs/ declares entries (start and fallback)"
        if self.parsed.dialogs:
            self.checker.report(self.parsed.dialogs[0].doc, (), message)
        elif self.parsed.brand is not None:
            self.checker.report(self.parsed.brand.doc, (), message)

    def _answers(
        self,
        entries: tuple[YamlDoc, EntriesSpec] | None,
        declared: Mapping[str, DialogPart],
        fields: Mapping[str, FieldDef],
    ) -> dict[str, tuple[str, ...]]:
        """Profile question step -> the fields that, once set, answer it."""
        if entries is None:
            return {}
        doc, spec = entries
        answers: dict[str, tuple[str, ...]] = {}
        for index, question in enumerate(spec.profile_questions):
            path: Path = ("entries", "profile_questions", index)
            ref = self.checker.ref(doc, (*path, "step"), question.step, None)
            if ref is None:
                continue
            dialog, _, step_id = ref.partition(".")
            step = declared[dialog].steps.get(step_id)
            capture = step.capture if step else None
            names = question.answered_by or ([capture.field] if capture else [])
            if not names and step is not None:
                message = "a profile question needs a step with capture (or answered_by)"
                self.checker.report(doc, path, message)
            for name in names:
                if name not in self.checker.field_names:
                    message = f"unknown field '{name}'"
                    self.checker.report(doc, (*path, "answered_by"), message)
            answers[ref] = tuple(names)
        return answers

    def _routes(
        self, entries: tuple[YamlDoc, EntriesSpec] | None, steps: StepCompiler
    ) -> Routes | None:
        if entries is None:
            return None
        doc, spec = entries
        check = self.checker
        routes: list[KeywordRoute] = []
        for keyword, route in spec.keywords.items():
            path: Path = ("entries", "keywords", keyword)
            if keyword not in check.keyword_names:
                check.report(doc, path, f"unknown keyword '{keyword}'", on_key=True)
            actions = steps.actions(doc, path, route)
            go = check.target(doc, (*path, "go"), route.go, None) or Target(END)
            routes.append(KeywordRoute(keyword, actions, go))

        def target(key: str, value: NextSpec | None) -> Target | None:
            return check.target(doc, ("entries", key), value, None)

        return Routes(
            start=target("start", spec.start) or Target(END),
            restart=target("restart", spec.restart),
            fallback=target("fallback", spec.fallback) or Target(END),
            media=target("media", spec.media),
            keywords=tuple(routes),
            profile_questions=tuple(
                ProfileQuestion(ref, names) for ref, names in steps.answers.items() if names
            ),
        )

"""Sandboxed Jinja2 for brand texts: compile once, check statically, render safely.

Editors personalize texts ("Hi {{ fan.first_name }}"), but must never reach Python
objects, so templates run in Jinja2's `ImmutableSandboxedEnvironment` with:

* no globals at all (no `range`, `cycler`, `lipsum`...), only the documented context;
* an allowlist of plain filters plus our `date`; none of them calls its argument;
* `*`, `**` and `%` intercepted and `str.format` refused, so `'x' * 10**9` or
  `'{:>999999999}'.format(1)` cannot eat the memory;
* printing a function refused (`{{ 'x'.format }}`);
* undefined values that are falsy in `{% if %}` and work with `default`, but raise
  when printed, so a fan never receives "Hi , ..." (the engine sends fallback text).

Output is plain text for Telegram (autoescape off, no parse_mode) and capped to the
message limit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Template, TemplateSyntaxError, Undefined, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialogs.errors import RenderError

__all__ = [
    "CONTEXT_NAMES",
    "MESSAGE_LIMIT",
    "TemplateEngine",
    "TemplateIssue",
    "fit_message",
    "utf16_length",
]

MESSAGE_LIMIT = 4096  # Telegram's limit for a text message, counted in UTF-16 units
_MAX_REPEAT = 10_000  # longest string or list `*` may build
_MAX_EXPONENT = 64

_FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "max",
    "min",
    "round",
    "sort",
    "string",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "wordcount",
)

# The documented context: top-level names, and the keys inside them that exist.
# None means "any attribute" (dates) or "no attributes" (plain values).
_FIELDS = "<fields>"
_SHAPE: Mapping[str, Any] = {
    "fan": {
        "first_name": None,
        "last_name": None,
        "username": None,
        "language": None,
        "fields": _FIELDS,
        "tags": None,
    },
    "origin": {"first": None, "latest": None},
    "brand": {"name": None, "consent": {"daily": None, "offers": None, "profiling": None}},
    "today": None,
    "now": None,
    "greeting": None,
}
CONTEXT_NAMES = frozenset(_SHAPE)

_MONTHS = "January February March April May June July August September October November December"


class _PrintStrictUndefined(Undefined):
    """Falsy and `default`-friendly, but printing it is an error."""

    __slots__ = ()

    def __str__(self) -> str:
        return self._fail_with_undefined_error()


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'...'.format()` is refused: a width like {:>999999999} would eat the memory."""
        if super().wrap_str_format(value) is None:
            return None

        def refuse(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("str.format is not available in templates")

        return refuse

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("printf-style formatting is not available in templates")
        if operator == "**" and _too_big(right, _MAX_EXPONENT):
            raise SecurityError("the exponent is too large")
        if operator == "*" and _repeat_too_long(left, right):
            raise SecurityError("the repeated text would be too long")
        return super().call_binop(context, operator, left, right)


def _too_big(value: Any, limit: int) -> bool:
    return isinstance(value, int | float) and abs(value) > limit


def _repeat_too_long(left: Any, right: Any) -> bool:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(count, int):
            return len(seq) * count > _MAX_REPEAT
    return False


def _printable(value: Any) -> Any:
    """Called on every `{{ }}` value: printing a function (`'x'.format`) is refused."""
    if callable(value) and not isinstance(value, Undefined):
        raise SecurityError("a function cannot be printed")
    return value


@dataclass(frozen=True)
class TemplateIssue:
    line: int  # 1-based line inside the template
    message: str


class TemplateEngine:
    """One sandbox per brand version; compiled templates belong to it."""

    def __init__(self) -> None:
        env = _Environment(autoescape=False, undefined=_PrintStrictUndefined, finalize=_printable)
        kept = {name: env.filters[name] for name in _FILTERS}
        env.filters.clear()
        env.filters.update(kept)
        env.filters["date"] = _format_date
        env.globals.clear()
        self._env = env

    def prepare(
        self, source: str, fields: Collection[str]
    ) -> tuple[Template | None, list[TemplateIssue]]:
        """Compile `source` and check its names; the template is None if it has issues."""
        try:
            ast = self._env.parse(source)
            issues = _name_issues(ast, fields) + _loader_issues(ast)
            if issues:
                return None, issues
            return self._env.from_string(source), []
        except TemplateSyntaxError as error:  # also unknown filters and tests
            return None, [TemplateIssue(error.lineno, f"template error: {error.message}")]

    def compile(self, source: str) -> Template:
        """Compile without the name checks (for tests and previews)."""
        return self._env.from_string(source)

    def render(self, template: Template, context: Mapping[str, Any]) -> str:
        """Render to message text; any failure becomes a `RenderError`."""
        try:
            text = template.render(context).strip()
        except Exception as error:  # a template may raise anything; the fan must not see it
            raise RenderError(f"{type(error).__name__}: {error}") from error
        if not text:
            raise RenderError("the text is empty after rendering")
        return fit_message(text)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to `limit` UTF-16 units (an ellipsis marks the cut)."""
    if utf16_length(text) <= limit:
        return text
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:
            return text[:index] + "…"
    return text


def _name_issues(ast: nodes.Template, fields: Collection[str]) -> list[TemplateIssue]:
    issues: dict[str, TemplateIssue] = {}
    for name in sorted(find_undeclared_variables(ast) - CONTEXT_NAMES):
        message = f"unknown variable '{name}' (available: {', '.join(_SHAPE)})"
        issues[message] = TemplateIssue(_first_line(ast, name), message)
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if _private_name(node):
            message = "names starting with _ are not available"
            issues.setdefault(message, TemplateIssue(node.lineno, message))  # once is enough
            continue
        chain = _chain(node)
        problem = _chain_issue(chain, fields) if chain else None
        if problem and problem not in issues:
            issues[problem] = TemplateIssue(node.lineno, problem)
    return list(issues.values())


def _loader_issues(ast: nodes.Template) -> list[TemplateIssue]:
    kinds = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
    return [
        TemplateIssue(node.lineno, "include, import and extends are not available")
        for node in ast.find_all(kinds)
    ]


def _first_line(ast: nodes.Template, name: str) -> int:
    lines = [node.lineno for node in ast.find_all(nodes.Name) if node.name == name]
    return min(lines, default=1)


def _private_name(node: nodes.Node) -> bool:
    """`x._y`, `x.__class__` or `x['_y']`: never part of the documented context."""
    if isinstance(node, nodes.Getattr):
        return node.attr.startswith("_")
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return isinstance(node.arg.value, str) and node.arg.value.startswith("_")
    return False


def _chain(node: nodes.Node) -> list[str] | None:
    """`fan.fields.city` -> ["fan", "fields", "city"]; None if not a plain name chain."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, str):
                return None
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return parts[::-1]
        else:
            return None


def _chain_issue(chain: list[str], fields: Collection[str]) -> str | None:
    shape: Any = _SHAPE
    for depth, part in enumerate(chain):
        if shape == _FIELDS:
            return None if part in fields else f"unknown field '{part}' in fan.fields"
        if not isinstance(shape, Mapping):
            return None
        if part not in shape:
            if depth == 0:
                return None  # a loop variable or an unknown name reported elsewhere
            owner = ".".join(chain[:depth])
            return f"'{owner}' has no '{part}' (it has: {', '.join(shape)})"
        shape = shape[part]
    return None


@pass_context
def _format_date(context: Context, value: Any, style: str = "long") -> str:
    """`{{ today|date }}`, `{{ fan.fields.birthday|date('short') }}` or a strftime pattern."""
    day = _as_date(value)
    if "%" in style:
        return day.strftime(style[:40])
    fan = context.get("fan")
    language = str(fan.get("language")) if isinstance(fan, Mapping) else ""
    return _localized_date(day, language, style)


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise TypeError("the date filter needs a date")


def _localized_date(day: date, language: str, style: str) -> str:
    if language.startswith("zh"):
        if style == "short":
            return f"{day.year}-{day.month:02}-{day.day:02}"
        return f"{day.year}年{day.month}月{day.day}日"
    if language.startswith("en"):
        if style == "short":
            return f"{day.day:02}/{day.month:02}/{day.year}"
        return f"{day.day} {_MONTHS.split()[day.month - 1]} {day.year}"
    return day.isoformat()

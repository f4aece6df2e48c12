"""Turn pydantic validation errors into `file:line:column: message` problems.

Pydantic reports a `loc` (a path of keys and indexes) that may contain extra
elements such as the name of a union member; we walk the loc along the actual data
so the problem lands on a node that exists in the file, then phrase the message
for a marketer rather than a programmer.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dialogs.errors import Problem
from dialogs.yamlnodes import Path, YamlDoc

__all__ = ["shape_problems"]


def shape_problems(
    doc: YamlDoc, model: type[BaseModel], error: ValidationError, base: Path = ()
) -> list[Problem]:
    """One problem per faulty node (pydantic may report several per node).

    `base` is where in the file the value validated by `model` sits.
    """
    problems: list[Problem] = []
    seen: set[tuple[Path, str]] = set()
    for detail in error.errors():
        path, rest, on_key = _data_path(doc.value_at(base), detail["loc"])
        name = str(rest[-1]) if detail["type"] == "missing" and rest else ""
        if (path, name) in seen:
            continue
        seen.add((path, name))
        message = _message(detail, path, name, model)
        about_key = detail["type"] in ("missing", "extra_forbidden")
        problems.append(doc.problem((*base, *path), message, on_key=on_key or about_key))
    return problems


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[Path, list[int | str], bool]:
    """Split `loc` into the part that exists in `data` and what is left over."""
    path: list[str | int] = []
    rest: list[int | str] = []
    on_key = False
    current = data
    for element in loc:
        if element == "[key]":
            on_key = True
        elif isinstance(current, dict) and element in current and not rest:
            path.append(element)
            current = current[element]
        elif isinstance(current, list) and isinstance(element, int) and not rest:
            path.append(element)
            current = current[element] if 0 <= element < len(current) else None
        else:
            rest.append(element)
    return tuple(path), rest, on_key


def _message(detail: ErrorDetails, path: Path, missing: str, model: type[BaseModel]) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    got = _describe(detail["input"])
    if kind == "missing":
        return f"missing required key '{missing}'"
    if kind == "extra_forbidden":
        return _unknown_key(path, model)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", detail["msg"]))
    simple = {
        "string_type": "expected text",
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number",
        "float_parsing": "expected a number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "list_type": "expected a list",
        "dict_type": "expected a mapping (key: value lines)",
        "model_type": "expected a mapping (key: value lines)",
        "model_attributes_type": "expected a mapping (key: value lines)",
    }
    if kind in simple:
        return f"{simple[kind]}, got {got}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {got}"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    return str(detail["msg"])


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"'{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _unknown_key(path: Path, model: type[BaseModel]) -> str:
    key = str(path[-1]) if path else "?"
    message = f"unknown key '{key}'"
    allowed = _allowed_keys(model, path[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    return message


def _allowed_keys(model: type[BaseModel], parent: Path) -> list[str]:
    """The keys the model accepts at `parent`, found by walking the type hints."""
    current: Any = model
    for element in parent:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(element))
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(hint: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to the interesting type."""
    while True:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            hint = members[0] if members else None
        else:
            return hint

"""Read one YAML file into plain data while remembering where every value was written.

PyYAML's `compose` gives a node tree with marks (line, column). We turn that tree
into dicts, lists and scalars ourselves, and keep a `Path -> NodeInfo` index so any
later check (pydantic or our own) can point at `file:line:column`.

Doing the conversion ourselves also lets us fix YAML 1.1 surprises that bite
non-programmers: `No` and `yes` stay text (only true/false are booleans), `10:30`
stays text (not the sexagesimal number 630), and dates stay ISO text. Duplicate keys,
which PyYAML would silently overwrite, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dialogs.errors import Problem

__all__ = ["Mark", "NodeInfo", "Path", "YamlDoc", "parse_yaml"]

Path = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "timestamp", "binary", "seq", "map")}
_MAX_NODES = 50_000  # guards against "billion laughs" alias bombs


# Marks and NodeInfos are made for every node of every brand file the bot compiles: with
# slots, compiling the example brand leaves 0.2 MiB less resident in the bot.
@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """Where a value (and, inside a mapping, its key) was written."""

    value: Mark
    key: Mark | None
    style: str | None  # scalar style: None (plain), "'", '"', "|" or ">"


@dataclass
class YamlDoc:
    """One parsed file: its data and the position of every node in it."""

    file: str
    data: Any
    nodes: dict[Path, NodeInfo]
    lines: list[str] = field(repr=False)

    def mark(self, path: Path, *, on_key: bool = False) -> Mark:
        """Position of the node at `path`, or of its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            info = self.nodes.get(path[:end])
            if info is not None:
                if on_key and info.key is not None:
                    return info.key
                return info.value
        return Mark(1, 1)

    def value_at(self, path: Path) -> Any:
        """The data at `path` (None if the path does not exist)."""
        value = self.data
        for part in path:
            in_dict = isinstance(value, dict) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
            if not (in_dict or in_list):
                return None
            value = value[part]
        return value

    def problem(self, path: Path, message: str, *, on_key: bool = False) -> Problem:
        where = self.mark(path, on_key=on_key)
        return Problem(self.file, where.line, where.column, message)

    def template_line(self, path: Path, template_line: int) -> Mark:
        """Map line `template_line` (1-based) of the text at `path` to the file.

        Only literal blocks (`|`) keep their lines, so only they map line by line;
        any other style is reported at the start of the value.
        """
        info = self.nodes.get(path)
        if info is None or info.style != "|":
            return self.mark(path)
        line = info.value.line + template_line
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        return Mark(line, len(text) - len(text.lstrip(" ")) + 1)


def parse_yaml(file: str, text: str) -> tuple[YamlDoc | None, list[Problem]]:
    """Parse `text`; return the document (None on a syntax error) and any problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(file, error)]
    except yaml.YAMLError as error:
        return None, [Problem(file, 1, 1, f"YAML error: {error}")]
    builder = _Builder(file)
    try:
        data = builder.convert(root, ()) if root is not None else None
    except _TooLargeError as error:
        message = "the file is too large or repeats aliases too often"
        return None, [Problem(file, error.mark.line, error.mark.column, message)]
    return YamlDoc(file, data, builder.nodes, text.splitlines()), builder.problems


class _TooLargeError(Exception):
    """Raised to abandon a file whose aliases expand to too many nodes."""

    def __init__(self, mark: Mark) -> None:
        super().__init__(mark)
        self.mark = mark


def _syntax_problem(file: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.context and error.problem:
        message += f" ({error.context})"
    if error.problem and "'\\t'" in error.problem:
        message += "; indent with spaces, not tabs"
    elif error.context and "flow" in error.context:
        message += "; inside { } or [ ], put texts containing , ? : { } [ ] in quotes"
    return Problem(file, line, column, message)


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Converts a node tree to data, filling the position index as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes: dict[Path, NodeInfo] = {}
        self.problems: list[Problem] = []
        self._count = 0
        self._open: set[int] = set()  # nodes being converted, to catch recursive aliases
        self._numbers = SafeConstructor()

    def convert(self, node: Node, path: Path, key: Mark | None = None) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _TooLargeError(_mark(node))
        self.nodes[path] = NodeInfo(_mark(node), key, getattr(node, "style", None))
        if id(node) in self._open:
            return self._fail(node, "an alias refers to itself")
        self._open.add(id(node))
        try:
            return self._convert_node(node, path)
        finally:
            self._open.discard(id(node))

    def _fail(self, node: Node, message: str) -> None:
        where = _mark(node)
        self.problems.append(Problem(self.file, where.line, where.column, message))

    def _convert_node(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            return [self.convert(child, (*path, index)) for index, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        return self._fail(node, "unsupported YAML node")

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._fail(key_node, "a key must be plain text")
                continue
            key = str(key_node.value)
            if key == "<<" and key_node.tag == f"{_TAG}merge":
                self._fail(key_node, "merge keys (<<) are not supported; write the keys out")
                continue
            if key in first_seen:
                where = first_seen[key]
                self._fail(key_node, f"duplicate key '{key}' (first written at line {where.line})")
                continue
            first_seen[key] = _mark(key_node)
            result[key] = self.convert(value_node, (*path, key), _mark(key_node))
        return result

    def _scalar(self, node: ScalarNode) -> Any:
        raw = str(node.value)
        if node.style is not None or node.tag in _PLAIN_TAGS:
            return raw
        if node.tag == f"{_TAG}null":
            return None
        if node.tag == f"{_TAG}bool":
            # YAML 1.1 also reads yes/no/on/off as booleans; a button labelled
            # "No" must stay text, so only true/false count.
            lowered = raw.lower()
            return {"true": True, "false": False}.get(lowered, raw)
        if node.tag in (f"{_TAG}int", f"{_TAG}float"):
            if ":" in raw:  # 10:30 is a time of day, not base-60 arithmetic
                return raw
            return self._numbers.construct_object(node)
        self._fail(node, f"unsupported YAML tag '{node.tag}'")
        return raw

"""Text formatting: parse_mode markup to entities, and entities Telegram adds by itself.

Entity offsets and lengths are counted in UTF-16 code units, as on the wire.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from sandbox.errors import ApiError, bad_request

Entity = dict[str, Any]

_SIMPLE_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_AUTO_PATTERNS = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entity(kind: str, offset: int, length: int, **extra: Any) -> Entity:
    return {"type": kind, "offset": offset, "length": length, **extra}


def _sorted(entities: list[Entity]) -> list[Entity]:
    # Telegram lists entities by offset, an enclosing entity before the ones inside it.
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def auto_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram detects itself (commands, links, mentions), merged with ``existing``.

    A detected span that overlaps an explicit entity is dropped, as Telegram does.
    """
    result = list(existing or [])
    taken = [(e["offset"], e["offset"] + e["length"]) for e in result]
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            result.append(_entity(kind, start, end - start))
    return _sorted(result)


def parse_entities_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


class _HtmlToEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source_lines = source.splitlines(keepends=True)
        self.parts: list[str] = []
        self.length = 0
        self.open: list[tuple[str, int, dict[str, str]]] = []
        self.entities: list[Entity] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        prefix = "".join(self._source_lines[: line - 1])
        if line - 1 < len(self._source_lines):
            prefix += self._source_lines[line - 1][:column]
        return len(prefix.encode())

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        supported = tag in _SIMPLE_HTML_TAGS or tag in {"a", "blockquote", "tg-emoji"}
        if tag == "span" and attributes.get("class") == "tg-spoiler":
            supported = True
        if not supported:
            raise parse_entities_error(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            )
        self.open.append((tag, self.length, attributes))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            expected = f'"</{self.open[-1][0]}>"' if self.open else "no end tag"
            raise parse_entities_error(
                f"Unmatched end tag at byte offset {self._byte_offset()}, expected {expected}, "
                f'found "</{tag}>"'
            )
        name, start, attributes = self.open.pop()
        if self.length > start:
            self._emit(name, start, self.length - start, attributes)

    def _emit(self, tag: str, start: int, length: int, attributes: dict[str, str]) -> None:
        if tag == "a":
            self.entities.append(_entity("text_link", start, length, url=attributes.get("href")))
        elif tag == "span":
            self.entities.append(_entity("spoiler", start, length))
        elif tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
            self.entities.append(_entity(kind, start, length))
        elif tag == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            self.entities.append(_entity("custom_emoji", start, length, custom_emoji_id=emoji_id))
        elif tag == "code" and self.open and self.open[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity carrying the language.
            language = attributes.get("class", "").removeprefix("language-")
            if language:
                self.open[-1][2]["language"] = language
        elif tag == "pre" and attributes.get("language"):
            self.entities.append(_entity("pre", start, length, language=attributes["language"]))
        else:
            self.entities.append(_entity(_SIMPLE_HTML_TAGS[tag], start, length))


def parse_html(source: str) -> tuple[str, list[Entity]]:
    parser = _HtmlToEntities(source)
    parser.feed(source)
    parser.close()
    if parser.open:
        tag = parser.open[-1][0]
        raise parse_entities_error(f'Can\'t find end tag corresponding to start tag "{tag}"')
    return "".join(parser.parts), _sorted(parser.entities)


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_TOGGLES = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"))
_MD2_TOGGLES_ALL = (*_MD2_TOGGLES, ("~", "strikethrough"))
_MD1_TOGGLES = (("*", "bold"), ("_", "italic"))


class _MarkdownToEntities:
    """A small MarkdownV2 / legacy Markdown reader covering the markup bots actually use."""

    def __init__(self, source: str, v2: bool) -> None:
        self.source = source
        self.v2 = v2
        self.pos = 0
        self.parts: list[str] = []
        self.length = 0
        self.open: list[tuple[str, str, int]] = []
        self.entities: list[Entity] = []

    def _byte_offset(self) -> int:
        return len(self.source[: self.pos].encode())

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def run(self) -> tuple[str, list[Entity]]:
        while self.pos < len(self.source):
            self._step()
        if self.open:
            _, kind, _ = self.open[-1]
            raise parse_entities_error(
                f"Can't find end of {kind.capitalize()} entity at byte offset "
                f"{self._byte_offset()}"
            )
        return "".join(self.parts), _sorted(self.entities)

    def _step(self) -> None:
        src, char = self.source, self.source[self.pos]
        if char == "\\" and self.v2 and self.pos + 1 < len(src):
            self._append(src[self.pos + 1])
            self.pos += 2
            return
        if src.startswith("```", self.pos):
            self._pre()
            return
        if char == "`":
            self._code()
            return
        if char == "[":
            self.open.append(("[", "text_link", self.length))
            self.pos += 1
            return
        if char == "]" and self.open and self.open[-1][0] == "[":
            self._link_end()
            return
        for marker, kind in _MD2_TOGGLES_ALL if self.v2 else _MD1_TOGGLES:
            if src.startswith(marker, self.pos):
                self._toggle(marker, kind)
                return
        if self.v2 and char in _MD2_RESERVED:
            raise parse_entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        self._append(char)
        self.pos += 1

    def _toggle(self, marker: str, kind: str) -> None:
        self.pos += len(marker)
        if self.open and self.open[-1][0] == marker:
            _, _, start = self.open.pop()
            if self.length > start:
                self.entities.append(_entity(kind, start, self.length - start))
            return
        self.open.append((marker, kind, self.length))

    def _read_until(self, terminator: str) -> str:
        out: list[str] = []
        while self.pos < len(self.source):
            if self.source.startswith(terminator, self.pos):
                self.pos += len(terminator)
                return "".join(out)
            if self.v2 and self.source[self.pos] == "\\" and self.pos + 1 < len(self.source):
                self.pos += 1
            out.append(self.source[self.pos])
            self.pos += 1
        raise parse_entities_error(
            f"Can't find end of the entity starting at byte offset {self._byte_offset()}"
        )

    def _code(self) -> None:
        self.pos += 1
        start = self.length
        self._append(self._read_until("`"))
        if self.length > start:
            self.entities.append(_entity("code", start, self.length - start))

    def _pre(self) -> None:
        self.pos += 3
        body = self._read_until("```")
        language = ""
        first, newline, rest = body.partition("\n")
        if newline and first and " " not in first:
            language, body = first, rest
        start = self.length
        self._append(body)
        extra = {"language": language} if language else {}
        if self.length > start:
            self.entities.append(_entity("pre", start, self.length - start, **extra))

    def _link_end(self) -> None:
        _, _, start = self.open.pop()
        self.pos += 1
        if not self.source.startswith("(", self.pos):
            # Brackets without a URL are plain text in legacy Markdown, an error in V2.
            if self.v2:
                raise parse_entities_error("Character ']' is reserved")
            return
        self.pos += 1
        url = self._read_until(")")
        if self.length > start:
            self.entities.append(_entity("text_link", start, self.length - start, url=url))


def parse_markdown(source: str, v2: bool) -> tuple[str, list[Entity]]:
    return _MarkdownToEntities(source, v2).run()


def apply_parse_mode(
    text: str, parse_mode: str | None, explicit: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """Turn (possibly marked-up) text into plain text plus entities, like Telegram does.

    Explicit entities win over parse_mode, which Telegram then ignores.
    """
    if explicit:
        return text, _sorted(list(explicit))
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown(text, v2=True)
    if mode == "markdown":
        return parse_markdown(text, v2=False)
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return text, []

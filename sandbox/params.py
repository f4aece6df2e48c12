"""Decoding of Bot API call parameters.

Telegram accepts the same parameters as a query string, urlencoded or multipart form, or a
JSON body.  Form values are always strings: clients such as aiogram JSON-encode every
non-string value (``reply_markup='{"inline_keyboard": ...}'``, ``chat_id='123'``).  Rather than
guessing a type from the text, each method asks for the type it expects, so ``text="123"``
stays a string while ``chat_id="123"`` becomes an int.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.errors import CHAT_NOT_FOUND, bad_request

ATTACH_PREFIX = "attach://"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class UploadedFile:
    """A file that arrived as a multipart part."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """Typed access to the parameters of one call."""

    def __init__(
        self, values: Mapping[str, Any], files: Mapping[str, UploadedFile] | None = None
    ) -> None:
        self._values = dict(values)
        self._files = dict(files or {})

    @classmethod
    def of(cls, **values: Any) -> Params:
        return cls({k: v for k, v in values.items() if v is not None})

    def names(self) -> list[str]:
        return sorted(set(self._values) | set(self._files))

    def has(self, name: str) -> bool:
        return name in self._values or name in self._files

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def text(self, name: str) -> str | None:
        """A string parameter, never JSON-decoded (``text``, ``caption``, ``data``...)."""
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def required_text(self, name: str, reason: str) -> str:
        value = self.text(name)
        if not value:
            raise bad_request(reason)
        return value

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def required_integer(self, name: str, reason: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(reason)
        return value

    def number(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def obj(self, name: str) -> Any:
        """A JSON-typed parameter (object or array); strings are decoded."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_id(self, name: str = "chat_id") -> int | str:
        """A chat identifier: an integer id or an ``@username``."""
        value = self._values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request(CHAT_NOT_FOUND) from None

    def media(self, name: str) -> UploadedFile | str | None:
        """A file parameter: an uploaded part, an ``attach://`` reference, or a string."""
        if name in self._files:
            return self._files[name]
        value = self.text(name)
        if value is None:
            return None
        return self.resolve_attachment(value)

    def resolve_attachment(self, value: str) -> UploadedFile | str:
        if value.startswith(ATTACH_PREFIX):
            key = value[len(ATTACH_PREFIX) :]
            if key not in self._files:
                raise bad_request(f"file {key!r} not found in the request")  # Telegram-ish
            return self._files[key]
        return value


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and whichever body encoding was used."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return Params(values)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if isinstance(body, dict):
            values.update(body)
        return Params(values)
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(
                filename=value.filename or key,
                content_type=value.content_type or "application/octet-stream",
                data=value.file.read(),
            )
        else:
            values[key] = value if isinstance(value, str) else bytes(value).decode()
    return Params(values, files)

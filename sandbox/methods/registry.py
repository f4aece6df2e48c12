"""The table of Bot API methods: name (case-insensitive on the wire) -> handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sandbox.params import Params
from sandbox.world import BotWorld

Handler = Callable[[BotWorld, Params], Awaitable[Any]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler


REGISTRY: dict[str, MethodSpec] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the Bot API method ``name``."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = MethodSpec(name, handler)
        return handler

    return register

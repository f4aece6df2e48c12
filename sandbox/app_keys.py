"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from aiohttp import web

from sandbox.world import Sandbox

SANDBOX_KEY = web.AppKey("sandbox", Sandbox)

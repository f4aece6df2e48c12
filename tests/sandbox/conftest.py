"""Fixtures: a sandbox server per test, a real aiogram Bot pointed at it, and the client."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from sandbox.client import SandboxClient
from sandbox.server import serve_sandbox


def make_token() -> str:
    return f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(24)[:33]}"


@pytest.fixture
def token() -> str:
    return make_token()


@pytest.fixture
async def sandbox_url(token: str) -> AsyncIterator[str]:
    async with serve_sandbox(default_token=token) as url:
        yield url


@pytest.fixture
async def bot(sandbox_url: str, token: str) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url))
    bot = Bot(token, session=session)
    try:
        yield bot
    finally:
        # AiohttpSession.close() sleeps 250 ms for TLS shutdown; the sandbox is plain HTTP, so
        # close the underlying aiohttp session directly to keep the suite fast.
        if session._session is not None:
            await session._session.close()


@pytest.fixture
async def sb(sandbox_url: str, token: str) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox_url, token) as client:
        yield client


@pytest.fixture
async def fan(sb: SandboxClient) -> int:
    user = await sb.create_user(first_name="Ada", username="ada_fan", language_code="en")
    return int(user["id"])

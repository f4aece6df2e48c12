"""Fixtures for the outbox: a database with the example brand, the sandbox, a fake clock."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

import dialogs
from bot import brand
from sandbox.client import SandboxClient
from scheduler.rate_limit import RateLimiter
from scheduler.sender import OutboxSender
from storage.brand_cache import BrandCache
from storage.database import Database
from storage.models import Fan
from storage.repositories import consents, fans, outbox
from storage.repositories.fans import TelegramIdentity
from tests.bot.conftest import EXAMPLE_BRAND, TOKEN, sandbox, sandbox_url  # noqa: F401

# 12:00 in Shanghai (the example brand's zone): outside its quiet hours (21:00-09:00).
NOON_SHANGHAI = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    database: Database
    sandbox: SandboxClient
    clock: FakeClock
    sender: OutboxSender
    bot: Bot

    async def fan(
        self, *, consent: tuple[str, ...] = ("daily", "offers"), **identity: Any
    ) -> tuple[Fan, int]:
        """A fan known to the sandbox and the database; returns it and its Telegram id."""
        user = await self.sandbox.create_user(first_name=identity.pop("first_name", "Ann"))
        async with self.database.session() as session:
            fan, _ = await fans.load_or_create(
                session, TelegramIdentity(user["id"], user["first_name"]), user["id"], self.clock()
            )
            for field, value in identity.items():
                setattr(fan, field, value)
            for purpose in consent:
                await consents.record(
                    session, fan.id, purpose, granted=True, proof={}, now=self.clock()
                )
            await session.commit()
        return fan, user["id"]

    async def enqueue(self, fan: Fan, **row: Any) -> None:
        values = {
            "fan_id": fan.id,
            "source": "rule",
            "source_ref": "test",
            "content": {"step": "shop.buy"},
            "purpose": "offers",
            "due_at": self.clock(),
            **row,
        }
        async with self.database.session() as session:
            await outbox.enqueue(session, [values], self.clock())
            await session.commit()

    async def rows(self, fan: Fan) -> list[tuple[str, str | None]]:
        from sqlalchemy import select

        from storage.models import OutboxMessage

        async with self.database.session() as session:
            result = await session.execute(
                select(OutboxMessage.state, OutboxMessage.reason)
                .where(OutboxMessage.fan_id == fan.id)
                .order_by(OutboxMessage.id)
            )
            return [(state, reason) for state, reason in result]


@pytest.fixture
async def world(
    database: Database,
    sandbox: SandboxClient,  # noqa: F811
    sandbox_url: str,  # noqa: F811
) -> AsyncIterator[World]:
    clock = FakeClock(NOON_SHANGHAI)
    imported = await brand.import_dir(database, EXAMPLE_BRAND, author="test", now=clock())
    assert imported.problems == []
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url)))
    sender = OutboxSender(
        database,
        bot,
        BrandCache(dialogs.compile_brand),
        clock,
        RateLimiter(1000, per_chat_interval=0.0),
    )
    yield World(database, sandbox, clock, sender, bot)
    await bot.session.close()

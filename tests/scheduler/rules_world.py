"""Helpers for the rule tests: the example brand (or a variant), inbound input through the
real engine adapter, time rules, and the outbox read back."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

import dialogs
from bot import brand as brand_service
from dialogs import CompiledBrand
from handlers.dialog_adapter import run_engine
from handlers.replies import Replies
from sandbox.client import SandboxClient
from scheduler.rate_limit import RateLimiter
from scheduler.rules.ticks import run_time_rules
from scheduler.sender import OutboxSender
from scheduler.staff_notes import StaffDestinations
from storage import lifecycle, segments
from storage.brand_cache import BrandCache
from storage.database import Database
from storage.models import Fan, OutboxMessage, RuleFiring
from storage.repositories import consents, fans
from storage.repositories.fans import TelegramIdentity
from tests.bot.conftest import EXAMPLE_BRAND, TOKEN
from tests.scheduler.conftest import NOON_SHANGHAI, FakeClock


def brand_with_rules(rules_yaml: str) -> CompiledBrand:
    """The example brand with another rules.yaml."""
    files = dialogs.read_brand_dir(EXAMPLE_BRAND) | {"rules.yaml": rules_yaml}
    return dialogs.compile_brand(files, "test")


@dataclass
class RulesWorld:
    database: Database
    sandbox: SandboxClient
    clock: FakeClock
    sender: OutboxSender
    brand: CompiledBrand

    async def fan(
        self, *, consent: tuple[str, ...] = ("daily", "offers"), **columns: Any
    ) -> tuple[int, int]:
        """A fan in the sandbox and the database: (fan id, Telegram user id)."""
        user = await self.sandbox.create_user(first_name=columns.pop("first_name", "Ann"))
        async with self.database.session() as session:
            fan, _ = await fans.load_or_create(
                session, TelegramIdentity(user["id"], user["first_name"]), user["id"], self.clock()
            )
            for name, value in columns.items():
                setattr(fan, name, value)
            for purpose in consent:
                await consents.record(
                    session, fan.id, purpose, granted=True, proof={}, now=self.clock()
                )
            await session.commit()
        return fan.id, user["id"]

    async def inbound(self, fan_id: int, event: dialogs.Input, *, is_new: bool = False) -> None:
        """One input from the fan, as the handlers run it (engine adapter, one transaction)."""
        now = self.clock()
        async with self.database.session() as session:
            fan = await session.get(Fan, fan_id)
            assert fan is not None
            if isinstance(event, dialogs.Start):
                await lifecycle.start(session, fan, event.payload, now)
            else:
                fan.last_message_at = now  # what the fan-context middleware records
            await run_engine(session, self.brand, fan, event, Replies(), now, is_new=is_new)
            await session.commit()

    async def tick(self) -> int:
        async with self.database.session() as session:
            fired = await run_time_rules(session, self.brand, self.clock())
            await session.commit()
        return fired

    async def send_due(self) -> int:
        return await self.sender.run_batch()

    async def rows(self, fan_id: int) -> list[OutboxMessage]:
        async with self.database.session() as session:
            result = await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.fan_id == fan_id)
                .order_by(OutboxMessage.id)
            )
            return list(result.scalars())

    async def firings(self, fan_id: int) -> list[RuleFiring]:
        async with self.database.session() as session:
            result = await session.execute(
                select(RuleFiring).where(RuleFiring.fan_id == fan_id).order_by(RuleFiring.id)
            )
            return list(result.scalars())

    async def texts(self, user_id: int) -> list[str]:
        return [m.text or "" for m in await self.sandbox.messages(user_id)]


def button_data(brand: CompiledBrand, step: str, label_part: str) -> str:
    return next(
        data
        for data, button in brand.buttons.items()
        if button.step == step and label_part in button.label["en"]
    )


@pytest.fixture
async def rules_world(
    database: Database, sandbox: SandboxClient, sandbox_url: str
) -> AsyncIterator[RulesWorld]:
    clock = FakeClock(NOON_SHANGHAI)
    imported = await brand_service.import_dir(database, EXAMPLE_BRAND, author="test", now=clock())
    assert imported.problems == []
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox_url)))
    admin = await sandbox.create_user(first_name="Admin")
    sender = OutboxSender(
        database,
        bot,
        BrandCache(dialogs.compile_brand),
        clock,
        RateLimiter(1000, per_chat_interval=0.0),
        recheck=segments.recheck_condition,
        staff=StaffDestinations(admin_ids=(admin["id"],)),
    )
    brand = dialogs.compile_brand(dialogs.read_brand_dir(EXAMPLE_BRAND), "v-test")
    yield RulesWorld(database, sandbox, clock, sender, brand)
    await bot.session.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)

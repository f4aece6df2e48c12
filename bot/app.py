"""The app factory: builds the Bot, the Dispatcher, the database and the inbox workers.

Nothing here runs at import time; tests build as many apps as they like.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import dialogs
from bot import brand, console
from bot.polling import Poller
from bot.processor import InboxProcessor
from bot.session import JsonSession
from bot.settings import Settings
from dialogs import CompiledBrand
from handlers.routers import setup_dispatcher
from handlers.staff_desk import StaffConfig, StaffDesk
from handlers.staff_queue import StaffQueue
from scheduler.jobs import create_scheduler
from scheduler.rate_limit import RateLimiter
from scheduler.sender import OutboxSender
from scheduler.staff_notes import StaffDestinations
from storage.brand_cache import BrandCache
from storage.clock import Clock, utc_now
from storage.database import Database
from storage.segments import recheck_condition

logger = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    database: Database
    bot: Bot
    dispatcher: Dispatcher
    processor: InboxProcessor
    sender: OutboxSender
    scheduler: AsyncIOScheduler
    clock: Clock = field(default=utc_now)
    staff_desk: StaffDesk | None = None
    staff_queue: StaffQueue | None = None
    # Set by the run mode once updates are being taken in.
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # `rapport run` migrates in a child process, keeping Alembic out of the bot's memory;
    # tests and the demo migrate in-process (faster to start).
    migrate_in_child: bool = False

    def create_poller(self) -> Poller:
        return Poller(
            self.database,
            self.bot,
            self.processor,
            self.clock,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
            timeout=self.settings.polling_timeout,
            max_backlog=self.settings.inbox_max_backlog,
        )

    async def prepare(self) -> None:
        """Migrate the database and load the brand. Safe to run on every start."""
        if self.migrate_in_child:
            from storage.migrate_child import upgrade_in_child

            await upgrade_in_child(self.settings.database_url)
        else:
            from storage import migrate

            await migrate.upgrade(self.database)
        if self.settings.brand_dir is not None:
            version = await brand.ensure_imported(
                self.database, self.settings.brand_dir, self.clock()
            )
            if version is not None:
                logger.info("imported the brand folder as version %s", version.id)

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        await self.database.dispose()


def create_bot(settings: Settings) -> Bot:
    if settings.bot_token is None:
        raise ValueError("RAPPORT_BOT_TOKEN is not set")
    session = JsonSession(api=TelegramAPIServer.from_base(settings.api_url))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )


def create_dispatcher(
    settings: Settings,
    brand_cache: BrandCache[CompiledBrand],
    staff_desk: StaffDesk | None = None,
) -> Dispatcher:
    # No aiogram FSM: a fan's place in the dialogs is kept in the database (fans.conversation),
    # and its middleware cost every update a state look-up (with Redis, a round trip).
    dispatcher = Dispatcher(disable_fsm=True)
    # Workflow data every handler can ask for by name.
    dispatcher["brand_cache"] = brand_cache
    dispatcher["console_links"] = console.login_links(
        settings, webhook=settings.webhook_url is not None
    )
    if staff_desk is not None:
        dispatcher["staff_desk"] = staff_desk
    setup_dispatcher(dispatcher)
    return dispatcher


def create_app(settings: Settings, *, clock: Clock = utc_now) -> App:
    database = Database(settings.database_url)
    bot = create_bot(settings)
    brand_cache = BrandCache(dialogs.compile_brand)
    staff_desk = StaffDesk(database, bot, brand_cache, staff_config(settings), clock)
    staff_queue = StaffQueue(staff_desk)
    dispatcher = create_dispatcher(settings, brand_cache, staff_desk)
    processor = InboxProcessor(
        database, dispatcher, bot, clock, concurrency=settings.max_concurrent_updates
    )
    limiter = RateLimiter(settings.send_rate)
    sender = OutboxSender(
        database,
        bot,
        brand_cache,
        clock,
        limiter,
        recheck=recheck_condition,
        staff=StaffDestinations(settings.staff_chat_id, tuple(settings.admin_ids)),
    )
    scheduler = create_scheduler(
        database, sender, brand_cache, clock, settings.retention, staff_queue
    )
    return App(
        settings,
        database,
        bot,
        dispatcher,
        processor,
        sender,
        scheduler,
        clock,
        staff_desk,
        staff_queue,
    )


def staff_config(settings: Settings) -> StaffConfig:
    return StaffConfig(
        staff_chat_id=settings.staff_chat_id,
        admin_ids=frozenset(settings.admin_ids),
        staff_ids=frozenset(settings.staff_ids),
        idle=timedelta(minutes=settings.handoff_idle_minutes),
        topics_per_minute=settings.handoff_topics_per_minute,
    )

"""APScheduler 3 runs the ticks; per-fan timers live in the outbox, not as jobs.

Job defaults are chosen on purpose: `coalesce` runs a late job once instead of once per
missed tick, `max_instances=1` never overlaps a slow tick with the next, and a generous
`misfire_grace_time` keeps a tick that started late (a busy loop, a slow database) from
being skipped silently as the 1 s default would.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from dialogs import CompiledBrand
from handlers.staff_queue import StaffQueue
from scheduler.planner import plan_daily
from scheduler.rules.ticks import run_time_rules
from scheduler.sender import OutboxSender
from storage.brand_cache import BrandCache, NoActiveBrandError
from storage.clock import Clock
from storage.database import Database
from storage.privacy import Retention, apply_retention

logger = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
SENDER_EVERY = timedelta(seconds=1)
# The sender's tick may run past the next one by a batch (scheduler.sender.TICK_SECONDS):
# that next one is let in and waits for it (the sender runs one tick at a time), rather
# than being skipped with a warning. A third would still be skipped: the sender is behind.
SENDER_INSTANCES = 2
PLANNER_EVERY = timedelta(minutes=5)
RECOVERY_EVERY = timedelta(minutes=1)
RETENTION_EVERY = timedelta(hours=6)
RULES_EVERY = timedelta(minutes=1)  # time rules: schedules, anniversaries, silences
STAFF_TOPICS_EVERY = timedelta(seconds=1)
STAFF_IDLE_EVERY = timedelta(seconds=5)


def create_scheduler(
    database: Database,
    sender: OutboxSender,
    brand_cache: BrandCache[CompiledBrand],
    clock: Clock,
    retention: Retention,
    staff_queue: StaffQueue | None = None,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    add_sender_tick(scheduler, sender)
    add_tick(scheduler, "outbox recovery", sender.recover, RECOVERY_EVERY, id="outbox-recovery")
    add_tick(
        scheduler,
        "daily planner",
        lambda: run_planner(database, brand_cache, clock),
        PLANNER_EVERY,
        next_run_time=clock(),
        id="daily-planner",
    )
    add_tick(
        scheduler,
        "time rules",
        lambda: run_rules(database, brand_cache, clock),
        RULES_EVERY,
        next_run_time=clock() + timedelta(seconds=10),
        id="time-rules",
    )
    add_tick(
        scheduler,
        "retention",
        lambda: run_retention(database, retention, clock),
        RETENTION_EVERY,
        next_run_time=clock() + timedelta(minutes=1),
        id="retention",
    )
    if staff_queue is not None:
        # The queue of staff topics to open lives in the handoffs table, not in jobs.
        add_tick(
            scheduler,
            "staff topics",
            staff_queue.announce_queued,
            STAFF_TOPICS_EVERY,
            id="staff-topics",
        )
        add_tick(
            scheduler,
            "staff hand-back",
            staff_queue.hand_back_idle,
            STAFF_IDLE_EVERY,
            id="staff-hand-back",
        )
    return scheduler


async def run_retention(database: Database, retention: Retention, clock: Clock) -> None:
    async with database.session() as session:
        report = await apply_retention(session, retention, clock())
        await session.commit()
    logger.info(
        "retention: %s message texts, %s keyword hits, %s raw updates erased",
        report.message_texts,
        report.keyword_hits,
        report.raw_updates,
    )


async def run_planner(
    database: Database, brand_cache: BrandCache[CompiledBrand], clock: Clock
) -> int:
    async with database.session() as session:
        try:
            brand = await brand_cache.current(session)
        except NoActiveBrandError:
            return 0
        planned = await plan_daily(session, brand.settings, clock())
        await session.commit()
    if planned:
        logger.info("planned %s daily openers", planned)
    return planned


async def run_rules(
    database: Database, brand_cache: BrandCache[CompiledBrand], clock: Clock
) -> int:
    """Fire the brand's schedule, anniversary and inactivity rules that are due."""
    async with database.session() as session:
        try:
            brand = await brand_cache.current(session)
        except NoActiveBrandError:
            return 0
        fired = await run_time_rules(session, brand, clock())
        await session.commit()
    return fired


def add_sender_tick(scheduler: AsyncIOScheduler, sender: OutboxSender) -> None:
    """The outbox sender's tick, every second (the running bot's and the benchmark's)."""
    add_tick(
        scheduler,
        "outbox sender",
        sender.tick,
        SENDER_EVERY,
        id="outbox-sender",
        max_instances=SENDER_INSTANCES,
    )


def add_tick(
    scheduler: AsyncIOScheduler,
    name: str,
    job: Callable[[], Awaitable[object]],
    every: timedelta,
    **options: Any,
) -> None:
    """Run `job` every `every`, logged as `name`: in its own failures (logged_job) and in
    APScheduler's lines about it (a skipped run), which would otherwise name the wrapper."""
    scheduler.add_job(
        logged_job(name, job), "interval", seconds=every.total_seconds(), name=name, **options
    )


def logged_job(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """A job that logs its failure and lives on (a dead database must not kill the tick)."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            # The scheduler cancels a running job when the bot stops (its transaction
            # rolls back). Ending quietly here keeps APScheduler from logging the
            # cancellation as a job failure, with a traceback, on every stop.
            logger.info("%s: stopped with the bot", name)
        except SQLAlchemyError as error:
            logger.error("%s: database error: %s", name, error)
        except Exception:
            logger.exception("%s failed", name)

    return run

"""Jobs as the bot's scheduler runs them: a failure is logged and the tick lives on; a job
still running when the bot stops ends quietly (its transaction rolls back)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler import jobs


async def run_until_stopped(job: Callable[[], Awaitable[object]]) -> None:
    started = asyncio.Event()

    async def marked() -> object:
        started.set()
        return await job()

    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=jobs.JOB_DEFAULTS)
    scheduler.add_job(jobs.logged_job("test job", marked), "date", run_date=datetime.now(UTC))
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.05)
    scheduler.shutdown(wait=False)  # as bot.runner stops it
    await asyncio.sleep(0.05)  # the cancelled job runs to its end


async def test_a_job_running_when_the_bot_stops_is_not_logged_as_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def endless() -> None:
        await asyncio.sleep(3600)

    with caplog.at_level(logging.INFO):
        await run_until_stopped(endless)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "test job: stopped with the bot" in caplog.messages


async def test_a_failing_job_is_logged_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise ValueError("bad")

    with caplog.at_level(logging.INFO):
        await run_until_stopped(broken)

    assert any(
        r.levelno == logging.ERROR and r.getMessage() == "test job failed" for r in caplog.records
    )


def test_the_bots_jobs_carry_their_names_into_apschedulers_own_log_lines() -> None:
    # APScheduler names a job in its warnings (a skipped or missed run) by `job.name`,
    # which would otherwise be the wrapper's "logged_job.<locals>.run" for every job.
    sender = type("Sender", (), {"tick": None, "recover": None})()
    now = datetime.now(UTC)
    scheduler = jobs.create_scheduler(None, sender, None, lambda: now, None)  # type: ignore[arg-type]
    names = {job.id: job.name for job in scheduler.get_jobs()}
    assert names["outbox-sender"] == "outbox sender"
    assert all("<locals>" not in name for name in names.values())

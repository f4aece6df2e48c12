"""Outbound: a personalised broadcast through the real OutboxSender under Telegram's limits.

Outbox rows (one per fan, the daily opener: personalised with the fan's name) are
inserted in bulk; the sender is ticked by APScheduler exactly as in the running bot; the
sandbox enforces a global limit at the configured rate and one message a second per
chat, answering 429 beyond. Reported: achieved msg/s from the first send to the last
against the configured rate (the baseline), and the 429s the sandbox had to give: all of
them, and those it gave just after its own event loop had stalled (it then counts sends
that waited in its sockets as arriving together, which no sender can prevent).

    python -m bench.outbound [--rates 30,1000] [--fans 600,10000] [--repeat 3]
"""

import argparse
import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, insert, select

import dialogs
from bench.common import (
    ROOT,
    TOKEN,
    Databases,
    median,
    print_table,
    sandbox_process,
    write_result,
)
from bot import brand
from bot.app import create_bot
from bot.heap import freeze_startup_objects
from bot.settings import Settings
from sandbox.client import SandboxClient
from scheduler.jobs import JOB_DEFAULTS, add_sender_tick
from scheduler.rate_limit import RateLimiter
from scheduler.sender import OutboxSender
from storage import migrate
from storage.brand_cache import BrandCache
from storage.database import Database
from storage.models import Consent, Fan, FanStatus, OutboxMessage, OutboxState

TARGET_SHARE = 0.97
# A 429 this soon after the sandbox's loop came back from a stall (sandbox/loop_watch.py)
# is counted as the stall's; the watch itself notices a stall up to one wake-up late.
AFTER_STALL_SECONDS = 0.2
STALL_RESOLUTION = 0.01
# Noon in the example brand's time zone (Asia/Shanghai): outside its quiet hours.
START = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
INSERT_CHUNK = 5_000


@dataclass
class Run:
    rate: float
    fans: int
    sent: int
    achieved_per_second: float
    too_many_requests: int
    # Of those, the ones the sandbox answered just after its own event loop had stalled:
    # it then counts the sends that waited together, however the sender spaced them.
    too_many_requests_after_sandbox_stall: int
    sandbox_stalls: int
    seconds: float
    sender: dict[str, int]


class RunningClock:
    """Wall time moving from START, so quiet hours never get in the way of a run."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=time.monotonic() - self._origin)


async def measure(api_url: str, url: str, rate: float, fans: int, burst_seconds: float) -> Run:
    async with SandboxClient(api_url, TOKEN) as sandbox:
        await sandbox.reset()
        chat_ids = await _create_users(sandbox, fans)
        database = Database(url)
        clock = RunningClock()
        await migrate.upgrade(database)
        await brand.ensure_imported(database, ROOT / "examples" / "demo_brand", clock())
        await _insert_outbox(database, chat_ids, clock())
        await sandbox.set_faults(
            chat_limits=True,
            global_limit=True,
            global_per_second=float(rate),
            global_burst=max(1, int(rate * burst_seconds)),
        )
        await sandbox.reset_stats()
        bot = create_bot(Settings(_env_file=None, bot_token=TOKEN, api_url=api_url))
        sender = OutboxSender(
            database, bot, BrandCache(dialogs.compile_brand), clock, RateLimiter(rate)
        )
        freeze_startup_objects()  # as the bot does once it has started (bot/heap.py)
        started = time.monotonic()
        await _run_sender(database, sender)
        seconds = time.monotonic() - started
        stats = await sandbox.stats()
        await bot.session.close()
        await database.dispose()
    sends = sorted(send["t"] for send in stats["sends"])
    window = max(sends[-1] - sends[0], 1e-6) if len(sends) > 1 else 0.0
    return Run(
        rate=rate,
        fans=fans,
        sent=len(sends),
        # n sends span n - 1 intervals of 1/rate at exactly the configured rate.
        achieved_per_second=(len(sends) - 1) / window if window else 0.0,
        too_many_requests=int(stats["too_many_requests"]),
        too_many_requests_after_sandbox_stall=after_a_stall(
            stats["too_many_requests_at"], stats["stalls"]
        ),
        sandbox_stalls=len(stats["stalls"]),
        seconds=seconds,
        sender=asdict(sender.stats),
    )


def after_a_stall(refused_at: list[float], stalls: list[list[float]]) -> int:
    """How many 429s came during a sandbox stall or within AFTER_STALL_SECONDS of its end."""
    windows = [
        (ended - late - STALL_RESOLUTION, ended + AFTER_STALL_SECONDS) for ended, late in stalls
    ]
    return sum(1 for t in refused_at if any(start <= t <= end for start, end in windows))


async def _create_users(sandbox: SandboxClient, count: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, count, 200):
        chunk = range(start, min(count, start + 200))
        users = await asyncio.gather(*(sandbox.create_user(first_name=f"Fan{n}") for n in chunk))
        ids.extend(int(user["id"]) for user in users)
    return ids


async def _insert_outbox(database: Database, chat_ids: list[int], now: datetime) -> None:
    """Per chat a fan (agreed to the daily chat) and a due row, in bulk (few transactions)."""
    for start in range(0, len(chat_ids), INSERT_CHUNK):
        chunk = chat_ids[start : start + INSERT_CHUNK]
        async with database.session() as session:
            fan_ids = (
                await session.scalars(
                    insert(Fan).returning(Fan.id, sort_by_parameter_order=True),
                    [
                        {
                            "telegram_user_id": chat_id,
                            "chat_id": chat_id,
                            "first_name": f"Fan{start + n}",
                            "status": FanStatus.ACTIVE.value,
                            "joined_at": now,
                            "last_seen_at": now,
                            "conversation": {},
                        }
                        for n, chat_id in enumerate(chunk)
                    ],
                )
            ).all()
            await session.execute(
                insert(Consent),
                [
                    {"fan_id": fan_id, "purpose": "daily", "granted": True, "proof": {},
                     "updated_at": now}
                    for fan_id in fan_ids
                ],
            )  # fmt: skip
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "fan_id": fan_id,
                        "source": "broadcast",
                        "source_ref": "bench",
                        "content": {"daily": True},
                        "priority": 0,
                        "due_at": now,
                        "state": OutboxState.PENDING.value,
                        "attempts": 0,
                        "created_at": now,
                    }
                    for fan_id in fan_ids
                ],
            )
            await session.commit()


async def _run_sender(database: Database, sender: OutboxSender) -> None:
    """The sender ticked as the running bot ticks it, until every row went out."""
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    add_sender_tick(scheduler, sender)
    scheduler.start()
    try:
        while True:
            await asyncio.sleep(0.5)
            if not await _unfinished(database):
                break
    finally:
        scheduler.shutdown(wait=False)
        await sender.wait_idle()


async def _unfinished(database: Database) -> int:
    """Rows still to be sent (a 429 puts a row back as pending, due after retry_after)."""
    states = [OutboxState.PENDING.value, OutboxState.SENDING.value]
    async with database.read_session() as session:
        query = select(func.count()).where(OutboxMessage.state.in_(states))
        return int((await session.execute(query)).scalar_one())


async def run(
    rates: list[float], sizes: list[int], repeat: int, databases: list[str], burst: float
) -> dict[str, object]:
    results: dict[str, object] = {"rates": rates, "fans": sizes, "repeat": repeat}
    rows = []
    async with Databases() as fresh, sandbox_process() as api_url:
        for kind in databases:
            for rate, fans in zip(rates, sizes, strict=True):
                runs = [
                    await measure(api_url, await fresh.url(kind), rate, fans, burst)
                    for _ in range(repeat)
                ]
                achieved = median([r.achieved_per_second for r in runs])
                summary = {
                    "runs": [asdict(r) for r in runs],
                    "configured_per_second": rate,
                    "achieved_per_second": round(achieved, 1),
                    "share": round(achieved / rate, 3),
                    "too_many_requests": sum(r.too_many_requests for r in runs),
                    "too_many_requests_after_sandbox_stall": sum(
                        r.too_many_requests_after_sandbox_stall for r in runs
                    ),
                    "sandbox_stalls": sum(r.sandbox_stalls for r in runs),
                    "target_share": TARGET_SHARE,
                }
                results[f"{kind}@{rate:g}"] = summary
                rows.append(
                    [
                        kind,
                        f"{rate:g}",
                        fans,
                        summary["achieved_per_second"],
                        summary["share"],
                        f">= {TARGET_SHARE}",
                        summary["too_many_requests"],
                        summary["too_many_requests_after_sandbox_stall"],
                        summary["sandbox_stalls"],
                    ]
                )
    print_table(
        f"Outbound: personalised broadcast through the sandbox's limits, median of {repeat}",
        [
            "database",
            "rate/s",
            "fans",
            "achieved/s",
            "share",
            "target",
            "429s (all runs)",
            "of them after a sandbox stall",
            "sandbox stalls",
        ],
        rows,
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbound")
    parser.add_argument("--rates", default="30,1000", help="configured send rates, msg/s")
    parser.add_argument("--fans", default="600,10000", help="broadcast size for each rate")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument(
        "--burst-seconds",
        type=float,
        default=0.1,
        help="the sandbox's global bucket holds this many seconds of sends",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(
        run(
            [float(rate) for rate in args.rates.split(",")],
            [int(size) for size in args.fans.split(",")],
            args.repeat,
            args.databases.split(","),
            args.burst_seconds,
        )
    )
    print(f"written to {write_result('outbound', results)}")


if __name__ == "__main__":
    main()

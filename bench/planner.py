"""Planner: today's daily openers for N fans across 20 time zones (scheduler.planner).

Fans (and their consent to the daily chat) are generated, seeded, and loaded in bulk;
then `plan_daily` runs in a fresh child process, which reports its own time and peak RSS
(VmHWM). The baseline is the same child doing everything but the planning (imports, the
compiled brand, one query), so the ratio shows what planning itself costs.

    python -m bench.planner [--fans 1000000] [--repeat 1] [--databases sqlite,postgres]
"""

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import bulk
from bench.common import ROOT, Databases, median, print_table, write_result
from storage import migrate
from storage.database import Database

TARGET_SECONDS = 60.0
TARGET_RSS_MIB = 300.0
NOW = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)
ZONES = [
    "Asia/Shanghai", "Asia/Tokyo", "Asia/Kolkata", "Asia/Dubai", "Asia/Singapore",
    "Asia/Jakarta", "Asia/Seoul", "Europe/London", "Europe/Paris", "Europe/Moscow",
    "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "America/Mexico_City",
    "Australia/Sydney", "Pacific/Auckland",
]  # fmt: skip
FAN_COLUMNS = (
    "id", "telegram_user_id", "chat_id", "first_name", "timezone", "status", "joined_at",
    "last_seen_at", "last_message_at", "conversation", "daily_ignored",
)  # fmt: skip
CONSENT_COLUMNS = ("fan_id", "purpose", "granted", "proof", "updated_at")


def fan_rows(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    for fan_id in range(1, count + 1):
        joined = NOW - timedelta(days=rng.randrange(1, 365), seconds=rng.randrange(86_400))
        status = "active" if rng.random() < 0.95 else rng.choice(["opted_out", "blocked"])
        yield (
            fan_id,
            10_000_000 + fan_id,
            10_000_000 + fan_id,
            f"Fan{fan_id}",
            ZONES[fan_id % len(ZONES)],
            status,
            joined,
            joined,
            joined,
            {},
            0,
        )


def consent_rows(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed + 1)
    for fan_id in range(1, count + 1):
        if rng.random() < 0.9:  # nine fans in ten agreed to the daily chat
            yield (fan_id, "daily", True, {"via": "bench"}, NOW)


async def generate(url: str, fans: int, seed: int) -> float:
    database = Database(url)
    try:
        await migrate.upgrade(database)
        started = time.perf_counter()
        await bulk.load(database, "fans", FAN_COLUMNS, fan_rows(fans, seed))
        await bulk.load(database, "consents", CONSENT_COLUMNS, consent_rows(fans, seed))
        await bulk.reset_sequence(database, "fans")
        return time.perf_counter() - started
    finally:
        await database.dispose()


async def clear_outbox(url: str) -> None:
    from sqlalchemy import delete

    from storage.models import OutboxMessage

    database = Database(url)
    async with database.session() as session:
        await session.execute(delete(OutboxMessage))
        await session.commit()
    await database.dispose()


async def child(url: str, plan: bool) -> dict[str, Any]:
    """In the child process: plan (or, for the baseline, only get ready to) and report."""
    import dialogs
    from scheduler.planner import plan_daily
    from storage.models import Fan

    brand = dialogs.compile_brand(dict(dialogs.read_brand_dir(ROOT / "examples/demo_brand")), "v")
    database = Database(url)
    started = time.perf_counter()
    planned = 0
    async with database.session() as session:
        if plan:
            planned = await plan_daily(session, brand.settings, NOW)
        else:
            from sqlalchemy import func, select

            await session.execute(select(func.count()).select_from(Fan))
        await session.commit()
    seconds = time.perf_counter() - started
    await database.dispose()
    return {"seconds": seconds, "planned": planned, "peak_rss_mib": _own_peak_rss()}


def _own_peak_rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_child(url: str, plan: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.planner", "--child", url]
    if not plan:
        command.append("--baseline")
    output = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        command, cwd=ROOT, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


async def run(fans: int, repeat: int, databases: list[str], seed: int) -> dict[str, Any]:
    results: dict[str, Any] = {"fans": fans, "zones": len(ZONES), "repeat": repeat}
    rows = []
    async with Databases() as fresh:
        for kind in databases:
            url = await fresh.url(kind)
            generated = await generate(url, fans, seed)
            runs, baselines = [], []
            for _ in range(repeat):
                await clear_outbox(url)
                baselines.append(await asyncio.to_thread(run_child, url, False))
                runs.append(await asyncio.to_thread(run_child, url, True))
            seconds = median([r["seconds"] for r in runs])
            rss = max(r["peak_rss_mib"] for r in runs)
            base_rss = max(r["peak_rss_mib"] for r in baselines)
            results[kind] = {
                "generate_seconds": round(generated, 1),
                "runs": runs,
                "baselines": baselines,
                "planned": runs[-1]["planned"],
                "seconds": round(seconds, 1),
                "peak_rss_mib": round(rss, 1),
                "baseline_rss_mib": round(base_rss, 1),
                "targets": {"seconds": TARGET_SECONDS, "peak_rss_mib": TARGET_RSS_MIB},
            }
            rows.append(
                [
                    kind,
                    round(generated, 1),
                    runs[-1]["planned"],
                    round(seconds, 1),
                    f"<= {TARGET_SECONDS:g}",
                    round(rss, 1),
                    round(base_rss, 1),
                    f"<= {TARGET_RSS_MIB:g}",
                ]
            )
    print_table(
        f"Planner: {fans} fans across {len(ZONES)} time zones, median of {repeat}",
        ["database", "generate s", "planned", "plan s", "target", "peak RSS MiB",
         "baseline RSS MiB", "target"],
        rows,
    )  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.planner")
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, plan=not args.baseline))))
        return
    results = asyncio.run(run(args.fans, args.repeat, args.databases.split(","), args.seed))
    print(f"written to {write_result('planner', results)}")


if __name__ == "__main__":
    main()

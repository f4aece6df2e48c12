"""Inbound: N fans each sending M messages through the sandbox, over real HTTP.

Baseline: a bare aiogram bot with one echo handler (bench/bare_echo.py), same sandbox,
same messages, same run. Rapport: the full pipeline (inbox, dedupe, fan upsert, event
log, keyword match, dialog step, reply after commit). Throughput counts from the first
reply to the last (start-up excluded); latency is injection to reply, one message at a
time; peak RSS is the bot process's VmHWM.

    python -m bench.inbound [--fans 50] [--messages 20] [--repeat 3] [--databases sqlite,postgres]
"""

import argparse
import asyncio
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import (
    TOKEN,
    Databases,
    bot_env,
    cpu_seconds,
    median,
    peak_rss_mib,
    percentile,
    print_table,
    process,
    profiler,
    sandbox_process,
    write_result,
)
from sandbox.client import SandboxClient

TARGETS = {"sqlite": 0.5, "postgres": 0.6}
LATENCY_SAMPLES = 100  # one message at a time, after the throughput phase


@dataclass
class Run:
    updates_per_second: float
    p50_ms: float
    p99_ms: float
    peak_rss_mib: float
    # The bot's CPU (all threads) from its first reply to the last, per update: shows
    # whether it is busy all the window (CPU-bound) or waits on something.
    cpu_ms_per_update: float
    cpu_share: float  # of one core, over the window


async def measure(
    bot_args: list[str],
    env: dict[str, str],
    api_url: str,
    fans: int,
    messages: int,
    *,
    samples: int = LATENCY_SAMPLES,
    profile: Path | None = None,
) -> Run:
    async with SandboxClient(api_url, TOKEN) as sandbox:
        await sandbox.reset()
        users = [(await sandbox.create_user(first_name=f"Fan{n}"))["id"] for n in range(fans)]
        for number in range(messages):
            for user_id in users:
                text = "/start" if number == 0 else f"I want to buy a handbag, take {number}"
                await sandbox.send_text(user_id, text)
        async with process(*bot_args, env=env) as bot, profiler(bot.pid, profile):
            # The first fan's /start is the first update: its reply opens the window.
            await sandbox.wait_for_messages(users[0], 1, timeout=600)
            cpu_at_first = cpu_seconds(bot.pid)
            # Both bots answer every message at least once (Rapport's /start sends two), so
            # a fan is done when the bot has sent them `messages` messages; then wait until
            # nothing more comes, so the window ends at the very last reply.
            for user_id in users:
                await sandbox.wait_for_messages(user_id, messages, timeout=600)
            sends = await _sends_when_quiet(sandbox)
            cpu = cpu_seconds(bot.pid) - cpu_at_first
            elapsed = max(sends[-1] - sends[0], 1e-6)
            latencies = await _latencies(sandbox, users, samples)
            rss = peak_rss_mib(bot.pid)
    return Run(
        updates_per_second=fans * messages / elapsed,
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        peak_rss_mib=rss,
        cpu_ms_per_update=cpu * 1000 / (fans * messages),
        cpu_share=cpu / elapsed,
    )


async def _sends_when_quiet(sandbox: SandboxClient, quiet_seconds: float = 0.5) -> list[float]:
    """The sandbox's send times, once no send has come for `quiet_seconds`."""
    count = -1
    while True:
        stats = await sandbox.stats()
        if stats["sent_messages"] == count:
            return sorted(send["t"] for send in stats["sends"])
        count = stats["sent_messages"]
        await asyncio.sleep(quiet_seconds)


async def _latencies(sandbox: SandboxClient, users: list[int], samples: int) -> list[float]:
    latencies = []
    for sample in range(samples):
        user_id = users[sample % len(users)]
        started = time.perf_counter()
        sent = await sandbox.send_text(user_id, "do you have shoes in size 38?")
        await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id, timeout=30)
        latencies.append(time.perf_counter() - started)
    return latencies


async def run(
    fans: int,
    messages: int,
    repeat: int,
    databases: list[str],
    profile: Path | None = None,
    samples: int = LATENCY_SAMPLES,
) -> dict[str, object]:
    results: dict[str, object] = {"fans": fans, "messages": messages, "repeat": repeat}
    rows = []
    async with Databases() as fresh, sandbox_process() as api_url:
        for kind in databases:
            baseline, rapport = [], []
            for _ in range(repeat):
                baseline.append(
                    await measure(
                        [sys.executable, "-m", "bench.bare_echo", api_url, TOKEN],
                        {},
                        api_url,
                        fans,
                        messages,
                        samples=samples,
                    )
                )
                env = bot_env(api_url, await fresh.url(kind))
                rapport.append(
                    await measure(
                        [sys.executable, "-m", "bot", "run"],
                        env,
                        api_url,
                        fans,
                        messages,
                        samples=samples,
                        profile=profile and profile.with_suffix(f".{kind}.txt"),
                    )
                )
            summary = _summary(baseline, rapport, TARGETS[kind])
            results[kind] = summary
            rows.append(_row(kind, summary))
    print_table(
        f"Inbound: {fans} fans x {messages} messages, median of {repeat}",
        [
            "database",
            "bare aiogram/s",
            "rapport/s",
            "ratio",
            "target",
            "p50 ms",
            "p99 ms",
            "RSS MiB",
            "CPU ms/update bare",
            "rapport",
            "rapport CPU busy",
        ],
        rows,
    )
    return results


def _summary(baseline: list[Run], rapport: list[Run], target: float) -> dict[str, object]:
    base = median([r.updates_per_second for r in baseline])
    ours = median([r.updates_per_second for r in rapport])
    return {
        "baseline": [asdict(r) for r in baseline],
        "rapport": [asdict(r) for r in rapport],
        "baseline_updates_per_second": round(base, 1),
        "rapport_updates_per_second": round(ours, 1),
        "ratio": round(ours / base, 3) if base else 0.0,
        "target": target,
        "p50_ms": round(median([r.p50_ms for r in rapport]), 1),
        "p99_ms": round(median([r.p99_ms for r in rapport]), 1),
        "peak_rss_mib": round(max(r.peak_rss_mib for r in rapport), 1),
        "baseline_cpu_ms_per_update": round(median([r.cpu_ms_per_update for r in baseline]), 2),
        "rapport_cpu_ms_per_update": round(median([r.cpu_ms_per_update for r in rapport]), 2),
        "rapport_cpu_share": round(median([r.cpu_share for r in rapport]), 2),
    }


def _row(kind: str, summary: dict[str, object]) -> list[object]:
    return [
        kind,
        summary["baseline_updates_per_second"],
        summary["rapport_updates_per_second"],
        summary["ratio"],
        f">= {summary['target']}",
        summary["p50_ms"],
        summary["p99_ms"],
        summary["peak_rss_mib"],
        summary["baseline_cpu_ms_per_update"],
        summary["rapport_cpu_ms_per_update"],
        summary["rapport_cpu_share"],
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound")
    parser.add_argument("--fans", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=LATENCY_SAMPLES, help="latency samples")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the bot with py-spy (raw stacks) into PROFILE.<database>.txt",
    )
    args = parser.parse_args(argv)
    results = asyncio.run(
        run(
            args.fans,
            args.messages,
            args.repeat,
            args.databases.split(","),
            args.profile,
            args.samples,
        )
    )
    print(f"written to {write_result('inbound', results)}")


if __name__ == "__main__":
    main()

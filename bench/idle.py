"""Idle and backlog memory: the running bot against a bare aiogram bot, same run.

Idle: each bot started against the sandbox, polling and otherwise idle for a few seconds
(Rapport with the example brand loaded), then its resident memory (VmRSS). Backlog: a
queue of updates waiting at the sandbox before each bot starts; the bot works through it
and its peak resident memory (VmHWM) is reported.

    python -m bench.idle [--backlog 20000] [--idle-seconds 5] [--databases sqlite]
"""

import argparse
import asyncio
import sys
import time
from dataclasses import asdict, dataclass

from bench.common import (
    TOKEN,
    Databases,
    bot_env,
    peak_rss_mib,
    print_table,
    process,
    rss_mib,
    sandbox_process,
    write_result,
)
from sandbox.client import SandboxClient

TARGET_ABOVE_BARE_MIB = 40.0
FANS = 200
INJECT_AT_ONCE = 50
DRAINED_QUIET_SECONDS = 1.0


@dataclass
class Memory:
    idle_rss_mib: float
    backlog: int
    backlog_peak_mib: float
    backlog_seconds: float


async def _wait_polling(sandbox: SandboxClient, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Until the bot has asked for updates (it is started and idle)."""
    deadline = time.monotonic() + timeout
    while (await sandbox.stats())["calls"].get("getUpdates", 0) == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot never polled")
        await asyncio.sleep(0.2)


async def _idle(command: list[str], env: dict[str, str], api_url: str, seconds: float) -> float:
    async with SandboxClient(api_url, TOKEN) as sandbox:
        await sandbox.reset()
        async with process(*command, env=env) as bot:
            await _wait_polling(sandbox)
            await asyncio.sleep(seconds)
            return rss_mib(bot.pid)


async def _backlog(
    command: list[str], env: dict[str, str], api_url: str, backlog: int
) -> tuple[float, float]:
    async with SandboxClient(api_url, TOKEN) as sandbox:
        await sandbox.reset()
        fans = min(FANS, backlog)
        users = [(await sandbox.create_user(first_name=f"Fan{n}"))["id"] for n in range(fans)]
        texts = [(users[n % fans], f"message {n}") for n in range(backlog)]
        for start in range(0, backlog, INJECT_AT_ONCE):
            chunk = texts[start : start + INJECT_AT_ONCE]
            await asyncio.gather(*(sandbox.send_text(user, text) for user, text in chunk))
        await sandbox.reset_stats()
        async with process(*command, env=env) as bot:
            started = time.monotonic()
            await _wait_drained(sandbox)
            return peak_rss_mib(bot.pid), time.monotonic() - started - DRAINED_QUIET_SECONDS


async def _wait_drained(sandbox: SandboxClient) -> None:
    """Until no update waits at the sandbox and no reply went out for a while.

    While the queue drains only its counts are asked for: the sandbox's full stats carry
    every send's timestamp, and asking for them often would slow the sandbox down.
    """
    while True:
        await asyncio.sleep(0.5)
        if not int((await sandbox.updates()).get("pending", 0)):
            break
    sent, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < DRAINED_QUIET_SECONDS:
        await asyncio.sleep(0.5)
        now_sent = (await sandbox.stats())["sent_messages"]
        if now_sent != sent:
            sent, quiet_since = now_sent, time.monotonic()


async def measure(
    command: list[str], env: dict[str, str], api_url: str, backlog: int, idle_seconds: float
) -> Memory:
    idle = await _idle(command, env, api_url, idle_seconds)
    peak, seconds = await _backlog(command, env, api_url, backlog) if backlog else (0.0, 0.0)
    return Memory(idle, backlog, peak, seconds)


async def run(backlog: int, idle_seconds: float, databases: list[str]) -> dict[str, object]:
    results: dict[str, object] = {"backlog": backlog, "idle_seconds": idle_seconds}
    rows = []
    async with Databases() as fresh, sandbox_process() as api_url:
        bare = await measure(
            [sys.executable, "-m", "bench.bare_echo", api_url, TOKEN],
            {},
            api_url,
            backlog,
            idle_seconds,
        )
        results["bare_aiogram"] = asdict(bare)
        rows.append(["bare aiogram", "-", *_cells(bare), "-"])
        for kind in databases:
            # One database for both runs, like a bot restarted: migrated, brand loaded.
            env = bot_env(api_url, await fresh.url(kind))
            command = [sys.executable, "-m", "bot", "run"]
            ours = await measure(command, env, api_url, backlog, idle_seconds)
            above = round(ours.idle_rss_mib - bare.idle_rss_mib, 1)
            results[kind] = {
                **asdict(ours),
                "idle_above_bare_mib": above,
                "target_above_bare_mib": TARGET_ABOVE_BARE_MIB,
            }
            rows.append(["rapport", kind, *_cells(ours), above])
    print_table(
        f"Idle and backlog memory (backlog of {backlog} updates)",
        [
            "bot",
            "database",
            "idle RSS MiB",
            "backlog peak MiB",
            "start+drain s",
            "idle above bare",
        ],
        rows,
    )  # fmt: skip
    print(f"target: idle at most {TARGET_ABOVE_BARE_MIB:g} MiB above bare aiogram")
    return results


def _cells(memory: Memory) -> list[object]:
    return [
        round(memory.idle_rss_mib, 1),
        round(memory.backlog_peak_mib, 1),
        round(memory.backlog_seconds, 1),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle")
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--databases", default="sqlite")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.backlog, args.idle_seconds, args.databases.split(",")))
    print(f"written to {write_result('idle', results)}")


if __name__ == "__main__":
    main()

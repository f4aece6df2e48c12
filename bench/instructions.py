"""Instructions per inbound update, counted by callgrind: a figure the machine's noise does
not move (the same code counts the same within about 1 %, where its CPU time swings by a
quarter between runs), for telling whether a change to the hot path helped.

    python -m bench.instructions [--fans 50] [--messages 8] [--databases sqlite,postgres]

Each bot runs in a process of its own under `valgrind --tool=callgrind`, which counts
only while the bot works through the queued messages (fetching, storing, handling,
replying), not while it starts: Rapport (the app of `rapport run`, its poller and
processor driven in turn) and bare aiogram (the echo bot of bench.bare_echo: getUpdates,
then feed_update for each). The sandbox runs outside valgrind. What it does not count:
time in the kernel (system calls, a SQLite thread's wake-ups) and waiting. The inbound
benchmark's ratio of updates/s is about the ratio printed here times Rapport's busy share,
while both bots are CPU-bound.

`--worker SIDE DATABASE` is the process valgrind runs; without valgrind it only times.
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, TOKEN, Databases, print_table, sandbox_process, write_result
from sandbox.client import SandboxClient

WARM_UP = ["/start", "hello"]  # handled before counting starts: first statements compile


def _counting(on: bool) -> None:
    """Switch callgrind's counting for this process (nothing when not under valgrind)."""
    if os.environ.get("RAPPORT_CALLGRIND"):
        switch = "on" if on else "off"
        command = ["callgrind_control", "-i", switch, str(os.getpid())]
        subprocess.run(command, check=True)  # noqa: S603 (fixed arguments, valgrind's tool)


async def _queue(api_url: str, users: list[int], texts: list[str]) -> None:
    async with SandboxClient(api_url, TOKEN) as sandbox:
        for text in texts:
            for user_id in users:
                await sandbox.send_text(user_id, text)


async def _measure(
    api_url: str, fans: int, messages: int, drain: Callable[[int], Awaitable[int]]
) -> tuple[int, float]:
    """Queue the warm-up, drain it; queue the messages, drain them counted."""
    async with SandboxClient(api_url, TOKEN) as sandbox:
        await sandbox.reset()
        users = [(await sandbox.create_user(first_name=f"Fan{n}"))["id"] for n in range(fans)]
    await _queue(api_url, users, WARM_UP)
    await drain(len(WARM_UP) * fans)
    await _queue(api_url, users, [f"I want to buy a handbag, take {n}" for n in range(messages)])
    started = time.process_time()
    _counting(True)
    handled = await drain(messages * fans)
    _counting(False)
    return handled, time.process_time() - started


async def _rapport(database: str, fans: int, messages: int) -> tuple[int, float]:
    from bot.app import create_app
    from bot.settings import Settings
    from storage import migrate
    from storage.database import Database

    async with Databases() as databases, sandbox_process() as api_url:
        url = await databases.url(database)
        schema = Database(url)
        await migrate.upgrade(schema)
        await schema.dispose()
        settings = Settings(
            _env_file=None,
            bot_token=TOKEN,
            api_url=api_url,
            database_url=url,
            brand_dir=ROOT / "examples" / "demo_brand",
            polling_timeout=0,
            webhook_url=None,
            console_port=0,
        )
        app = create_app(settings)
        await app.prepare()
        poller = app.create_poller()

        async def drain(expected: int) -> int:
            handled = 0
            while handled < expected:
                payloads = await poller._fetch(100)
                if payloads:
                    await poller._store(payloads)
                handled += await app.processor.run_once()
            return handled

        try:
            return await _measure(api_url, fans, messages, drain)
        finally:
            await app.close()


async def _bare(fans: int, messages: int) -> tuple[int, float]:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bench.bare_echo import echo

    async with sandbox_process() as api_url:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
        dispatcher = Dispatcher()
        dispatcher.message.register(echo)
        offset: int | None = None

        async def drain(expected: int) -> int:
            nonlocal offset
            handled = 0
            while handled < expected:
                updates = await bot.get_updates(offset=offset, limit=100, timeout=0)
                if updates:
                    offset = updates[-1].update_id + 1
                    # As aiogram's polling does: each update of a batch as a task.
                    await asyncio.gather(*(dispatcher.feed_update(bot, u) for u in updates))
                    handled += len(updates)
            return handled

        try:
            return await _measure(api_url, fans, messages, drain)
        finally:
            await bot.session.close()


def _worker(side: str, database: str, fans: int, messages: int) -> None:
    run = _bare(fans, messages) if side == "bare" else _rapport(database, fans, messages)
    handled, cpu = asyncio.run(run)
    print(f"handled {handled} cpu {cpu:.3f}")


def _count(side: str, database: str, fans: int, messages: int) -> dict[str, Any]:
    """Run one side under callgrind; its instructions per update."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={Path(scratch) / 'callgrind.%p'}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--worker",
            side,
            database,
            "--fans",
            str(fans),
            "--messages",
            str(messages),
        ]
        env = {**os.environ, "RAPPORT_CALLGRIND": "1"}
        done = subprocess.run(  # noqa: S603 (fixed arguments)
            command, cwd=ROOT, env=env, capture_output=True, text=True
        )
    handled = re.search(r"handled (\d+)", done.stdout)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or handled is None or collected is None:
        raise RuntimeError(f"{side} under callgrind failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    updates = int(handled.group(1))
    return {"updates": updates, "instructions_per_update": int(collected.group(1)) // updates}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--fans", type=int, default=50)
    parser.add_argument("--messages", type=int, default=8)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--worker", nargs=2, metavar=("SIDE", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker[0], args.worker[1], args.fans, args.messages)
        return
    if shutil.which("valgrind") is None:
        parser.error("needs valgrind (Debian's package valgrind)")
    bare = _count("bare", "-", args.fans, args.messages)
    result: dict[str, Any] = {
        "fans": args.fans,
        "messages": args.messages,
        "bare": bare,
    }
    rows = []
    for database in args.databases.split(","):
        rapport = _count("rapport", database, args.fans, args.messages)
        ratio = bare["instructions_per_update"] / rapport["instructions_per_update"]
        result[database] = {**rapport, "ratio": round(ratio, 3)}
        rows.append(
            [
                database,
                bare["instructions_per_update"],
                rapport["instructions_per_update"],
                round(ratio, 3),
            ]
        )
    print_table(
        f"Instructions per update (callgrind), {args.fans} fans x {args.messages} messages",
        ["database", "bare aiogram", "rapport", "bare / rapport"],
        rows,
    )
    print(f"written to {write_result('instructions', result)}")


if __name__ == "__main__":
    main()

"""Shared helpers for the benchmarks: processes on loopback, timing, memory, results.

Every benchmark compares Rapport with a baseline measured in the same run on the same
machine, and reports the ratio: absolute numbers on a shared 2-core machine are noise.
"""

import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TOKEN = "777000:benchmark-token-0000000000000000"  # noqa: S105
POSTGRES_SERVER = os.environ.get(
    "RAPPORT_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(api_url: str, database_url: str) -> dict[str, str]:
    """The environment of a `rapport run` under benchmark: the example brand, the sandbox,
    and its console on a free port (two benchmarks' bots at once must not both want 8082)."""
    return {
        "RAPPORT_BOT_TOKEN": TOKEN,
        "RAPPORT_API_URL": api_url,
        "RAPPORT_DATABASE_URL": database_url,
        "RAPPORT_BRAND_DIR": str(ROOT / "examples" / "demo_brand"),
        "RAPPORT_POLLING_TIMEOUT": "1",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "RAPPORT_CONSOLE_PORT": str(free_port()),
    }


@asynccontextmanager
async def process(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """A child process for the block's duration, stopped with SIGTERM (then SIGKILL)."""
    child = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        yield child
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
                await child.wait()


@asynccontextmanager
async def sandbox_process() -> AsyncIterator[str]:
    """The sandbox in its own process (so it does not share the bot's event loop)."""
    port = free_port()
    async with process(sys.executable, "-m", "sandbox", "--port", str(port)):
        url = f"http://127.0.0.1:{port}"
        await wait_for_port(port)
        yield url


async def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@asynccontextmanager
async def profiler(pid: int, output: Path | None) -> AsyncIterator[None]:
    """py-spy sampling process `pid` for the block's duration (nothing when output is None).

    py-spy is a developer's tool, not a dependency: install it into your environment.
    """
    if output is None:
        yield
        return
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    recorder = await asyncio.create_subprocess_exec(
        *command, "--output", str(output), stdout=asyncio.subprocess.DEVNULL
    )
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        await recorder.wait()


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: utime and stime are fields 12 and 13.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Databases:
    """Fresh, empty databases for one benchmark run, all removed at the end of it."""

    async def __aenter__(self) -> "Databases":
        self._files = tempfile.TemporaryDirectory()
        self._postgres: list[str] = []
        return self

    async def url(self, kind: str) -> str:
        """A new database of `kind` (sqlite or postgres)."""
        if kind == "sqlite":
            return f"sqlite+aiosqlite:///{Path(self._files.name) / f'{uuid.uuid4().hex}.sqlite3'}"
        name = f"rapport_bench_{uuid.uuid4().hex[:10]}"
        await _postgres_admin(f'CREATE DATABASE "{name}"')
        self._postgres.append(name)
        return f"{POSTGRES_SERVER}/{name}"

    async def __aexit__(self, *_exc: object) -> None:
        for name in self._postgres:
            await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._files.cleanup()


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{postgres_dsn()}/test")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_dsn() -> str:
    """The PostgreSQL server as asyncpg spells it (no driver in the scheme)."""
    return POSTGRES_SERVER.replace("postgresql+asyncpg", "postgresql")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
    return path


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))

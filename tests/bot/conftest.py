"""End-to-end fixtures: the sandbox Bot API on a free port and the real bot against it."""

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from pathlib import Path

import pytest

from bot.app import App, create_app
from bot.runner import run_polling, run_webhook
from bot.settings import Settings
from sandbox.client import SandboxClient
from sandbox.server import serve_sandbox

TOKEN = "4242:end-to-end-test-token"
EXAMPLE_BRAND = Path(__file__).resolve().parents[2] / "examples" / "demo_brand"
WEBHOOK_SECRET = "e2e-webhook-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    timeout: float = 10.0,  # noqa: ASYNC109  (a polling loop, not a cancellable wait)
    what: str = "condition",
) -> None:
    """Poll until `condition()` holds (for effects that send no reply to wait for)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def sandbox_url() -> AsyncIterator[str]:
    async with serve_sandbox(port=0) as url:
        yield url


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox_url, TOKEN) as client:
        yield client


@pytest.fixture
def settings(sandbox_url: str, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TOKEN,
        api_url=sandbox_url,
        database_url=database_url,
        brand_dir=EXAMPLE_BRAND,
        polling_timeout=1,
        webhook_url=None,
        console_port=0,  # tests that want the console give it a free port
    )


async def _serve(app: App, mode: str, stop: asyncio.Event) -> None:
    await (run_webhook if mode == "webhook" else run_polling)(app, stop)


@pytest.fixture
async def start_bot(settings: Settings) -> AsyncIterator[Callable[..., Awaitable[App]]]:
    """Start the bot (polling or webhook) in this event loop; stopped after the test."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(mode: str = "polling", **overrides: object) -> App:
        values = settings.model_dump()
        if mode == "webhook":
            port = free_port()
            values.update(
                webhook_url=f"http://127.0.0.1:{port}",
                webhook_host="127.0.0.1",
                webhook_port=port,
                webhook_secret=WEBHOOK_SECRET,
            )
        values.update(overrides)
        app = create_app(Settings(_env_file=None, **values))
        stop = asyncio.Event()
        task = asyncio.create_task(_serve(app, mode, stop))
        running.append((stop, task))
        await _wait_ready(app, task)
        return app

    yield start
    for stop, task in running:
        stop.set()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
    # A started bot freezes the heap (bot/heap.py), here the test process's: thawed, what
    # this test leaves behind is collected as usual.
    gc.unfreeze()


async def _wait_ready(app: App, task: asyncio.Task[None]) -> None:
    """The bot is ready once it has asked the Bot API who it is (after migrating)."""
    for _ in range(200):
        if task.done():
            task.result()  # raises what stopped it
        if app.ready.is_set():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not start")

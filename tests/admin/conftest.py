"""Console fixtures: the console app on a test server, the example brand imported, and
clients logged in as admin or staff through real one-time links."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from admin import ConsoleConfig, LoginLinks
from bot import brand
from bot.console import CONSOLE_PREFIX, console_config, console_site_app
from bot.settings import Settings
from storage.database import Database
from storage.models import ConsoleRole
from tests.factories import NOW

EXAMPLE_BRAND = Path(__file__).resolve().parents[2] / "examples" / "demo_brand"
BASE_URL = "http://console.test"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Console:
    config: ConsoleConfig
    links: LoginLinks
    clock: MovableClock
    database: Database
    make_client: Callable[[], Awaitable[TestClient[object, object]]]

    async def link(self, role: ConsoleRole = ConsoleRole.ADMIN, user_id: int = 1) -> str:
        async with self.database.session() as session:
            url = await self.links.issue(session, role, user_id, self.clock())
            await session.commit()
        return url.removeprefix(BASE_URL)

    async def client(self, role: ConsoleRole | None = ConsoleRole.ADMIN) -> "Browser":
        client = await self.make_client()
        browser = Browser(client)
        if role is not None:
            await browser.login(await self.link(role, 1 if role is ConsoleRole.ADMIN else 2))
        return browser


@dataclass
class Browser:
    """A test client that remembers the page's CSRF token, like a browser keeps the form."""

    http: TestClient[object, object]
    csrf: str = ""

    async def login(self, path: str) -> None:
        token = path.rsplit("/", 1)[1]
        response = await self.http.post(
            CONSOLE_PREFIX + "/login", data={"token": token}, allow_redirects=False
        )
        assert response.status == 303, await response.text()
        await self.page("/")

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.http.get(CONSOLE_PREFIX + path)
        text = await response.text()
        assert response.status == status, text
        if match := CSRF_INPUT.search(text):
            self.csrf = match.group(1)
        return text

    async def submit(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> tuple[int, str, str]:
        """POST a form: (status, final URL path, body), redirects followed."""
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        response = await self.http.post(CONSOLE_PREFIX + path, data=form)
        return response.status, response.url.path, await response.text()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
async def console(database: Database, clock: MovableClock) -> AsyncIterator[Console]:
    result = await brand.import_dir(database, EXAMPLE_BRAND, author="test", now=clock())
    assert result.version is not None, result.problems
    settings = Settings(_env_file=None, console_url=BASE_URL, admin_ids="1", staff_ids="2")
    config = console_config(settings, database, clock, None)

    async def username() -> str:
        return "stride_bot"

    config.bot_username = username
    links = LoginLinks(base_url=BASE_URL + CONSOLE_PREFIX, ttl=timedelta(minutes=10))
    clients: list[TestClient[object, object]] = []

    async def make_client() -> TestClient[object, object]:
        client: TestClient[object, object] = TestClient(
            TestServer(console_site_app(config)), cookie_jar=CookieJar(unsafe=True)
        )
        await client.start_server()
        clients.append(client)
        return client

    yield Console(config, links, clock, database, make_client)
    for client in clients:
        await client.close()

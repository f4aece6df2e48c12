"""Access to the console: every route refuses the anonymous and the under-privileged
(walked from the route table, so a new route cannot be forgotten), CSRF on every form,
and login links that work once and expire."""

import re
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from admin import create_console_app
from admin.app import ROUTES
from admin.auth import ACCESS_KEY, COOKIE, Access
from storage.models import ConsoleLoginLink, ConsoleRole, ConsoleSession
from tests.admin.conftest import Console

# A value for each path placeholder, so every route can be requested.
PLACEHOLDERS = {
    "fan_id": "1",
    "version_id": "1",
    "broadcast_id": "1",
    "name": "handbag_offer",
    "code": "spring_gift",
    "kind": "svg",
    "token": "not-a-token",
}


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: PLACEHOLDERS[match.group(1)], path)


def _routes(console: Console) -> list[tuple[str, str, Access]]:
    """Every route of a freshly built console app, with the access level it was given."""
    app = create_console_app(console.config)
    access = app[ACCESS_KEY]
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        assert route in access, f"{route.method} {path} has no access level"
        found.append((route.method, str(path), access[route]))
    return found


async def test_every_route_has_an_access_level_and_the_table_is_walked(console: Console) -> None:
    routes = _routes(console)
    declared = {(method, path) for method, path, _handler, _access in ROUTES}
    assert declared <= {(method, path) for method, path, _ in routes}
    assert any(access is Access.ADMIN for *_, access in routes)


async def test_anonymous_requests_are_refused_on_every_route(console: Console) -> None:
    browser = await console.client(role=None)
    for method, path, access in _routes(console):
        if access is Access.PUBLIC:
            continue
        url = "/console" + _concrete(path)
        response = await browser.http.request(method, url, allow_redirects=False)
        if method == "GET":
            assert response.status == 302, (method, path)
            assert response.headers["Location"] == "/console/login"
        else:
            assert response.status == 401, (method, path)


async def test_staff_are_refused_on_every_admin_route(console: Console) -> None:
    staff = await console.client(ConsoleRole.STAFF)
    admin_only = [(m, p) for m, p, access in _routes(console) if access is Access.ADMIN]
    assert len(admin_only) >= 8
    for method, path in admin_only:
        data = {"csrf": staff.csrf} if method == "POST" else None
        response = await staff.http.request(
            method, "/console" + _concrete(path), data=data, allow_redirects=False
        )
        assert response.status == 403, (method, path)


async def test_staff_see_fans_inbox_and_dashboard_but_not_admin_links(console: Console) -> None:
    staff = await console.client(ConsoleRole.STAFF)
    page = await staff.page("/")
    assert "/console/fans" in page
    assert "/console/inbox" in page
    assert "/console/scripts" not in page
    assert "/console/campaigns" not in page
    await staff.page("/fans")
    await staff.page("/inbox")


async def test_a_route_added_without_an_access_level_is_refused(console: Console) -> None:
    app = create_console_app(console.config)

    async def forgotten(_request: web.Request) -> web.Response:
        return web.Response(text="secret")

    app.router.add_get("/forgotten", forgotten)
    browser = await console.client()
    root = web.Application()
    root.add_subapp("/console", app)
    from aiohttp import CookieJar
    from aiohttp.test_utils import TestClient, TestServer

    client = TestClient(TestServer(root), cookie_jar=CookieJar(unsafe=True))
    await client.start_server()
    try:
        response = await client.get("/console/forgotten")
        assert response.status == 403
        assert "secret" not in await response.text()
    finally:
        await client.close()
    await browser.page("/")


async def test_a_form_without_the_csrf_token_is_refused(console: Console) -> None:
    admin = await console.client()
    status, _, _ = await admin.submit("/fans/1/opt-out", csrf=False)
    assert status == 403
    admin.csrf = "forged"
    status, _, body = await admin.submit("/scripts", {"file:brand.yaml": "x"})
    assert status == 403
    assert "expired" in body


async def test_logout_needs_csrf_and_ends_the_session(console: Console) -> None:
    admin = await console.client()
    status, _, _ = await admin.submit("/logout", csrf=False)
    assert status == 403
    await admin.page("/")
    status, path, _ = await admin.submit("/logout")
    assert (status, path) == (200, "/console/login")
    response = await admin.http.get("/console/", allow_redirects=False)
    assert response.status == 302


async def test_a_login_link_works_once(console: Console) -> None:
    link = await console.link()
    first = await console.client(role=None)
    await first.login(link)
    second = await console.client(role=None)
    token = link.rsplit("/", 1)[1]
    response = await second.http.post("/console/login", data={"token": token})
    assert response.status == 403
    assert "not valid" in await response.text()
    assert (await second.http.get("/console/", allow_redirects=False)).status == 302


async def test_an_expired_login_link_is_refused(console: Console) -> None:
    link = await console.link()
    console.clock.advance(timedelta(minutes=10, seconds=1))
    browser = await console.client(role=None)
    token = link.rsplit("/", 1)[1]
    response = await browser.http.post("/console/login", data={"token": token})
    assert response.status == 403


async def test_opening_a_link_does_not_use_it_up(console: Console) -> None:
    """Link previews fetch URLs: only the button's POST logs in."""
    link = await console.link()
    browser = await console.client(role=None)
    page = await browser.http.get(link)
    assert page.status == 200
    assert "Log in to the console" in await page.text()
    await browser.login(link)


async def test_sessions_expire(console: Console) -> None:
    admin = await console.client()
    console.clock.advance(console.config.session_ttl + timedelta(seconds=1))
    response = await admin.http.get("/console/", allow_redirects=False)
    assert response.status == 302


async def test_tokens_are_stored_only_as_hashes(console: Console) -> None:
    link = await console.link()
    admin = await console.client(role=None)
    await admin.login(link)
    cookie = next(c for c in admin.http.session.cookie_jar if c.key == COOKIE)
    async with console.database.session() as session:
        hashes = list((await session.execute(select(ConsoleLoginLink.token_hash))).scalars())
        sessions = list((await session.execute(select(ConsoleSession.token_hash))).scalars())
    token = link.rsplit("/", 1)[1]
    assert token not in hashes
    assert cookie.value not in sessions
    assert len(sessions) == 1
    assert len(sessions[0]) == 64


async def test_the_session_cookie_is_httponly_and_samesite(console: Console) -> None:
    browser = await console.client(role=None)
    token = (await console.link()).rsplit("/", 1)[1]
    response = await browser.http.post(
        "/console/login", data={"token": token}, allow_redirects=False
    )
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/console" in header
    assert "Secure" not in header  # the console URL in these tests is http


async def test_the_cookie_is_secure_when_the_console_url_is_https(console: Console) -> None:
    console.config.base_url = "https://console.example.com"
    browser = await console.client(role=None)
    token = (await console.link()).rsplit("/", 1)[1]
    response = await browser.http.post(
        "/console/login", data={"token": token}, allow_redirects=False
    )
    assert "Secure" in response.headers["Set-Cookie"]

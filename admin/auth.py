"""Who may see what: the session cookie, the role each route needs, CSRF on every POST.

Every route is registered with an access level (see admin/app.py); a route without one is
refused, so a new page cannot be left open by forgetting to protect it.
"""

import hmac
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from admin.config import ConsoleConfig
from storage.models import ConsoleRole
from storage.repositories import console_auth
from storage.repositories.console_auth import LiveSession

logger = logging.getLogger(__name__)

COOKIE = "rapport_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Access(StrEnum):
    PUBLIC = "public"  # the login pages and static files
    STAFF = "staff"  # staff and admins
    ADMIN = "admin"  # admins only


CONFIG_KEY = web.AppKey("console_config", ConsoleConfig)
ACCESS_KEY = web.AppKey("console_access", dict[AbstractRoute, Access])
SESSION_KEY = web.RequestKey("console_session", LiveSession)


def current(request: web.Request) -> LiveSession:
    """The logged-in session (the middleware guarantees one on non-public routes)."""
    return request[SESSION_KEY]


def config_of(request: web.Request) -> ConsoleConfig:
    return request.app[CONFIG_KEY]


def may(session: LiveSession | None, access: Access) -> bool:
    if access is Access.PUBLIC:
        return True
    if session is None:
        return False
    return access is Access.STAFF or session.grant.role is ConsoleRole.ADMIN


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404 / 405: nothing to protect
    # Default deny: a route registered without an access level is refused.
    access = request.app[ACCESS_KEY].get(request.match_info.route)
    if access is None:
        raise web.HTTPForbidden(text="this page has no access rule")
    if isinstance(request.match_info.route.resource, web.StaticResource):
        return await handler(request)  # the stylesheet needs no database round trip
    session = await _live_session(request)
    if session is not None:
        request[SESSION_KEY] = session
    if access is Access.PUBLIC:
        return await handler(request)
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPFound(config_of(request).prefix + "/login")
        raise web.HTTPUnauthorized(text="log in first")
    if not may(session, access):
        raise web.HTTPForbidden(text="admins only")
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, session):
        logger.warning("console request without a valid CSRF token: %s", request.path)
        raise web.HTTPForbidden(text="the form has expired; reload the page and try again")
    return await handler(request)


async def _live_session(request: web.Request) -> LiveSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    config = config_of(request)
    async with config.database.session() as session:
        return await console_auth.live_session(session, token, config.clock())


async def _csrf_ok(request: web.Request, session: LiveSession) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), session.csrf_token.encode())


def set_session_cookie(response: web.StreamResponse, config: ConsoleConfig, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(config.session_ttl.total_seconds()),
        path=config.prefix or "/",
        httponly=True,
        samesite="Lax",
        secure=config.secure_cookie,
    )


def clear_session_cookie(response: web.StreamResponse, config: ConsoleConfig) -> None:
    response.del_cookie(COOKIE, path=config.prefix or "/")

"""The console's aiohttp application: the route table, each route with the access it needs."""

import functools
import importlib
from pathlib import Path

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from admin.auth import ACCESS_KEY, CONFIG_KEY, Access, Handler, auth_middleware
from admin.config import ConsoleConfig
from admin.render import ENVIRONMENT_KEY, create_environment

STATIC_DIR = Path(__file__).parent / "static"


def _page(module: str, name: str) -> Handler:
    """The handler `name` of admin/pages/`module`.py, that module imported at its first request.

    The pages and what only they use (the dashboard's queries, the charts, the previews)
    are about 1 MiB of a running bot, held from its start whether or not anyone ever
    opens the console; the server itself, its routes and the login checks stay eager.
    """

    @functools.cache
    def handler() -> Handler:
        page: Handler = getattr(importlib.import_module(f"admin.pages.{module}"), name)
        return page

    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler()(request)

    # Where the handler lives, for aiohttp's route listing and the tests.
    handle.__qualname__ = f"admin.pages.{module}.{name}"
    return handle


# (method, path, handler, access). Every route is here; the middleware refuses any other.
ROUTES: tuple[tuple[str, str, Handler, Access], ...] = (
    ("GET", "/login", _page("login", "login_help"), Access.PUBLIC),
    ("GET", "/login/{token}", _page("login", "login_confirm"), Access.PUBLIC),
    ("POST", "/login", _page("login", "login"), Access.PUBLIC),
    ("POST", "/logout", _page("login", "logout"), Access.STAFF),
    ("GET", "/", _page("dashboard", "dashboard"), Access.STAFF),
    ("GET", "/inbox", _page("inbox", "inbox"), Access.STAFF),
    ("GET", "/fans", _page("fans", "fan_list"), Access.STAFF),
    ("GET", "/fans.csv", _page("fans", "fan_csv"), Access.STAFF),
    ("GET", "/fans/{fan_id}", _page("fans", "fan_page"), Access.STAFF),
    ("POST", "/fans/{fan_id}/tag", _page("fans", "add_tag"), Access.STAFF),
    ("POST", "/fans/{fan_id}/untag", _page("fans", "remove_tag"), Access.STAFF),
    ("POST", "/fans/{fan_id}/opt-out", _page("fans", "opt_out"), Access.STAFF),
    ("POST", "/fans/{fan_id}/take-over", _page("fans", "take_over"), Access.STAFF),
    ("POST", "/fans/{fan_id}/hand-back", _page("fans", "hand_back"), Access.STAFF),
    ("GET", "/scripts", _page("scripts", "editor"), Access.ADMIN),
    ("POST", "/scripts", _page("scripts", "submit"), Access.ADMIN),
    ("GET", "/scripts/preview", _page("scripts", "preview"), Access.ADMIN),
    ("GET", "/scripts/history", _page("scripts", "history"), Access.ADMIN),
    ("GET", "/scripts/versions/{version_id}", _page("scripts", "version_page"), Access.ADMIN),
    (
        "POST",
        "/scripts/versions/{version_id}/activate",
        _page("scripts", "activate"),
        Access.ADMIN,
    ),
    ("GET", "/campaigns", _page("campaigns", "campaign_list"), Access.ADMIN),
    ("POST", "/campaigns", _page("campaigns", "create"), Access.ADMIN),
    ("GET", "/campaigns/{code}", _page("campaigns", "campaign_page"), Access.ADMIN),
    ("GET", "/campaigns/{code}/qr.{kind}", _page("campaigns", "qr_code"), Access.ADMIN),
    ("GET", "/rules", _page("rules", "rule_list"), Access.ADMIN),
    ("POST", "/rules/{name}/enabled", _page("rules", "toggle"), Access.ADMIN),
    ("GET", "/rules/{name}/dry-run", _page("rules", "rule_dry_run"), Access.ADMIN),
    ("GET", "/broadcasts", _page("broadcasts", "broadcast_list"), Access.ADMIN),
    ("POST", "/broadcasts/preview", _page("broadcasts", "preview"), Access.ADMIN),
    ("POST", "/broadcasts", _page("broadcasts", "schedule"), Access.ADMIN),
    ("GET", "/broadcasts/{broadcast_id}", _page("broadcasts", "broadcast_page"), Access.ADMIN),
    ("POST", "/broadcasts/{broadcast_id}/cancel", _page("broadcasts", "cancel"), Access.ADMIN),
)


def create_console_app(config: ConsoleConfig) -> web.Application:
    # Forms carry whole brand files; 4 MiB is far above any brand seen so far.
    app = web.Application(middlewares=[auth_middleware], client_max_size=4 * 1024 * 1024)
    app[CONFIG_KEY] = config
    app[ENVIRONMENT_KEY] = create_environment()
    access: dict[AbstractRoute, Access] = {}
    for method, path, handler, level in ROUTES:
        access[app.router.add_route(method, path, handler)] = level
    app.router.add_static("/static", STATIC_DIR)
    access.update({route: Access.PUBLIC for route in app.router.routes() if _is_static(route)})
    app[ACCESS_KEY] = access
    return app


def _is_static(route: AbstractRoute) -> bool:
    return isinstance(route.resource, web.StaticResource)

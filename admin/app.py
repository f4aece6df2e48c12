"""The console's aiohttp application: the route table, each route with the access it needs."""

from pathlib import Path

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from admin.auth import ACCESS_KEY, CONFIG_KEY, Access, Handler, auth_middleware
from admin.config import ConsoleConfig
from admin.pages import broadcasts, campaigns, dashboard, fans, inbox, login, rules, scripts
from admin.render import ENVIRONMENT_KEY, create_environment

STATIC_DIR = Path(__file__).parent / "static"

# (method, path, handler, access). Every route is here; the middleware refuses any other.
ROUTES: tuple[tuple[str, str, Handler, Access], ...] = (
    ("GET", "/login", login.login_help, Access.PUBLIC),
    ("GET", "/login/{token}", login.login_confirm, Access.PUBLIC),
    ("POST", "/login", login.login, Access.PUBLIC),
    ("POST", "/logout", login.logout, Access.STAFF),
    ("GET", "/", dashboard.dashboard, Access.STAFF),
    ("GET", "/inbox", inbox.inbox, Access.STAFF),
    ("GET", "/fans", fans.fan_list, Access.STAFF),
    ("GET", "/fans.csv", fans.fan_csv, Access.STAFF),
    ("GET", "/fans/{fan_id}", fans.fan_page, Access.STAFF),
    ("POST", "/fans/{fan_id}/tag", fans.add_tag, Access.STAFF),
    ("POST", "/fans/{fan_id}/untag", fans.remove_tag, Access.STAFF),
    ("POST", "/fans/{fan_id}/opt-out", fans.opt_out, Access.STAFF),
    ("POST", "/fans/{fan_id}/take-over", fans.take_over, Access.STAFF),
    ("POST", "/fans/{fan_id}/hand-back", fans.hand_back, Access.STAFF),
    ("GET", "/scripts", scripts.editor, Access.ADMIN),
    ("POST", "/scripts", scripts.submit, Access.ADMIN),
    ("GET", "/scripts/preview", scripts.preview, Access.ADMIN),
    ("GET", "/scripts/history", scripts.history, Access.ADMIN),
    ("GET", "/scripts/versions/{version_id}", scripts.version_page, Access.ADMIN),
    ("POST", "/scripts/versions/{version_id}/activate", scripts.activate, Access.ADMIN),
    ("GET", "/campaigns", campaigns.campaign_list, Access.ADMIN),
    ("POST", "/campaigns", campaigns.create, Access.ADMIN),
    ("GET", "/campaigns/{code}", campaigns.campaign_page, Access.ADMIN),
    ("GET", "/campaigns/{code}/qr.{kind}", campaigns.qr_code, Access.ADMIN),
    ("GET", "/rules", rules.rule_list, Access.ADMIN),
    ("POST", "/rules/{name}/enabled", rules.toggle, Access.ADMIN),
    ("GET", "/rules/{name}/dry-run", rules.rule_dry_run, Access.ADMIN),
    ("GET", "/broadcasts", broadcasts.broadcast_list, Access.ADMIN),
    ("POST", "/broadcasts/preview", broadcasts.preview, Access.ADMIN),
    ("POST", "/broadcasts", broadcasts.schedule, Access.ADMIN),
    ("GET", "/broadcasts/{broadcast_id}", broadcasts.broadcast_page, Access.ADMIN),
    ("POST", "/broadcasts/{broadcast_id}/cancel", broadcasts.cancel, Access.ADMIN),
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

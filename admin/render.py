"""Server-rendered pages: one Jinja2 environment with autoescape on for the console's own
templates. Brand-written text never goes through it: previews are rendered by the
brand's sandboxed engine (dialogs/templates.py) and shown here as plain, escaped text.
"""

from datetime import datetime
from typing import Any

import jinja2
from aiohttp import web

from admin import charts
from admin.auth import SESSION_KEY, Access, config_of, may

NAV = (
    ("Dashboard", "/", Access.STAFF),
    ("Fans", "/fans", Access.STAFF),
    ("Inbox", "/inbox", Access.STAFF),
    ("Scripts", "/scripts", Access.ADMIN),
    ("Rules", "/rules", Access.ADMIN),
    ("Campaigns", "/campaigns", Access.ADMIN),
    ("Broadcasts", "/broadcasts", Access.ADMIN),
)

ENVIRONMENT_KEY = web.AppKey("console_templates", jinja2.Environment)


def create_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("admin", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["number"] = _number
    environment.globals["columns"] = charts.columns
    environment.globals["hbars"] = charts.hbars
    return environment


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    session = request.get(SESSION_KEY)
    prefix = config_of(request).prefix
    nav = [(label, prefix + path) for label, path, access in NAV if may(session, access)]
    page = request.app[ENVIRONMENT_KEY].get_template(template)
    html = page.render(
        prefix=prefix,
        session=session,
        csrf=session.csrf_token if session is not None else "",
        is_admin=session is not None and may(session, Access.ADMIN),
        nav=nav,
        path=request.path,
        **context,
    )
    return web.Response(text=html, content_type="text/html", status=status)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"

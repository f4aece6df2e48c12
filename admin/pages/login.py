"""Logging in with a one-time link, and out.

Opening the link shows a button instead of logging in at once: link previews and
prefetchers fetch URLs too, and must not use up a single-use link.
"""

from aiohttp import web

from admin.auth import clear_session_cookie, config_of, current, set_session_cookie
from admin.render import render
from storage.repositories import console_auth


async def login_help(request: web.Request) -> web.Response:
    return render(request, "login.html", token=None, refused=False)


async def login_confirm(request: web.Request) -> web.Response:
    return render(request, "login.html", token=request.match_info["token"], refused=False)


async def login(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    token = (await request.post()).get("token")
    if not isinstance(token, str) or not token:
        return render(request, "login.html", token=None, refused=True, status=400)
    now = config.clock()
    async with config.database.session() as session:
        await console_auth.prune(session, now)  # logins are rare: a cheap time to tidy up
        grant = await console_auth.redeem_login_link(session, token, now)
        cookie = None
        if grant is not None:
            cookie = await console_auth.create_session(session, grant, now, config.session_ttl)
        await session.commit()
    if cookie is None:
        return render(request, "login.html", token=None, refused=True, status=403)
    response = _see_other(config.prefix + "/")
    set_session_cookie(response, config, cookie)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    async with config.database.session() as session:
        await console_auth.end_session(session, current(request).id)
        await session.commit()
    response = _see_other(config.prefix + "/login")
    clear_session_cookie(response, config)
    return response


def _see_other(location: str) -> web.Response:
    # A plain response (not a raised HTTPSeeOther) so that it can carry the cookie.
    return web.Response(status=303, headers={"Location": location})

"""The staff inbox: fans waiting for a person, and chats taken over."""

from aiohttp import web

from admin.auth import config_of
from admin.render import render
from storage.repositories import fan_search


async def inbox(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        handoffs = await fan_search.open_handoffs(session)
    return render(request, "inbox.html", handoffs=handoffs, now=config.clock())

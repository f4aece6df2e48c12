"""The audience dashboard: who the fans are, and how close the conversation is."""

from aiohttp import web

from admin.auth import config_of
from admin.render import render
from storage import dashboard as numbers


async def dashboard(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        board = await numbers.dashboard(session, config.clock())
    new_per_day = [(day.strftime("%m-%d"), count) for day, count in board.new_per_day]
    return render(request, "dashboard.html", board=board, new_per_day=new_per_day)

"""The root router: every feature's router, in the order they get a chance at an update."""

from aiogram import Dispatcher, Router

from handlers import console, conversation, membership, privacy, relay, staff, start
from handlers.fan_context import FanContextMiddleware


def create_root_router() -> Router:
    root = Router(name="rapport")
    root.include_routers(
        # First: commands in the staff chat (/stop, /take...) are staff commands.
        staff.create_router(),
        start.create_router(),
        privacy.create_router(),
        console.create_router(),
        membership.create_router(),
        # A fan with staff talks to staff, not to the scripts.
        relay.create_router(),
        # Last: it catches whatever the routers above did not.
        conversation.create_router(),
    )
    return root


def setup_dispatcher(dispatcher: Dispatcher) -> None:
    """Attach Rapport's middlewares and routers to a fresh Dispatcher."""
    dispatcher.update.outer_middleware(FanContextMiddleware())
    dispatcher.include_router(create_root_router())

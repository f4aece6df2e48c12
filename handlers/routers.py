"""The root router: every feature's router, in the order they get a chance at an update."""

from aiogram import Dispatcher, Router
from aiogram.types import Message

from handlers import console, conversation, membership, privacy, relay, staff, start
from handlers.fan_context import FanContextMiddleware


def create_root_router() -> Router:
    root = Router(name="rapport")
    root.include_routers(
        # First: commands in the staff chat (/stop, /take...) are staff commands.
        staff.create_router(),
        create_commands_router(),
        membership.create_router(),
        # A fan with staff talks to staff, not to the scripts.
        relay.create_router(),
        # Last: it catches whatever the routers above did not.
        conversation.create_router(),
    )
    return root


def create_commands_router() -> Router:
    """The fans' commands. Most messages are not commands: one check skips them all,
    instead of every command filter parsing the text in turn (their buttons still pass)."""
    commands = Router(name="commands")
    commands.message.filter(is_command)
    commands.include_routers(
        start.create_router(), privacy.create_router(), console.create_router()
    )
    return commands


async def is_command(message: Message) -> bool:
    """What aiogram's Command filter could match: a text or caption starting with "/"."""
    text = message.text or message.caption
    return text is not None and text.startswith("/")


def setup_dispatcher(dispatcher: Dispatcher) -> None:
    """Attach Rapport's middlewares and routers to a fresh Dispatcher."""
    dispatcher.update.outer_middleware(FanContextMiddleware())
    dispatcher.include_router(create_root_router())

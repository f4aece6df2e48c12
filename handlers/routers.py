"""The feature routers, in the order they get a chance at an update."""

from aiogram import Dispatcher, Router
from aiogram.types import Message

from handlers import console, conversation, membership, privacy, relay, staff, start
from handlers.fan_context import FanContextMiddleware


def feature_routers() -> list[Router]:
    """Every feature's router, in the order they get a chance at an update.

    They hang straight off the Dispatcher: each router an update passes through costs
    aiogram a round of middleware wrapping and filter checks, and a fan's plain message
    passes through all but the command routers on its way to the conversation."""
    return [
        # First: commands in the staff chat (/stop, /take...) are staff commands.
        staff.create_router(),
        create_commands_router(),
        # A fan with staff talks to staff, not to the scripts.
        relay.create_router(),
        # It catches whatever messages and buttons the routers above did not.
        conversation.create_router(),
        # Only the bot's own membership (blocked, unblocked): no message comes this far.
        membership.create_router(),
    ]


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
    dispatcher.include_routers(*feature_routers())

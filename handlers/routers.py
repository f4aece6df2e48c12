"""The feature routers, in the order they get a chance at an update."""

from aiogram import Dispatcher, Router
from aiogram.enums import ChatType
from aiogram.types import Message

from handlers import console, conversation, membership, privacy, relay, staff, start
from handlers.fan_context import FanContextMiddleware, starts_with_command
from storage.models import Fan


def feature_routers() -> list[Router]:
    """Every feature's router, in the order they get a chance at an update.

    They hang straight off the Dispatcher: each router an update passes through costs
    aiogram a round of middleware wrapping and filter checks, and a fan's plain message
    passes through all but the command routers on its way to the conversation."""
    return [
        # Most updates are a fan's plain message: straight to the conversation, past the
        # routers below that would each decline it (it is none of theirs, see the filter).
        create_fan_messages_router(),
        # Commands in the staff chat (/stop, /take...) are staff commands.
        staff.create_router(),
        create_commands_router(),
        # A fan with staff talks to staff, not to the scripts.
        relay.create_router(),
        # It catches whatever messages and buttons the routers above did not.
        conversation.create_router(),
        # Only the bot's own membership (blocked, unblocked): no message comes this far.
        membership.create_router(),
    ]


def create_fan_messages_router() -> Router:
    """A fan's own message that is not a command, from a fan no staff member has taken
    over: what the routers below would pass on to the conversation, handed to it at once.
    Each router an update passes costs aiogram a round of middlewares and filter checks."""
    fan_messages = Router(name="fan_messages")
    fan_messages.message.register(conversation.on_message, is_plain_fan_message)
    return fan_messages


async def is_plain_fan_message(
    message: Message, fan: Fan | None = None, open_handoff_id: int | None = None
) -> bool:
    """Not for the staff router (a private chat), nor the commands router (no leading
    "/"), nor the relay (no open handoff): the conversation's, whatever it says."""
    if fan is None or open_handoff_id is not None or message.chat.type != ChatType.PRIVATE:
        return False
    return not starts_with_command(message)


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
    """What aiogram's Command filter could match (a coroutine: aiogram sends a plain
    function to a thread)."""
    return starts_with_command(message)


def setup_dispatcher(dispatcher: Dispatcher) -> None:
    """Attach Rapport's middlewares and routers to a fresh Dispatcher."""
    dispatcher.update.outer_middleware(FanContextMiddleware())
    dispatcher.include_routers(*feature_routers())

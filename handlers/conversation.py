"""Everything else the fan sends. It is already on their timeline (FanContextMiddleware)."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from handlers.replies import Replies


def create_router() -> Router:
    router = Router(name="conversation")
    router.message.register(on_message)
    # Registered so that edits are requested from Telegram and reach the timeline.
    router.edited_message.register(on_edited_message)
    router.callback_query.register(on_button)
    return router


async def on_message(message: Message) -> None:
    """Not answered yet: the brand's dialog scripts take over here."""


async def on_edited_message(message: Message) -> None:
    """An edit is recorded on the timeline; the conversation does not react to it."""


async def on_button(query: CallbackQuery, replies: Replies) -> None:
    replies.answer_callback(query.id)

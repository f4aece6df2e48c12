"""Sending, editing and reading messages through a real aiogram Bot."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

from sandbox.client import SandboxClient


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=text, callback_data=data) for text, data in pairs]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_get_me_describes_the_bot(bot: Bot, token: str) -> None:
    me = await bot.get_me()
    bot_id = int(token.split(":")[0])
    assert me.id == bot_id
    assert me.is_bot
    assert me.username == f"sandbox_{bot_id}_bot"
    assert me.first_name == "Rapport Sandbox Bot"
    assert me.can_join_groups is True
    assert me.supports_inline_queries is False


async def test_send_message_with_inline_keyboard(bot: Bot, sb: SandboxClient, fan: int) -> None:
    start = await sb.send_start(fan, "promo42")
    assert start.message is not None
    assert start.message["text"] == "/start promo42"
    assert start.message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    sent = await bot.send_message(fan, "Hello Ada", reply_markup=keyboard(("Yes", "y")))

    assert sent.message_id == start.message_id + 1
    assert sent.chat.id == fan
    assert sent.chat.type == "private"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.text == "Hello Ada"
    log = await sb.messages(fan)
    assert [m.direction for m in log] == ["to_bot", "from_bot"]
    assert log[1].buttons == [[{"text": "Yes", "callback_data": "y"}]]


async def test_html_parse_mode_gives_entities(bot: Bot, fan: int) -> None:
    sent = await bot.send_message(fan, "Hi <b>Ada</b> 👋 <i>x</i>", parse_mode="HTML")
    assert sent.text == "Hi Ada 👋 x"
    assert sent.entities is not None
    kinds = [(e.type, e.offset, e.length) for e in sent.entities]
    # The emoji is two UTF-16 code units, so "x" starts at 10.
    assert kinds == [("bold", 3, 3), ("italic", 10, 1)]


async def test_bad_html_is_rejected_like_telegram(bot: Bot, fan: int) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(fan, "<b>unclosed", parse_mode="HTML")


async def test_text_only_inline_button_is_rejected(bot: Bot, fan: int) -> None:
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(
            fan,
            "x",
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="a")]]),
        )


async def test_callback_button_round_trip(bot: Bot, sb: SandboxClient, fan: int) -> None:
    sent = await bot.send_message(
        fan, "Ready?", reply_markup=keyboard(("Yes", "yes"), ("No", "no"))
    )

    pressed = await sb.press_button(fan, sent.message_id, data="yes")

    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None
    assert pressed.callback_query is not None
    assert query.id == pressed.callback_query["id"]
    assert query.data == "yes"
    assert query.from_user.id == fan
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="Noted")
    answer = await sb.callback_answer(query.id)
    assert answer["answered"]
    assert answer["answer"]["text"] == "Noted"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)


async def test_press_by_label(bot: Bot, sb: SandboxClient, fan: int) -> None:
    sent = await bot.send_message(fan, "Pick", reply_markup=keyboard(("Red", "c:red")))
    pressed = await sb.press_button(fan, sent.message_id, text="Red")
    assert pressed.callback_query is not None
    assert pressed.callback_query["data"] == "c:red"


async def test_edit_text_and_not_modified(bot: Bot, sb: SandboxClient, fan: int) -> None:
    sent = await bot.send_message(fan, "v1", reply_markup=keyboard(("A", "a")))

    edited = await bot.edit_message_text("v2", chat_id=fan, message_id=sent.message_id)

    assert isinstance(edited, type(sent))
    assert edited.text == "v2"
    assert edited.edit_date is not None
    # Like Telegram, an edit without reply_markup removes the inline keyboard.
    assert edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("v2", chat_id=fan, message_id=sent.message_id)
    log = await sb.messages(fan)
    assert log[-1].edited
    assert log[-1].text == "v2"


async def test_edit_unknown_message(bot: Bot, fan: int) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=fan, message_id=999)


async def test_fan_edit_gives_edited_message_update(bot: Bot, sb: SandboxClient, fan: int) -> None:
    sent = await sb.send_text(fan, "helo")
    await sb.edit_message(fan, sent.message_id, text="hello")
    updates = await bot.get_updates(timeout=0)
    edited = updates[-1].edited_message
    assert edited is not None
    assert edited.text == "hello"
    assert edited.edit_date is not None
    assert edited.message_id == sent.message_id


async def test_delete_message(bot: Bot, sb: SandboxClient, fan: int) -> None:
    sent = await bot.send_message(fan, "oops")
    assert await bot.delete_message(fan, sent.message_id)
    log = await sb.messages(fan)
    assert log[-1].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(fan, sent.message_id)


async def test_forbidden_after_block(bot: Bot, sb: SandboxClient, fan: int) -> None:
    update = await sb.block(fan)
    assert update is not None
    member_update = update["my_chat_member"]
    assert member_update["old_chat_member"]["status"] == "member"
    assert member_update["new_chat_member"]["status"] == "kicked"

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(fan, "still there?")

    updates = await bot.get_updates(timeout=0)
    assert updates[-1].my_chat_member is not None
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
    await sb.unblock(fan)
    assert (await bot.send_message(fan, "welcome back")).text == "welcome back"


async def test_chat_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(987654321, "hello?")


async def test_user_who_never_started_cannot_be_written(bot: Bot, sb: SandboxClient) -> None:
    user = await sb.create_user(first_name="Shy", started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(user["id"], "hi")


async def test_reply_parameters_and_chat_action(bot: Bot, sb: SandboxClient, fan: int) -> None:
    question = await sb.send_text(fan, "What time is it?")
    assert await bot.send_chat_action(fan, "typing")
    assert (await sb.chat(fan))["action"] == "typing"
    answer = await bot.send_message(fan, "Noon", reply_to_message_id=question.message_id)
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "What time is it?"


async def test_get_chat_and_member(bot: Bot, fan: int) -> None:
    chat = await bot.get_chat(fan)
    assert chat.type == "private"
    assert chat.first_name == "Ada"
    assert chat.username == "ada_fan"
    member = await bot.get_chat_member(fan, fan)
    assert member.status == "member"


async def test_media_by_file_id_and_location(bot: Bot, sb: SandboxClient, fan: int) -> None:
    photo = await sb.send_photo(fan, caption="me")
    assert photo.message is not None
    file_id = photo.message["photo"][-1]["file_id"]

    echoed = await bot.send_photo(fan, file_id, caption="nice")
    assert echoed.photo is not None
    assert echoed.photo[-1].file_id == file_id
    sticker = await bot.send_sticker(fan, "CAACAgIAAxkBAAIforeign")
    assert sticker.sticker is not None
    assert sticker.sticker.file_id == "CAACAgIAAxkBAAIforeign"
    location = await bot.send_location(fan, 48.85, 2.35)
    assert location.location is not None
    assert location.location.latitude == 48.85
    album = await bot.send_media_group(
        fan,
        media=[
            InputMediaPhoto(media=file_id, caption="one"),
            InputMediaPhoto(media=file_id),
        ],
    )
    assert len(album) == 2
    assert album[0].media_group_id == album[1].media_group_id


async def test_commands_and_name(bot: Bot) -> None:
    from aiogram.types import BotCommand

    assert await bot.set_my_commands([BotCommand(command="start", description="Begin")])
    commands = await bot.get_my_commands()
    assert [c.command for c in commands] == ["start"]
    assert await bot.set_my_name("Brand Bot")
    assert (await bot.get_my_name()).name == "Brand Bot"
    assert (await bot.get_me()).first_name == "Brand Bot"


async def test_caption_and_markup_edits(bot: Bot, sb: SandboxClient, fan: int) -> None:
    photo = await sb.send_photo(fan)
    assert photo.message is not None
    file_id = photo.message["photo"][-1]["file_id"]
    sent = await bot.send_photo(fan, file_id, caption="old", reply_markup=keyboard(("A", "a")))
    edited = await bot.edit_message_caption(
        chat_id=fan, message_id=sent.message_id, caption="new", reply_markup=keyboard(("B", "b"))
    )
    assert isinstance(edited, type(sent))
    assert edited.caption == "new"
    markup = await bot.edit_message_reply_markup(chat_id=fan, message_id=sent.message_id)
    assert isinstance(markup, type(sent))
    assert markup.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=fan, message_id=sent.message_id)


async def test_forward_and_pin(bot: Bot, sb: SandboxClient, fan: int) -> None:
    other = (await sb.create_user(first_name="Bea"))["id"]
    said = await sb.send_text(fan, "share this")
    forwarded = await bot.forward_message(other, fan, said.message_id)
    assert forwarded.text == "share this"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    assert await bot.pin_chat_message(other, forwarded.message_id)
    chat = await bot.get_chat(other)
    assert chat.pinned_message is not None
    assert chat.pinned_message.message_id == forwarded.message_id
    assert await bot.unpin_chat_message(other, message_id=forwarded.message_id)


async def test_reply_keyboard_is_kept_on_the_chat(bot: Bot, sb: SandboxClient, fan: int) -> None:
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes")]], resize_keyboard=True)
    sent = await bot.send_message(fan, "Choose", reply_markup=markup)
    assert sent.reply_markup is None  # Telegram never echoes reply keyboards
    assert (await sb.chat(fan))["reply_keyboard"]["keyboard"] == [[{"text": "Yes"}]]
    await bot.send_message(fan, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert (await sb.chat(fan))["reply_keyboard"] is None

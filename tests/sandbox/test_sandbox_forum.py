"""Staff forum supergroups: topics, rights, and copying between a fan and a topic."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, ChatMemberRestricted

from sandbox.client import SandboxClient
from sandbox.simulate import placeholder_png


async def _staff_group(sb: SandboxClient, *, admin: bool) -> tuple[int, int]:
    staff = await sb.create_user(first_name="Sam", username="sam_staff")
    group = await sb.create_group(
        "Brand staff",
        members={staff["id"]: "creator"},
        bot_status="administrator" if admin else "member",
    )
    return int(group["chat"]["id"]), int(staff["id"])


async def test_create_topic_needs_rights(bot: Bot, sb: SandboxClient) -> None:
    group_id, _ = await _staff_group(sb, admin=False)
    assert str(group_id).startswith("-100")
    with pytest.raises(TelegramBadRequest, match="not enough rights to create a topic"):
        await bot.create_forum_topic(group_id, "Ada")

    await sb.set_bot_status(group_id, "administrator", can_manage_topics=True)
    topic = await bot.create_forum_topic(group_id, "Ada")
    assert topic.name == "Ada"
    assert topic.icon_color == 7322096
    topics = await sb.topics(group_id)
    assert [t["message_thread_id"] for t in topics] == [topic.message_thread_id]
    log = await sb.messages(group_id, thread_id=topic.message_thread_id)
    assert log[0].service
    assert log[0].message["forum_topic_created"]["name"] == "Ada"


async def test_bot_joining_gives_my_chat_member(bot: Bot, sb: SandboxClient) -> None:
    group_id, _ = await _staff_group(sb, admin=True)
    updates = await bot.get_updates(timeout=0)
    change = updates[-1].my_chat_member
    assert change is not None
    assert change.chat.id == group_id
    assert change.old_chat_member.status == "left"
    assert change.new_chat_member.status == "administrator"


async def test_copy_between_fan_and_topic(bot: Bot, sb: SandboxClient, fan: int) -> None:
    group_id, staff_id = await _staff_group(sb, admin=True)
    topic = await bot.create_forum_topic(group_id, "Ada (fan)")
    thread = topic.message_thread_id
    photo = await sb.send_photo(fan, caption="my cat")

    copied = await bot.copy_message(group_id, fan, photo.message_id, message_thread_id=thread)

    [in_topic] = [m for m in await sb.messages(group_id, thread_id=thread) if not m.service]
    assert in_topic.message_id == copied.message_id
    assert in_topic.message["photo"]
    assert in_topic.text == "my cat"
    assert in_topic.message["is_topic_message"] is True
    assert "forward_origin" not in in_topic.message

    await bot.get_updates(offset=-1, timeout=0)
    reply = await sb.post_in_group(group_id, staff_id, "Cute!", message_thread_id=thread)
    updates = await bot.get_updates(offset=(await sb.updates())["next_update_id"] - 1)
    message = updates[-1].message
    assert message is not None
    assert message.message_id == reply.message_id
    assert message.message_thread_id == thread
    assert message.is_topic_message
    # Like Telegram, a topic message "replies" to the topic's creation message.
    assert message.reply_to_message is not None
    assert message.reply_to_message.forum_topic_created is not None

    back = await bot.copy_message(fan, group_id, reply.message_id)
    log = await sb.messages(fan)
    assert log[-1].message_id == back.message_id
    assert log[-1].text == "Cute!"
    assert "message_thread_id" not in log[-1].message


async def test_topic_lifecycle(bot: Bot, sb: SandboxClient) -> None:
    group_id, _ = await _staff_group(sb, admin=True)
    topic = await bot.create_forum_topic(group_id, "T")
    thread = topic.message_thread_id
    assert await bot.edit_forum_topic(group_id, thread, name="T2")
    assert await bot.close_forum_topic(group_id, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group_id, thread)
    assert await bot.reopen_forum_topic(group_id, thread)
    assert await bot.unpin_all_forum_topic_messages(group_id, thread)
    assert len(await bot.get_forum_topic_icon_stickers()) >= 1
    sent = await bot.send_message(group_id, "in topic", message_thread_id=thread)
    assert sent.message_thread_id == thread
    assert await bot.delete_forum_topic(group_id, thread)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group_id, "gone", message_thread_id=thread)
    topics = await sb.topics(group_id)
    assert topics == []


async def test_staff_edit_and_media_in_topic(bot: Bot, sb: SandboxClient) -> None:
    group_id, staff_id = await _staff_group(sb, admin=True)
    topic = await bot.create_forum_topic(group_id, "Fan")
    thread = topic.message_thread_id
    posted = await sb.post_in_group(
        group_id, staff_id, kind="photo", caption="look", message_thread_id=thread
    )
    await sb.edit_group_message(group_id, staff_id, posted.message_id, caption="look!")
    updates = await bot.get_updates(timeout=0)
    assert updates[-2].message is not None
    assert updates[-2].message.photo
    edited = updates[-1].edited_message
    assert edited is not None
    assert edited.caption == "look!"


async def test_privacy_mode_for_non_admin_bot(bot: Bot, sb: SandboxClient) -> None:
    group_id, staff_id = await _staff_group(sb, admin=False)
    await bot.get_updates(offset=-1, timeout=0)
    chatter = await sb.post_in_group(group_id, staff_id, "just chatting")
    command = await sb.post_in_group(group_id, staff_id, "/status")
    assert chatter.update is None
    assert command.update is not None


async def test_upload_to_group_and_get_chat(bot: Bot, sb: SandboxClient) -> None:
    group_id, _ = await _staff_group(sb, admin=True)
    doc = await bot.send_document(group_id, BufferedInputFile(placeholder_png(), "a.png"))
    assert doc.document is not None
    assert doc.document.file_name == "a.png"
    chat = await bot.get_chat(group_id)
    assert chat.type == "supergroup"
    assert chat.is_forum
    assert chat.title == "Brand staff"
    admins = await bot.get_chat_administrators(group_id)
    assert {a.status for a in admins} == {"creator", "administrator"}
    assert await bot.get_chat_member_count(group_id) == 2


async def test_get_chat_member_of_a_restricted_member(bot: Bot, sb: SandboxClient) -> None:
    group_id, staff_id = await _staff_group(sb, admin=True)
    outsider = await sb.create_user(first_name="Mallory")
    await sb.add_member(group_id, outsider["id"], "restricted")
    member = await bot.get_chat_member(group_id, outsider["id"])
    assert isinstance(member, ChatMemberRestricted)
    assert (member.is_member, member.can_send_messages, member.can_manage_topics) == (
        True,
        True,
        False,
    )
    assert (await bot.get_chat_member(group_id, staff_id)).status == "creator"

"""Staff take over a chat, end to end through the sandbox with the real dispatcher.

escalation -> topic and card -> take -> two-way relay of text and media -> note not
relayed -> edit mirrored -> proactive sends held -> hand back at a step -> the bot answers.
"""

from datetime import timedelta

from sqlalchemy import select

from bot.settings import Settings
from sandbox.client import SandboxClient
from storage.models import EventKind, HandoffState, OutboxMessage, OutboxState, RelayedMessage
from storage.repositories import events, outbox
from tests.bot.conftest import wait_until
from tests.bot.handoff_kit import FanUser, MovableClock, StaffRoom, running_bot

HELP_TEXT = "Here is what I can do"


async def test_staff_take_over_relay_and_hand_back(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(
        first_name="<b>Lin</b>", last_name="{{7*7}}", username="lin_w", language_code="en"
    )
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])

        # Escalation: a topic titled with the status mark, name, @username and id.
        await fan.ask_for_a_person()
        topic = await fan.topic()
        thread = topic.thread_id
        title = await room.title(thread)
        assert title.startswith("⏳ <b>Lin</b> {{7*7}}")
        assert f"@lin_w · {user['id']}" in title
        card = await room.pinned_text()
        assert "<b>Lin</b> {{7*7}}" in card  # shown literally, never rendered
        assert "waiting for staff" in card
        assert "Asked for: the fan asked for a person" in card

        # Take: the title and card say so.
        since = await room.cursor()
        await room.post(thread, "/take")
        [took] = await room.bot_says(thread, since)
        assert "Sam took the chat" in (took.text or "")
        await wait_until(lambda: _title_starts(room, thread, "💬"), what="the staff mark")
        handoff = await fan.handoff()
        assert handoff is not None
        assert (handoff.state, handoff.taken_by) == (HandoffState.TAKEN, room.staff_id)

        # Fan -> staff: text and media are copied into the topic, the scripts stay quiet.
        fan_since, since = await fan.cursor(), await room.cursor()
        await fan.say("Where is my order?")
        photo = await fan.do(await sandbox.send_photo(user["id"], caption="the box"))
        await fan.do(await sandbox.send_voice(user["id"]))
        copies = await room.bot_says(thread, since, 3)
        assert [c.text for c in copies[:2]] == ["Where is my order?", "the box"]
        assert copies[1].message["photo"]
        assert "voice" in copies[2].message
        assert all("forward_origin" not in c.message for c in copies)
        # The fan's edit is mirrored on the topic's copy.
        await fan.do(await sandbox.edit_message(user["id"], photo.message_id, caption="the box!"))
        await wait_until(lambda: _edited(sandbox, room.group_id, copies[1].message_id, "the box!"))

        # Staff -> fan, in the brand's name; a note is not relayed.
        await room.post(thread, "!internal: check the warehouse")
        await room.post(thread, "/note VIP, be kind")
        reply = await room.post(thread, "It ships tomorrow")
        await room.post(thread, kind="photo", caption="your parcel")
        got = await fan.bot_messages(fan_since, 2)
        assert [m.text for m in got] == ["It ships tomorrow", "your parcel"]
        assert got[1].message["photo"]
        assert got[0].message["from"]["is_bot"] is True
        assert all(m.direction == "from_bot" for m in got)
        fan_log = [m.text for m in await sandbox.messages(user["id"])]
        assert not any(text and ("internal" in text or "VIP" in text) for text in fan_log)

        # A staff edit is mirrored to the fan's copy.
        await room.post_edit(reply.message_id, "It ships today")
        await wait_until(lambda: _edited(sandbox, user["id"], got[0].message_id, "It ships today"))

        # Proactive sends are held while staff have the chat.
        stored = await fan.stored()
        async with app.database.session() as session:
            await outbox.enqueue(
                session,
                [
                    {
                        "fan_id": stored.id,
                        "source": "rule",
                        "source_ref": "test",
                        "content": {"step": "menu.help"},
                        "due_at": clock(),
                    }
                ],
                clock(),
            )
            await session.commit()
        await wait_until(lambda: _outbox_reason(app, stored.id, "taken_over"), what="held send")

        # Hand back at a step: the script says that step, the bot answers again.
        fan_since, since = await fan.cursor(), await room.cursor()
        await room.post(thread, "/handback menu.help")
        [back] = await room.bot_says(thread, since)
        assert "Handed back to the bot at menu.help" in (back.text or "")
        [help_step] = await fan.bot_messages(fan_since)
        assert help_step.text is not None
        assert help_step.text.startswith(HELP_TEXT)
        await wait_until(lambda: _title_starts(room, thread, "🤖"), what="the bot mark")
        since, fan_since = await room.cursor(), await fan.cursor()
        await fan.say("asdf qwerty")
        [fallback, *_] = await fan.bot_messages(fan_since)
        assert (fallback.text or "").startswith("Sorry, I didn't quite get that")
        # The fan's updates are handled in order: after this one, the one before is done.
        fan_since = await fan.cursor()
        await fan.say("asdf")
        await fan.bot_messages(fan_since)
        assert [
            m
            for m in await sandbox.messages(room.group_id, thread_id=thread)
            if m.message_id > since and not m.service
        ] == []

        handoff = await fan.handoff()
        assert handoff is not None
        assert handoff.state == HandoffState.CLOSED
        assert handoff.close_reason == "handback"
        assert handoff.taken_at is not None
        assert handoff.first_response_at is not None
        assert handoff.closed_at is not None
        assert handoff.first_response_at >= handoff.opened_at
        async with app.database.session() as session:
            relayed = (await session.execute(select(RelayedMessage.direction))).scalars().all()
            timeline = await events.timeline(session, stored.id)
        assert sorted(relayed) == ["to_fan"] * 2 + ["to_staff"] * 3
        kinds = [event.kind for event in timeline]
        assert EventKind.HANDOFF_TAKEN in kinds
        assert EventKind.HANDED_BACK in kinds
        assert [e.text for e in timeline if e.kind == EventKind.STAFF_NOTE] == [
            "internal: check the warehouse",
            "VIP, be kind",
        ]


async def _title_starts(room: StaffRoom, thread: int, mark: str) -> bool:
    return (await room.title(thread)).startswith(mark)


async def _edited(sandbox: SandboxClient, chat_id: int, message_id: int, text: str) -> bool:
    log = {m.message_id: m for m in await sandbox.messages(chat_id)}
    return log[message_id].edited and log[message_id].text == text


async def _outbox_reason(app: object, fan_id: int, reason: str) -> bool:
    async with app.database.session() as session:  # type: ignore[attr-defined]
        rows = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.fan_id == fan_id)))
            .scalars()
            .all()
        )
    return any(r.state == OutboxState.PENDING and r.reason == reason for r in rows)


_ = timedelta

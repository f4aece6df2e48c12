"""Handoffs end to end: auto hand-back, who may act, blocked fans, topic throttling, and
what happens without a staff chat.
"""

from datetime import timedelta

from bot.settings import Settings
from handlers import texts
from sandbox.client import SandboxClient
from storage.models import Fan, HandoffState
from storage.repositories import handoffs
from tests.bot.conftest import wait_until
from tests.bot.handoff_kit import FanUser, MovableClock, StaffRoom, running_bot

FALLBACK = "Sorry, I didn't quite get that"
TICKS = 20.0  # seconds to wait for a scheduler tick (they run every 1-5 s)


async def test_idle_chats_are_handed_back_automatically(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    answered_user = await sandbox.create_user(first_name="Ada")
    waiting_user = await sandbox.create_user(first_name="Bo")
    async with running_bot(
        settings, clock, staff_chat_id=room.group_id, handoff_idle_minutes=10
    ) as app:
        room.app = app
        answered = FanUser(app, sandbox, answered_user["id"])
        waiting = FanUser(app, sandbox, waiting_user["id"])
        await answered.ask_for_a_person()
        await waiting.ask_for_a_person()
        answered_thread = (await answered.topic()).thread_id
        waiting_thread = (await waiting.topic()).thread_id
        await room.post(answered_thread, "Hello, how can I help?")

        clock.advance(timedelta(minutes=9))
        assert app.staff_queue is not None
        assert await app.staff_queue.hand_back_idle() == 0
        since = await room.cursor()
        waiting_since = await waiting.cursor()
        clock.advance(timedelta(minutes=2))
        [notice] = await room.bot_says(answered_thread, since)
        assert "No staff message for 10 min" in (notice.text or "")
        [notice] = await room.bot_says(waiting_thread, since)
        assert "back with the bot" in (notice.text or "")

        # Only the fan nobody answered is told; both talk to the bot again.
        [sorry] = await waiting.bot_messages(waiting_since)
        assert sorry.text == texts.text("staff_timed_out", "en")
        for fan in (answered, waiting):
            handoff = await fan.handoff()
            assert handoff is not None
            assert (handoff.state, handoff.close_reason) == (HandoffState.CLOSED, "auto")
            since = await fan.cursor()
            await fan.say("asdf qwerty")
            [reply, *_] = await fan.bot_messages(since)
            assert (reply.text or "").startswith(FALLBACK)
        await wait_until(lambda: _title_starts(room, answered_thread, "🤖"), TICKS)


async def test_only_staff_can_act(settings: Settings, sandbox: SandboxClient) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    outsider = await sandbox.create_user(first_name="Mallory")
    await sandbox.add_member(room.group_id, outsider["id"], "restricted")
    other_group = await sandbox.create_group(
        "Not the staff chat", members={room.staff_id: "creator"}, bot_status="administrator"
    )
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        fan_since, room_since = await fan.cursor(), await room.cursor()

        await room.post(thread, "/take", user_id=outsider["id"])
        await room.post(thread, "I am not staff", user_id=outsider["id"])
        await room.post(thread, "/handback", user_id=outsider["id"])
        other_topic = await sandbox.create_topic(other_group["chat"]["id"], room.staff_id, "x")
        posted = await sandbox.post_in_group(
            other_group["chat"]["id"],
            room.staff_id,
            "/take",
            message_thread_id=other_topic["message_thread_id"],
        )
        await fan.do(posted)
        handoff = await fan.handoff()
        assert handoff is not None
        assert (handoff.state, handoff.taken_by) == (HandoffState.WAITING, None)

        # A member of the staff chat may act. The staff chat's updates are handled in
        # order, so once the bot answers this, it has dealt with the outsider's too.
        await room.post(thread, "/take")
        [took] = await room.bot_says(thread, room_since)
        assert "took the chat" in (took.text or "")
        said = [
            m
            for m in await sandbox.messages(room.group_id)
            if m.message_id > room_since and m.direction == "from_bot" and not m.service
        ]
        assert said == [took]
        assert [m for m in await sandbox.messages(user["id"]) if m.message_id > fan_since] == []
        assert app.staff_desk is not None
        assert app.staff_desk.stats.ignored >= 3


async def test_a_fan_who_blocks_the_bot_is_reported(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        await room.post(thread, "/take")
        since = await room.cursor()

        blocked = await sandbox.block(user["id"])
        assert blocked is not None
        [notice] = await room.bot_says(thread, since)
        assert "blocked the bot" in (notice.text or "")
        handoff = await fan.handoff()
        assert handoff is not None
        assert handoff.close_reason == "blocked"

        since = await room.cursor()
        await room.post(thread, "Are you still there?")
        [refused] = await room.bot_says(thread, since)
        assert refused.text == "Not sent: the fan is blocked."


async def test_a_fan_blocked_while_staff_write_is_reported(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        # Telegram refuses the copy without telling the bot first (no my_chat_member yet).
        await sandbox.set_faults(blocked_user_ids=[user["id"]])
        since = await room.cursor()
        await room.post(thread, "Hello?")
        said = await room.bot_says(thread, since, 2)  # "took the chat", then the refusal
        assert "blocked the bot" in (said[-1].text or "")
        stored = await fan.stored()
        assert stored.status == "blocked"
        handoff = await fan.handoff()
        assert handoff is not None
        assert handoff.close_reason == "blocked"


async def test_topic_creation_is_throttled_and_queued(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    users = [await sandbox.create_user(first_name=f"Fan{i}") for i in range(3)]
    async with running_bot(
        settings, clock, staff_chat_id=room.group_id, handoff_topics_per_minute=2
    ) as app:
        room.app = app
        fans = [FanUser(app, sandbox, user["id"]) for user in users]
        for fan in fans:
            await fan.ask_for_a_person()
        for fan in fans[:2]:  # oldest first
            await fan.topic()
        assert app.staff_queue is not None
        assert await app.staff_queue.announce_queued() == 0  # the third waits its turn
        async with app.database.session() as session:
            assert await handoffs.queued_count(session) == 1
        # The third fan's messages meanwhile are kept for the topic.
        await fans[2].say("still there?")

    # The queue is the database: a restart a minute later opens the third topic.
    clock.advance(timedelta(minutes=1))
    async with running_bot(
        settings, clock, staff_chat_id=room.group_id, handoff_topics_per_minute=2
    ) as app:
        room.app = app
        topic = await FanUser(app, sandbox, users[2]["id"]).topic()
        await wait_until(lambda: _topic_count(sandbox, room.group_id, 3), TICKS)
        copies = await room.bot_says(topic.thread_id, 0, 3)
        assert "still there?" in [m.text for m in copies]


async def test_without_a_staff_chat_the_fan_is_told_and_admins_get_a_message(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    admin = await sandbox.create_user(first_name="Boss")
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, admin_ids=[admin["id"]]) as app:
        fan = FanUser(app, sandbox, user["id"])
        since = await fan.cursor()
        await fan.ask_for_a_person()
        sorry = texts.text("staff_unavailable", "en")
        await wait_until(lambda: _fan_got(sandbox, user["id"], since, sorry), TICKS)
        [alert] = await sandbox.wait_for_messages(admin["id"], 1, timeout=10)
        assert "Ada" in (alert.text or "")
        assert "RAPPORT_STAFF_CHAT_ID" in (alert.text or "")
        handoff = await fan.handoff()
        assert handoff is not None
        assert (handoff.state, handoff.close_reason) == (HandoffState.CLOSED, "no_staff_chat")

        since = await fan.cursor()
        await fan.say("asdf qwerty")
        [reply, *_] = await fan.bot_messages(since)
        assert (reply.text or "").startswith(FALLBACK)


async def _title_starts(room: StaffRoom, thread: int, mark: str) -> bool:
    return (await room.title(thread)).startswith(mark)


async def _topic_count(sandbox: SandboxClient, chat_id: int, count: int) -> bool:
    return len(await sandbox.topics(chat_id)) >= count


async def _fan_got(sandbox: SandboxClient, chat_id: int, since: int, text: str) -> bool:
    return any(m.text == text and m.message_id > since for m in await sandbox.messages(chat_id))


async def test_asking_again_reopens_the_same_topic(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        first = await fan.topic()
        await room.post(first.thread_id, "/handback")
        await wait_until(lambda: _title_starts(room, first.thread_id, "🤖"), TICKS)

        since = await room.cursor()
        await fan.say("can I talk to a human?")
        await fan.tap("Yes, connect me")
        second = await fan.topic()
        assert (second.thread_id, second.card_message_id) == (
            first.thread_id,
            first.card_message_id,
        )
        assert len(await sandbox.topics(room.group_id)) == 1
        await wait_until(lambda: _title_starts(room, first.thread_id, "⏳"), TICKS)
        [notice] = await room.bot_says(first.thread_id, since)
        assert "asks for a person" in (notice.text or "")
        assert "waiting for staff" in await room.pinned_text()


async def test_a_forgotten_fan_leaves_no_topic(settings: Settings, sandbox: SandboxClient) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada", username="ada_l")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        await fan.topic()
        stored = await fan.stored()
        await fan.say("/forget")
        await fan.tap(texts.text("forget_yes", "en"))
        await wait_until(lambda: _no_topics(sandbox, room.group_id), TICKS, "topic deleted")
        async with app.database.session() as session:
            forgotten = await session.get(Fan, stored.id)
            assert forgotten is not None
            assert forgotten.status == "forgotten"
            assert await handoffs.open_of(session, stored.id) is None
            assert await handoffs.topic_of(session, stored.id) is None


async def _no_topics(sandbox: SandboxClient, chat_id: int) -> bool:
    return await sandbox.topics(chat_id) == []


async def test_a_staff_chat_that_cannot_take_topics_degrades_like_none(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    admin = await sandbox.create_user(first_name="Boss")
    group = await sandbox.create_group("Plain group", is_forum=False, bot_status="administrator")
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(
        settings, clock, staff_chat_id=group["chat"]["id"], admin_ids=[admin["id"]]
    ) as app:
        fan = FanUser(app, sandbox, user["id"])
        since = await fan.cursor()
        await fan.ask_for_a_person()
        sorry = texts.text("staff_unavailable", "en")
        await wait_until(lambda: _fan_got(sandbox, user["id"], since, sorry), TICKS)
        [alert] = await sandbox.wait_for_messages(admin["id"], 1, timeout=10)
        assert "the staff chat refused a new topic" in (alert.text or "")
        handoff = await fan.handoff()
        assert handoff is not None
        assert handoff.close_reason == "staff_chat_unusable"


async def test_staff_may_step_in_without_being_asked(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        await room.post(thread, "/handback")
        await room.post(thread, "/take")
        handoff = await fan.handoff()
        assert handoff is not None
        assert (handoff.state, handoff.reason) == (HandoffState.TAKEN, "taken by staff")

        since = await room.cursor()
        await fan.say("oh hello")
        [copy] = await room.bot_says(thread, since)
        assert copy.text == "oh hello"
        await room.post(thread, "/tag vip")
        await room.post(thread, "/stop")
        stored = await fan.stored()
        assert stored.status == "opted_out"
        await wait_until(lambda: _card_says(room, "vip (staff)"), TICKS, "the card's tag")


async def _card_says(room: StaffRoom, text: str) -> bool:
    return text in await room.pinned_text()


async def test_flood_waits_in_the_relay_are_waited_out_or_reported(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        await room.post(thread, "/take")

        # A short flood wait: the copy goes out once Telegram allows it.
        fan_since = await fan.cursor()
        await sandbox.set_faults(storm_remaining=1, storm_retry_after=1)
        await room.post(thread, "first")
        [first] = await fan.bot_messages(fan_since)
        assert first.text == "first"

        # A long one: the message is not waited for; staff are told.
        since = await room.cursor()
        await sandbox.set_faults(storm_remaining=1, storm_retry_after=60)
        await room.post(thread, "second")
        [notice] = await room.bot_says(thread, since)
        assert (notice.text or "").startswith("⚠️ Not delivered to the fan")
        assert app.staff_desk is not None
        assert app.staff_desk.stats.failed_calls >= 1
        assert app.staff_desk.stats.relayed_to_fan == 1


async def test_replies_point_at_the_same_message_on_the_other_side(
    settings: Settings, sandbox: SandboxClient
) -> None:
    clock = MovableClock()
    room = await StaffRoom.create(sandbox)
    user = await sandbox.create_user(first_name="Ada")
    async with running_bot(settings, clock, staff_chat_id=room.group_id) as app:
        room.app = app
        fan = FanUser(app, sandbox, user["id"])
        await fan.ask_for_a_person()
        thread = (await fan.topic()).thread_id
        await room.post(thread, "/take")

        since = await room.cursor()
        question = await fan.say("Which size?")
        [copy] = await room.bot_says(thread, since)
        fan_since = await fan.cursor()
        answer = await room.post(thread, "Size 38", reply_to_message_id=copy.message_id)
        [got] = await fan.bot_messages(fan_since)
        assert got.message["reply_to_message"]["message_id"] == question.message_id

        since = await room.cursor()
        await fan.do(
            await sandbox.send_text(user["id"], "Thanks!", reply_to_message_id=got.message_id)
        )
        [thanks] = await room.bot_says(thread, since)
        assert thanks.message["reply_to_message"]["message_id"] == answer.message_id

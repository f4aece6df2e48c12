"""What the handoff tests share: a movable clock, a bot started with it, a fan and a staff
forum supergroup in the sandbox that wait for the bot to have handled what they did.
"""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.app import App, create_app
from bot.runner import run_polling
from bot.settings import Settings
from sandbox.client import Injected, LoggedMessage, SandboxClient
from storage.clock import utc_now
from storage.models import Fan, FanTopic, Handoff, InboxState, InboxUpdate
from storage.repositories import fans, handoffs
from tests.bot.conftest import wait_until

PERSON = "can I talk to a human?"
CONNECT = "Yes, connect me"
CONNECTED = "Done! A colleague will answer you right here."
STAFF_RIGHTS = {"can_manage_topics": True, "can_pin_messages": True}


class MovableClock:
    """The real time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@asynccontextmanager
async def running_bot(
    settings: Settings, clock: MovableClock, **overrides: object
) -> AsyncIterator[App]:
    app = create_app(
        Settings(_env_file=None, **{**settings.model_dump(), **overrides}), clock=clock
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(app, stop))
    try:
        for _ in range(200):
            if task.done():
                task.result()
            if app.ready.is_set():
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the bot did not start")
        yield app
    finally:
        stop.set()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
        gc.unfreeze()  # the started bot froze the test process's heap (bot/heap.py)


async def handled(app: App, injected: Injected) -> None:
    """Wait until the bot has handled the update this action produced."""
    assert injected.update is not None, "the bot gets no update for this"
    update_id = injected.update["update_id"]

    async def done() -> bool:
        async with app.database.session() as session:
            row = await session.get(InboxUpdate, update_id)
            return row is not None and row.state == InboxState.DONE

    await wait_until(done, what=f"update {update_id}")


class FanUser:
    def __init__(self, app: App, sandbox: SandboxClient, user_id: int) -> None:
        self.app, self.sandbox, self.user_id = app, sandbox, user_id

    async def cursor(self) -> int:
        return await self.sandbox.last_message_id(self.user_id)

    async def do(self, injected: Injected) -> Injected:
        await handled(self.app, injected)
        return injected

    async def say(self, text: str) -> Injected:
        return await self.do(await self.sandbox.send_text(self.user_id, text))

    async def tap(self, label: str) -> Injected:
        for message in reversed(await self.sandbox.messages(self.user_id)):
            for row in message.buttons:
                for button in row:
                    if label in button["text"]:
                        return await self.do(
                            await self.sandbox.press_button(
                                self.user_id, message.message_id, text=button["text"]
                            )
                        )
        raise AssertionError(f"no button {label!r}")

    async def bot_messages(self, since: int, count: int = 1) -> list[LoggedMessage]:
        return await self.sandbox.wait_for_messages(
            self.user_id, count, since_message_id=since, timeout=10
        )

    async def ask_for_a_person(self) -> None:
        await self.do(await self.sandbox.send_start(self.user_id))
        await self.say(PERSON)
        since = await self.cursor()
        await self.tap(CONNECT)
        [connected] = await self.bot_messages(since)
        assert (connected.text or "").startswith(CONNECTED)

    async def stored(self) -> Fan:
        async with self.app.database.session() as session:
            fan = await fans.get_by_telegram_id(session, self.user_id)
            assert fan is not None
            return fan

    async def handoff(self) -> Handoff | None:
        """The fan's latest handoff."""
        fan = await self.stored()
        async with self.app.database.session() as session:
            result = await session.execute(
                select(Handoff).where(Handoff.fan_id == fan.id).order_by(Handoff.id.desc())
            )
            return result.scalars().first()

    async def topic(self) -> FanTopic:
        """The fan's staff topic, once staff have been told in it."""
        fan = await self.stored()

        async def announced() -> bool:
            async with self.app.database.session() as session:
                handoff = await handoffs.open_of(session, fan.id)
                topic = await handoffs.topic_of(session, fan.id)
            return topic is not None and handoff is not None and handoff.notified_at is not None

        await wait_until(announced, what="the fan's staff topic")
        async with self.app.database.session() as session:
            topic = await handoffs.topic_of(session, fan.id)
        assert topic is not None
        return topic


class StaffRoom:
    """The staff forum supergroup, with the bot as an admin that may manage topics."""

    def __init__(self, sandbox: SandboxClient, group_id: int, staff_id: int) -> None:
        self.sandbox, self.group_id, self.staff_id = sandbox, group_id, staff_id
        self.app: App | None = None

    @classmethod
    async def create(cls, sandbox: SandboxClient) -> "StaffRoom":
        staff = await sandbox.create_user(first_name="Sam", username="sam_support")
        group = await sandbox.create_group(
            "Stride & Carry support",
            members={staff["id"]: "member"},
            bot_status="administrator",
            bot_rights=STAFF_RIGHTS,
        )
        return cls(sandbox, int(group["chat"]["id"]), int(staff["id"]))

    async def cursor(self) -> int:
        return await self.sandbox.last_message_id(self.group_id)

    async def post(
        self,
        thread_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        **extra: object,
    ) -> Injected:
        assert self.app is not None
        injected = await self.sandbox.post_in_group(
            self.group_id,
            user_id or self.staff_id,
            text,
            message_thread_id=thread_id,
            **extra,  # type: ignore[arg-type]
        )
        await handled(self.app, injected)
        return injected

    async def post_edit(
        self, message_id: int, text: str | None = None, *, caption: str | None = None
    ) -> Injected:
        assert self.app is not None
        injected = await self.sandbox.edit_group_message(
            self.group_id, self.staff_id, message_id, text=text, caption=caption
        )
        await handled(self.app, injected)
        return injected

    async def bot_says(self, thread_id: int, since: int, count: int = 1) -> list[LoggedMessage]:
        return await self.sandbox.wait_for_messages(
            self.group_id, count, since_message_id=since, thread_id=thread_id, timeout=10
        )

    async def title(self, thread_id: int) -> str:
        [topic] = [
            t
            for t in await self.sandbox.topics(self.group_id)
            if t["message_thread_id"] == thread_id
        ]
        return str(topic["name"])

    async def pinned_text(self) -> str:
        state = await self.sandbox.chat(self.group_id)
        log = {m.message_id: m for m in await self.sandbox.messages(self.group_id)}
        return log[state["pinned"][-1]].text or ""

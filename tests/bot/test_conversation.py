"""The example brand end to end through the sandbox, in English and Chinese.

deep link -> consent -> profile answers -> gift claim -> shopping words -> a person;
then what is stored: consents with proof, fields with sources, tags, keyword hits, events.
"""

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from bot.app import App
from handlers import texts
from sandbox.client import Injected, LoggedMessage, SandboxClient
from storage.models import Event, EventKind, InboxState, InboxUpdate, KeywordHit
from storage.repositories import consents, fans, fields, tags
from tests.bot.conftest import wait_until
from tests.dialogs.test_dialogs_engine_journey import CHINESE, ENGLISH, Words

StartBot = Callable[..., Awaitable[App]]


class Fan:
    """A fan in the sandbox who waits for every answer of the bot before going on."""

    def __init__(self, app: App, sandbox: SandboxClient, user_id: int) -> None:
        self.app, self.sandbox, self.user_id = app, sandbox, user_id
        self.last: list[LoggedMessage] = []

    async def start(self, payload: str) -> list[LoggedMessage]:
        return await self._exchange(await self.sandbox.send_start(self.user_id, payload))

    async def say(self, text: str) -> list[LoggedMessage]:
        return await self._exchange(await self.sandbox.send_text(self.user_id, text))

    async def tap(self, label: str) -> list[LoggedMessage]:
        """Press the button of the bot's last messages whose label shows `label`."""
        message, shown = next(
            (message, shown)
            for message in reversed(self.last)
            for shown in _labels(message)
            if label in shown
        )
        pressed = await self.sandbox.press_button(self.user_id, message.message_id, text=shown)
        return await self._exchange(pressed)

    async def _exchange(self, injected: Injected) -> list[LoggedMessage]:
        """The bot's replies to this update: as many as it stored before sending them."""
        assert injected.update is not None
        update_id = injected.update["update_id"]
        since = await self.sandbox.last_message_id(self.user_id)
        if injected.message is not None:
            since = min(since, injected.message_id)
        await wait_until(lambda: self._handled(update_id), what=f"update {update_id}")
        count = await self._replies_to(update_id)
        got = await self.sandbox.wait_for_messages(self.user_id, count, since_message_id=since)
        self.last = [m for m in got if m.direction == "from_bot"]
        return self.last

    async def _handled(self, update_id: int) -> bool:
        async with self.app.database.session() as session:
            row = await session.get(InboxUpdate, update_id)
            return row is not None and row.state == InboxState.DONE

    async def _replies_to(self, update_id: int) -> int:
        async with self.app.database.session() as session:
            inbound = select(Event.id).where(Event.update_id == update_id).scalar_subquery()
            newer = select(Event.id).where(Event.update_id > update_id).limit(1).scalar_subquery()
            query = select(func.count()).where(
                Event.kind == EventKind.MESSAGE_OUT,
                Event.id > inbound,
                (Event.id < newer) | newer.is_(None),
            )
            return int((await session.execute(query)).scalar_one())


def _labels(message: LoggedMessage) -> list[str]:
    return [button["text"] for row in message.buttons for button in row]


@pytest.mark.parametrize("words", [ENGLISH, CHINESE], ids=["en", "zh"])
async def test_the_spring_gift_journey_is_stored(
    start_bot: StartBot, sandbox: SandboxClient, words: Words
) -> None:
    app = await start_bot()
    user = await sandbox.create_user(first_name="Lin", language_code=words.telegram_code)
    fan = Fan(app, sandbox, user["id"])

    assert len(await fan.start("spring_gift")) == 2  # the campaign's intro, then consent
    await fan.tap(words.yes_daily)
    await fan.tap(words.yes_offers)
    await fan.tap(words.yes_profiling)
    for answer in (words.gender, words.bad_age, words.age, words.city):
        await fan.say(answer)
    [reask] = await fan.say(words.bad_size)
    assert reask.text == words.reask_size
    await fan.say(words.size)
    [claimed, *_] = await fan.tap(words.claim)
    assert claimed.text is not None
    assert claimed.text.startswith(words.claimed)
    assert words.city in claimed.text
    await fan.say(words.shopping)
    await fan.say(words.person)
    before_connect = await sandbox.last_message_id(user["id"])
    connected = await fan.tap(words.connect)
    # Without a staff chat the request is closed and the fan told so, by the staff queue's
    # next tick: wait for that before writing again. The tick may come before the tap's own
    # replies are collected, so count from before the tap.
    unavailable = texts.text("staff_unavailable", words.telegram_code[:2])
    replies = [m for m in connected if m.text != unavailable]
    got = await sandbox.wait_for_messages(
        user["id"], len(replies) + 1, since_message_id=before_connect
    )
    assert [m.text for m in got if m.direction == "from_bot"].count(unavailable) == 1
    [fallback, *_] = await fan.say(words.nonsense)
    assert fallback.text is not None
    assert fallback.text.startswith(words.fallback)

    async with app.database.session() as session:
        stored = await fans.get_by_telegram_id(session, user["id"])
        assert stored is not None
        granted = await consents.granted_purposes(session, stored.id)
        profile = await fields.of_fan(session, stored.id)
        fan_tags = {name: tag.source for name, tag in await tags.of_fan(session, stored.id)}
        hits = (
            (
                await session.execute(
                    select(KeywordHit.keyword).where(KeywordHit.fan_id == stored.id)
                )
            )
            .scalars()
            .all()
        )
        kinds = (
            (await session.execute(select(Event.kind).where(Event.fan_id == stored.id)))
            .scalars()
            .all()
        )
    assert granted == {"daily", "offers", "profiling"}
    assert {name: fields.value_of(field) for name, field in profile.items()} == {
        "gender": "female",
        "age_band": "age_25_34",
        "city": words.city,
        "shoe_size": 38,
    }
    assert profile["city"].source == "capture:profile.ask_city"
    assert profile["city"].category == "registration"
    assert fan_tags["giveaway"] == "origin"
    assert fan_tags["spring_gift_claimed"] == "reply"
    assert fan_tags["interest_bags"] == "keyword"
    assert {"buy", "handbag"} <= set(hits)
    assert EventKind.GIFT_CLAIMED in kinds
    assert EventKind.ESCALATED in kinds
    assert kinds.count(EventKind.JOINED) == 1

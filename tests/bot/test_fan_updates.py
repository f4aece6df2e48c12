"""End to end through the sandbox: the real Dispatcher, polling over HTTP, both databases."""

from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from bot.app import App
from handlers import texts
from sandbox.client import SandboxClient
from storage.models import Event, EventKind, Fan, FanStatus
from storage.repositories import events, fans, origins, tags
from tests.bot.conftest import wait_until

StartBot = Callable[..., Awaitable[App]]


async def _fan(app: App, user_id: int) -> Fan:
    async with app.database.session() as session:
        fan = await fans.get_by_telegram_id(session, user_id)
        assert fan is not None
        return fan


async def _event_kinds(
    app: App, fan_id: int, *, inbound_only: bool = False
) -> list[tuple[str, str | None]]:
    async with app.database.session() as session:
        timeline = await events.timeline(session, fan_id)
    return [
        (event.kind, event.content_kind)
        for event in timeline
        if not (inbound_only and event.kind == EventKind.MESSAGE_OUT)
    ]


async def test_deep_link_start_stores_fan_origin_tags_and_join(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user = await sandbox.create_user(first_name="Mei", language_code="zh-hans")
    sent = await sandbox.send_start(user["id"], "spring_gift")
    [reply] = await sandbox.wait_for_messages(user["id"], 1, since_message_id=sent.message_id)
    assert reply.text is not None
    assert "Mei" in reply.text

    fan = await _fan(app, user["id"])
    assert (fan.first_name, fan.telegram_language, fan.status) == ("Mei", "zh-hans", "active")
    async with app.database.session() as session:
        [(touch, origin)] = await origins.touches_of(session, fan.id)
        fan_tags = {name: tag.source for name, tag in await tags.of_fan(session, fan.id)}
    assert (origin.code, origin.known, touch.is_first) == ("spring_gift", True, True)
    assert fan_tags == {"giveaway": "origin", "spring": "origin"}
    kinds = await _event_kinds(app, fan.id)
    assert kinds[:3] == [
        (EventKind.MESSAGE_IN, "text"),
        (EventKind.ORIGIN, None),
        (EventKind.JOINED, None),
    ]
    assert kinds[-1] == (EventKind.MESSAGE_OUT, "text")


async def test_invalid_deep_link_is_recorded_and_answered(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user = await sandbox.create_user(first_name="Bo")
    sent = await sandbox.send_text(user["id"], "/start not a valid payload!")
    await sandbox.wait_for_messages(user["id"], 1, since_message_id=sent.message_id)
    fan = await _fan(app, user["id"])
    assert (EventKind.INVALID_ORIGIN, None) in await _event_kinds(app, fan.id)


async def test_every_kind_of_fan_update_is_on_the_timeline(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user_id = (await sandbox.create_user(first_name="Ana"))["id"]
    text = await sandbox.send_text(user_id, "hello")
    await sandbox.send_photo(user_id, caption="my bag")
    await sandbox.send_sticker(user_id)
    await sandbox.send_voice(user_id)
    await sandbox.send_document(user_id)
    await sandbox.send_location(user_id, 31.23, 121.47)
    await sandbox.edit_message(user_id, text.message_id, text="hello!")
    expected = [
        (EventKind.MESSAGE_IN, "text"),
        (EventKind.MESSAGE_IN, "photo"),
        (EventKind.MESSAGE_IN, "sticker"),
        (EventKind.MESSAGE_IN, "voice"),
        (EventKind.MESSAGE_IN, "document"),
        (EventKind.MESSAGE_IN, "location"),
        (EventKind.MESSAGE_EDITED, "text"),
    ]

    async def all_logged() -> bool:
        async with app.database.session() as session:
            fan = await fans.get_by_telegram_id(session, user_id)
        if fan is None:
            return False
        return len(await _event_kinds(app, fan.id, inbound_only=True)) >= len(expected)

    await wait_until(all_logged, what="seven events")
    fan = await _fan(app, user_id)
    assert await _event_kinds(app, fan.id, inbound_only=True) == expected
    async with app.database.session() as session:
        timeline = await events.timeline(session, fan.id)
    texts_in = [event.text for event in timeline if event.kind != EventKind.MESSAGE_OUT]
    assert texts_in == ["hello", "my bag", None, None, None, None, "hello!"]


async def test_stop_opts_out_and_the_button_opts_back_in(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user_id = (await sandbox.create_user(first_name="Lu", language_code="en"))["id"]
    sent = await sandbox.send_text(user_id, "/stop")
    [confirmation] = await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)
    assert confirmation.text == texts.text("stopped", "en")
    assert (await _fan(app, user_id)).status == FanStatus.OPTED_OUT

    [[button]] = confirmation.buttons
    press = await sandbox.press_button(
        user_id, confirmation.message_id, data=button["callback_data"]
    )
    [resumed] = await sandbox.wait_for_messages(user_id, since_message_id=confirmation.message_id)
    assert resumed.text == texts.text("resumed", "en")
    assert (await _fan(app, user_id)).status == FanStatus.ACTIVE
    assert press.callback_query is not None
    answer = await sandbox.callback_answer(press.callback_query["id"])
    assert answer["answered"]


async def test_blocking_and_unblocking_the_bot(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()
    user_id = (await sandbox.create_user(first_name="Kai"))["id"]
    sent = await sandbox.send_start(user_id)
    await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)

    async def status_is(status: FanStatus) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return (await _fan(app, user_id)).status == status

        return check

    await sandbox.block(user_id)
    await wait_until(await status_is(FanStatus.BLOCKED), what="blocked")
    await sandbox.unblock(user_id)
    await wait_until(await status_is(FanStatus.ACTIVE), what="unblocked")
    kinds = [kind for kind, _ in await _event_kinds(app, (await _fan(app, user_id)).id)]
    assert kinds[-2:] == [EventKind.BLOCKED, EventKind.UNBLOCKED]


async def test_a_failing_handler_is_retried_then_set_aside_and_the_bot_goes_on(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot()

    async def explode_on_boom(handler, event, data):  # type: ignore[no-untyped-def]
        if getattr(event, "text", None) == "boom":
            raise RuntimeError("a bug in a handler")
        return await handler(event, data)

    app.dispatcher.message.outer_middleware(explode_on_boom)
    user_id = (await sandbox.create_user(first_name="Io"))["id"]
    await sandbox.send_text(user_id, "boom")
    sent = await sandbox.send_start(user_id)
    await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id, timeout=15)

    assert app.processor.stats.set_aside == 1
    async with app.database.session() as session:
        texts_in = (
            (
                await session.execute(
                    select(Event.text).where(Event.kind == EventKind.MESSAGE_IN).order_by(Event.id)
                )
            )
            .scalars()
            .all()
        )
        handled = (await session.execute(select(func.count()).select_from(Event))).scalar()
    assert texts_in == ["/start"]  # the failed update's effects were rolled back
    assert handled

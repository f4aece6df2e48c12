"""Webhook mode: the sandbox posts updates with the secret; repeats and junk are harmless."""

from collections.abc import Awaitable, Callable

import aiohttp
from sqlalchemy import func, select

from bot.app import App
from bot.webhook import SECRET_HEADER
from sandbox.client import SandboxClient
from storage.models import Event, EventKind, InboxState
from storage.repositories import inbox, origins
from tests.bot.conftest import WEBHOOK_SECRET, wait_until
from tests.factories import make_message_update

StartBot = Callable[..., Awaitable[App]]


def _webhook_url(app: App) -> str:
    assert app.settings.webhook_url is not None
    return app.settings.webhook_url + app.settings.webhook_path


async def _count(app: App, kind: EventKind) -> int:
    async with app.database.session() as session:
        query = select(func.count()).select_from(Event).where(Event.kind == kind)
        return int((await session.execute(query)).scalar_one())


async def test_deep_link_through_the_webhook(start_bot: StartBot, sandbox: SandboxClient) -> None:
    app = await start_bot("webhook")
    info = await sandbox.webhook_info()
    assert info["url"] == _webhook_url(app)
    user_id = (await sandbox.create_user(first_name="Wen"))["id"]
    sent = await sandbox.send_start(user_id, "store_qr")
    await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)
    async with app.database.session() as session:
        origin = await origins.by_code(session, "store_qr")
    assert origin is not None
    assert origin.known


async def test_requests_without_the_secret_are_refused(start_bot: StartBot) -> None:
    app = await start_bot("webhook")
    update = make_message_update(10_001, 77)
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: "wrong"}):
            async with http.post(_webhook_url(app), json=update, headers=headers) as response:
                assert response.status == 401
    async with app.database.session() as session:
        assert await inbox.count_by_state(session) == {}


async def test_the_same_update_delivered_twice_is_handled_once(start_bot: StartBot) -> None:
    app = await start_bot("webhook")
    update = make_message_update(20_001, 78, text="only once")
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            headers = {SECRET_HEADER: WEBHOOK_SECRET}
            async with http.post(_webhook_url(app), json=update, headers=headers) as response:
                assert response.status == 200

    async def handled() -> bool:
        async with app.database.session() as session:
            return await inbox.count_by_state(session) == {InboxState.DONE: 1}

    await wait_until(handled, what="the update handled")
    assert await _count(app, EventKind.MESSAGE_IN) == 1


async def test_malformed_updates_are_set_aside_not_fatal(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    app = await start_bot("webhook")
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    malformed = {"update_id": 30_001, "message": {"chat": "not a chat", "date": "soon"}}
    async with aiohttp.ClientSession() as http:
        async with http.post(_webhook_url(app), json=malformed, headers=headers) as response:
            assert response.status == 200  # stored: Telegram must not resend it forever
        async with http.post(_webhook_url(app), data=b"{nope", headers=headers) as response:
            assert response.status == 400
        async with http.post(_webhook_url(app), json=[1, 2], headers=headers) as response:
            assert response.status == 400

    async def set_aside() -> bool:
        async with app.database.session() as session:
            return (await inbox.count_by_state(session)).get(InboxState.FAILED) == 1

    await wait_until(set_aside, what="the malformed update set aside")
    user_id = (await sandbox.create_user(first_name="Ok"))["id"]
    sent = await sandbox.send_start(user_id)
    await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)

"""Getting into the console: /console from an admin's chat (polling and webhook), and
`rapport console-link` for operators."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from click.testing import CliRunner
from sqlalchemy import select

from bot.app import App
from bot.cli import main
from bot.logs import REDACTED, RedactSecrets
from sandbox.client import SandboxClient
from storage.clock import utc_now
from storage.database import Database
from storage.models import ConsoleRole, Event
from storage.repositories import console_auth
from tests.bot.conftest import free_port

StartBot = Callable[..., Awaitable[App]]
ADMIN_ID = 424_242
STAFF_ID = 434_343


async def _log_in(link: str) -> int:
    """Open the link, press the button, and return the status of the dashboard."""
    base, token = link.split("/login/")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(link) as confirm:
            assert confirm.status == 200
        async with http.post(base + "/login", data={"token": token}) as dashboard:
            assert dashboard.url.path == "/console/"
            return dashboard.status


async def _reply_to_console(sandbox: SandboxClient, user_id: int) -> tuple[str, str]:
    """The bot's answer to /console, and the link in it."""
    sent = await sandbox.send_text(user_id, "/console")
    (reply,) = await sandbox.wait_for_messages(user_id, 1, since_message_id=sent.message_id)
    assert reply.text is not None
    return reply.text, reply.text.rsplit("\n", 1)[1]


async def test_an_admin_gets_a_working_one_time_link_from_the_bot(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    port = free_port()
    app = await start_bot(admin_ids=str(ADMIN_ID), staff_ids=str(STAFF_ID), console_port=port)
    await sandbox.create_user(user_id=ADMIN_ID, first_name="Boss")
    text, link = await _reply_to_console(sandbox, ADMIN_ID)
    assert text.startswith("Your admin login link")
    assert link.startswith(f"http://127.0.0.1:{port}/console/login/")
    assert await _log_in(link) == 200
    async with app.database.session() as session:
        texts = list((await session.execute(select(Event.text))).scalars())
    assert not any(text and link.rsplit("/", 1)[1] in text for text in texts)
    await sandbox.create_user(user_id=STAFF_ID, first_name="Helper")
    text, staff_link = await _reply_to_console(sandbox, STAFF_ID)
    assert text.startswith("Your staff login link")
    assert await _log_in(staff_link) == 200


async def test_anyone_else_gets_no_link(start_bot: StartBot, sandbox: SandboxClient) -> None:
    await start_bot(admin_ids=str(ADMIN_ID), console_port=free_port())
    user_id = (await sandbox.create_user(first_name="Fan"))["id"]
    sent = await sandbox.send_text(user_id, "/console")
    replies = await sandbox.wait_for_messages(user_id, 1, since_message_id=sent.message_id)
    assert all("/console/login/" not in (reply.text or "") for reply in replies)


async def test_the_webhook_server_serves_the_console_when_it_shares_the_port(
    start_bot: StartBot, sandbox: SandboxClient
) -> None:
    port = free_port()
    await start_bot(
        "webhook",
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_port=port,
        console_port=port,
        admin_ids=str(ADMIN_ID),
    )
    await sandbox.create_user(user_id=ADMIN_ID, first_name="Boss")
    _, link = await _reply_to_console(sandbox, ADMIN_ID)
    assert link.startswith(f"http://127.0.0.1:{port}/console/login/")
    assert await _log_in(link) == 200


def test_console_link_prints_a_link_for_the_role(database_url: str) -> None:
    runner = CliRunner(
        env={"RAPPORT_DATABASE_URL": database_url, "RAPPORT_CONSOLE_URL": "https://c.example"}
    )
    result = runner.invoke(main, ["console-link", "--role", "staff", "--user", "77"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("https://c.example/console/login/")

    async def redeem() -> console_auth.Grant | None:
        database = Database(database_url)
        try:
            async with database.session() as session:
                return await console_auth.redeem_login_link(
                    session, link.rsplit("/", 1)[1], utc_now()
                )
        finally:
            await database.dispose()

    grant = asyncio.run(redeem())
    assert grant == console_auth.Grant(ConsoleRole.STAFF, 77)


def test_login_links_are_redacted_from_logs() -> None:
    record = logging.LogRecord(
        "aiohttp.access",
        logging.INFO,
        __file__,
        1,
        "GET %s 200",
        ("/console/login/" + "x" * 43,),
        None,
    )
    RedactSecrets([]).filter(record)
    assert record.getMessage() == f"GET /console/login/{REDACTED} 200"

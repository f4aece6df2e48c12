"""Brand versions: all or nothing, export round trip, rollback, and pick-up without restart."""

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from bot import brand
from bot.app import App
from sandbox.client import SandboxClient
from storage.brand_cache import RECHECK_SECONDS
from storage.database import Database
from storage.repositories import brand_versions, origins
from tests.bot.conftest import EXAMPLE_BRAND
from tests.factories import NOW

StartBot = Callable[..., Awaitable[App]]
OLD_FALLBACK = "Sorry, I didn't quite get that. Pick an option below"
NEW_FALLBACK = "Hmm, that one is new to us. Pick an option below"


def _copy_brand(tmp_path: Path) -> Path:
    target = tmp_path / "brand"
    shutil.copytree(EXAMPLE_BRAND, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


async def test_an_invalid_folder_is_rejected_whole(database: Database, tmp_path: Path) -> None:
    folder = _copy_brand(tmp_path)
    unknown_key = "tags: [store_visitor]\n    bogus: 1"
    _edit(folder / "campaigns.yaml", "tags: [store_visitor]", unknown_key)
    _edit(folder / "dialogs" / "main.yaml", "go: shop.handbags", "go: shop.nowhere")
    result = await brand.import_dir(database, folder, author="test", now=NOW)
    assert result.version is None
    assert len(result.problems) >= 2
    assert {problem.file for problem in result.problems} >= {"campaigns.yaml", "dialogs/main.yaml"}
    async with database.session() as session:
        assert await brand_versions.history(session) == []
        assert await origins.by_code(session, "spring_gift") is None


async def test_import_export_and_rollback(database: Database, tmp_path: Path) -> None:
    first = await brand.import_dir(database, EXAMPLE_BRAND, author="ann", now=NOW)
    assert first.version is not None
    folder = _copy_brand(tmp_path)
    _edit(folder / "campaigns.yaml", "name: QR code on the store counter", "name: Counter QR")
    second = await brand.import_dir(database, folder, author="bo", now=NOW + timedelta(hours=1))
    assert second.version is not None

    async with database.session() as session:
        assert await brand_versions.active_id(session) == second.version.id
        store = await origins.by_code(session, "store_qr")
        assert store is not None
        assert store.name == "Counter QR"

    exported = tmp_path / "exported"
    await brand.export_active(database, exported)
    assert (exported / "campaigns.yaml").read_text() == (folder / "campaigns.yaml").read_text()

    await brand.activate(database, first.version.id, NOW + timedelta(hours=2))
    async with database.session() as session:
        assert await brand_versions.active_id(session) == first.version.id
        store = await origins.by_code(session, "store_qr")
        assert store is not None
        assert store.name == "QR code on the store counter"
        assert len(await brand_versions.history(session)) == 2


async def test_the_running_bot_picks_up_a_new_version(
    start_bot: StartBot, sandbox: SandboxClient, tmp_path: Path
) -> None:
    app = await start_bot()
    user_id = (await sandbox.create_user(first_name="Ren", language_code="en"))["id"]
    sent = await sandbox.send_text(user_id, "asdf qwerty")
    [before, *_] = await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)
    assert before.text is not None
    assert before.text.startswith(OLD_FALLBACK)

    folder = _copy_brand(tmp_path)
    _edit(folder / "dialogs" / "main.yaml", "Sorry, I didn't quite get that.", NEW_FALLBACK[:-21])
    result = await brand.import_dir(app.database, folder, author="editor", now=NOW)
    assert result.problems == []

    async def reply_to_nonsense() -> str | None:
        sent = await sandbox.send_text(user_id, "zzz qqq")
        [reply, *_] = await sandbox.wait_for_messages(user_id, since_message_id=sent.message_id)
        return reply.text

    # The bot re-checks the active version every RECHECK_SECONDS.
    for _ in range(int(4 * RECHECK_SECONDS / 0.25)):
        text = await reply_to_nonsense()
        if text is not None and text.startswith(NEW_FALLBACK):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"the new version was not picked up: {text!r}")

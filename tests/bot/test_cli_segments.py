"""`rapport segment` and `rapport broadcast` with click's CliRunner on a temporary SQLite file."""

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage import migrate
from storage.database import Database
from storage.models import OutboxMessage, TagSource
from storage.repositories import consents, tags
from tests.bot.conftest import EXAMPLE_BRAND
from tests.factories import make_fan


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def runner(database_file: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    return CliRunner(env={"RAPPORT_DATABASE_URL": database_file})


def _fans(url: str) -> None:
    """Three fans: two tagged vip (one with a username), one not."""

    async def run() -> None:
        database = Database(url)
        try:
            await migrate.upgrade(database)
            async with database.session() as session:
                for number, username in enumerate(["ann_v", None, "carl"]):
                    fan = await make_fan(
                        session,
                        first_name=f"Vip{number}",
                        username=username,
                        user_id=7000 + number,
                    )
                    fan.language = "en"
                    if number < 2:
                        await tags.add(session, fan.id, "vip", TagSource.STAFF, fan.joined_at)
                    await consents.record(
                        session, fan.id, "offers", granted=True, proof={}, now=fan.joined_at
                    )
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(run())


def _outbox(url: str) -> list[OutboxMessage]:
    async def run() -> list[OutboxMessage]:
        database = Database(url)
        try:
            async with database.session() as session:
                return list((await session.execute(select(OutboxMessage))).scalars())
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_segment_prints_the_count_and_a_sample(runner: CliRunner, database_file: str) -> None:
    _fans(database_file)
    result = runner.invoke(main, ["segment", "tag: vip"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 fans match"
    assert lines[1].split() == [lines[1].split()[0], "Vip0", "@ann_v", "en", "active"]
    assert lines[2].split()[1:] == ["Vip1", "-", "en", "active"]
    json_result = runner.invoke(main, ["segment", '{"not": {"tag": "vip"}}'])
    assert json_result.output.splitlines()[0] == "1 fan match"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{tag: [", "error: condition: not YAML or JSON at column 8"),
        ("{colour: blue}", "error: condition: a condition starts with one of: all, any"),
        ("{said: buy}", "error: condition: within: Field required"),
        (
            "{all: [{said: buy, within: soon}]}",
            "error: condition: all.0.within: a duration is a number",
        ),
    ],
)
def test_an_invalid_condition_is_one_line_and_exit_1(
    runner: CliRunner, condition: str, message: str
) -> None:
    result = runner.invoke(main, ["segment", condition])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(message), result.stderr


def test_broadcast_preview_send_list_and_stats(runner: CliRunner, database_file: str) -> None:
    _fans(database_file)
    assert runner.invoke(main, ["brand", "import", str(EXAMPLE_BRAND)]).exit_code == 0
    message = ["--condition", "tag: vip", "--text", "Hi {{ fan.first_name }}", "--text-zh", "嗨"]

    preview = runner.invoke(main, ["broadcast", "preview", *message])
    assert preview.exit_code == 0, preview.output
    assert preview.output.splitlines()[0] == "2 fans would get it"
    assert "(@ann_v, en): Hi Vip0" in preview.output

    refused = runner.invoke(main, ["broadcast", "send", *message], input="n\n")
    assert "Send to 2 fans at " in refused.output
    assert refused.exit_code == 1
    assert _outbox(database_file) == []

    sent = runner.invoke(
        main,
        ["broadcast", "send", *message, "--name", "vip hello", "--at", "2030-01-02T10:00"],
        input="y\n",
    )
    assert sent.exit_code == 0, sent.output
    assert "broadcast 1: 2 messages queued for 2030-01-02T02:00:00+00:00" in sent.output
    rows = _outbox(database_file)
    assert sorted(row.dedupe_key or "" for row in rows) == sorted(
        f"broadcast:1:{row.fan_id}" for row in rows
    )

    listed = runner.invoke(main, ["broadcast", "list"])
    assert listed.output.split()[1:3] == ["scheduled", "2030-01-02T02:00+00:00"]
    assert listed.output.rstrip().endswith("offers     vip hello")
    stats = runner.invoke(main, ["broadcast", "stats", "1"])
    assert stats.exit_code == 0
    assert stats.output.splitlines()[:3] == ["total      2", "pending    2", "sending    0"]
    missing = runner.invoke(main, ["broadcast", "stats", "9"])
    assert (missing.exit_code, missing.stderr) == (1, "error: no broadcast with id 9\n")


def test_broadcast_with_a_broken_template_lists_every_problem(
    runner: CliRunner, database_file: str
) -> None:
    _fans(database_file)
    assert runner.invoke(main, ["brand", "import", str(EXAMPLE_BRAND)]).exit_code == 0
    result = runner.invoke(
        main,
        [
            *("broadcast", "send", "--yes", "--condition", "tag: vip"),
            *("--text", "Hi {{ fan.nickname }}", "--text-in", "fr=Salut", "--purpose", "spam"),
        ],
    )
    assert result.exit_code == 1
    problems = result.stderr.splitlines()
    assert len(problems) == 3
    assert problems[0].startswith("error: text.en:1: 'fan' has no 'nickname'")
    assert _outbox(database_file) == []

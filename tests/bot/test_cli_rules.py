"""`rapport rules check / list / dry-run` with click's CliRunner, on both databases."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from storage.database import Database
from storage.models import RuleFiring
from storage.repositories import consents, fans
from storage.repositories.fans import TelegramIdentity
from tests.bot.conftest import EXAMPLE_BRAND

BAD_RULES = Path(__file__).resolve().parents[1] / "dialogs" / "broken" / "bad_rules"
NOW = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai, 08:30 in New York


@pytest.fixture
def runner(database_url: str) -> CliRunner:
    return CliRunner(env={"RAPPORT_DATABASE_URL": database_url, "RAPPORT_BRAND_DIR": None})


def test_check_the_example_brand(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rules", "check", str(EXAMPLE_BRAND)])
    assert result.exit_code == 0, result.output
    assert result.output == "6 rule(s), no problems\n"


def test_check_reports_each_problem_and_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rules", "check", str(BAD_RULES)])
    assert result.exit_code == 1
    expected = (BAD_RULES / "expected.txt").read_text(encoding="utf-8")
    assert result.stdout == expected


def test_check_without_a_folder_names_the_setting(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rules", "check"])
    assert result.exit_code == 2
    assert "RAPPORT_BRAND_DIR" in result.output


def _import(runner: CliRunner) -> None:
    result = runner.invoke(main, ["brand", "import", str(EXAMPLE_BRAND)])
    assert result.exit_code == 0, result.output


async def _add_fan(
    url: str, user_id: int, name: str, timezone: str | None, purposes: tuple[str, ...]
) -> int:
    database = Database(url)
    try:
        async with database.session() as session:
            fan, _ = await fans.load_or_create(
                session, TelegramIdentity(user_id, name), user_id, NOW - timedelta(days=20)
            )
            fan.timezone = timezone
            for purpose in purposes:
                await consents.record(session, fan.id, purpose, granted=True, proof={}, now=NOW)
            await session.commit()
            return fan.id
    finally:
        await database.dispose()


async def _add_firing(url: str, fan_id: int, rule: str, at: datetime) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            session.add(
                RuleFiring(
                    rule=rule, fan_id=fan_id, occurrence="test", fired_at=at, brand_version="v1"
                )
            )
            await session.commit()
    finally:
        await database.dispose()


def test_list_shows_triggers_and_the_firing_history(runner: CliRunner, database_url: str) -> None:
    _import(runner)
    fan = asyncio.run(_add_fan(database_url, 1001, "Ann", None, ()))
    asyncio.run(_add_firing(database_url, fan, "win_back", NOW))
    result = runner.invoke(main, ["rules", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["rule", "trigger", "enabled", "last", "fired", "firings"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == [
        "spring_gift_reminder",
        "handbag_offer",
        "welcome_day_1",
        "welcome_day_3",
        "birthday_greeting",
        "win_back",
    ]
    assert rows["win_back"].split()[-4:] == ["yes", "2026-03-02", "13:30", "1"]
    assert rows["spring_gift_reminder"].split()[1:] == ["joined:spring_gift", "yes", "-", "0"]


def test_list_without_a_brand_says_how_to_import_one(runner: CliRunner) -> None:
    result = runner.invoke(main, ["rules", "list"])
    assert result.exit_code == 2
    assert "rapport brand import" in result.output


def test_dry_run_counts_samples_and_steps_through_quiet_hours(
    runner: CliRunner, database_url: str
) -> None:
    _import(runner)
    asyncio.run(_add_fan(database_url, 2001, "Li", "Asia/Shanghai", ("daily",)))
    asyncio.run(_add_fan(database_url, 2002, "Bob", "America/New_York", ("daily",)))
    asyncio.run(_add_fan(database_url, 2003, "Zoe", None, ()))
    result = runner.invoke(main, ["rules", "dry-run", "win_back", "--at", "2026-03-02T13:30"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "rule win_back: 3 fan(s) match at 2026-03-02 13:30 UTC",
        "  fan 1 Li: lands 2026-03-03 09:00 Asia/Shanghai (after quiet_hours)",
        "  fan 2 Bob: lands 2026-03-02 09:00 America/New_York (after quiet_hours)",
        "  fan 3 Zoe: not sent: no_consent",
    ]


def test_dry_run_of_an_unknown_rule_fails(runner: CliRunner) -> None:
    _import(runner)
    result = runner.invoke(main, ["rules", "dry-run", "nope"])
    assert result.exit_code == 2
    assert "no rule 'nope'" in result.output

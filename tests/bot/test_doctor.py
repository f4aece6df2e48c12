"""`rapport doctor` reports each check and how to fix what fails."""

from bot.doctor import run_checks
from bot.settings import Settings


async def test_all_good_against_the_sandbox(settings: Settings) -> None:
    said: list[str] = []
    assert await run_checks(settings, said.append) == 0
    assert said[-1] == "all good"
    assert any(line.startswith("bot API: ok (@sandbox_4242_bot") for line in said)


async def test_unreachable_api_and_missing_brand_are_explained(settings: Settings) -> None:
    broken = settings.model_copy(update={"api_url": "http://127.0.0.1:9", "brand_dir": None})
    said: list[str] = []
    assert await run_checks(broken, said.append) == 2
    assert "  FIX: check RAPPORT_API_URL and the network" in said
    assert any("rapport brand import DIR" in line for line in said)

"""The console in a real browser (headless Chromium from Debian, driven by Playwright): log in
with a link, read the dashboard of demo data, find fans by condition, edit a script with a
mistake and see it at its line, publish a fix, roll back, create a campaign link.

Screenshots of the main pages go to artifacts/ (git-ignored). Without /usr/bin/chromium the
test is skipped locally and fails under CI=true.
"""

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import demo_data
from bot.console import serve_console
from storage import segments
from storage.database import Database
from storage.models import ConsoleRole
from tests.admin.conftest import Console

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_FANS = 400


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def console_url(console: Console) -> AsyncIterator[str]:
    """The console served on a real port, with the demo's synthetic fans."""
    await demo_data.seed(console.database, console.clock(), fans=DEMO_FANS)
    port = _free_port()
    console.config.base_url = f"http://127.0.0.1:{port}"
    async with serve_console(console.config, "127.0.0.1", port) as url:
        yield url


async def _matching(database: Database, condition: dict[str, object], now: object) -> int:
    from dialogs.conditions import parse_condition

    async with database.session() as session:
        count, _ = await segments.count_and_sample(session, parse_condition(condition), now, 1)  # type: ignore[arg-type]
    return count


async def test_an_editor_works_through_the_console_in_a_browser(
    console: Console, console_url: str, chromium: Path, tmp_path: Path, backend: str
) -> None:
    from playwright.async_api import async_playwright, expect

    ARTIFACTS.mkdir(exist_ok=True)

    def shot(name: str) -> str:
        return str(ARTIFACTS / f"console-{name}-{backend}.png")

    link = console.config.base_url + await console.link(ConsoleRole.ADMIN)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(chromium),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = await browser.new_page()

            # Log in with a one-time link; the dashboard shows the demo fans.
            await page.goto(link)
            await page.get_by_role("button", name="Log in to the console").click()
            await expect(page.locator("#fans-total")).to_have_text(f"{DEMO_FANS:,}")
            await expect(page.locator("svg.chart rect").first).to_be_attached()
            await page.screenshot(path=shot("dashboard"), full_page=True)

            # Find fans by a condition built with the form.
            await page.get_by_role("link", name="Fans").click()
            await page.fill("input[name=said]", "buy")
            await page.fill("input[name=within]", "60")
            await page.select_option("select[name=status]", "active")
            await page.get_by_role("button", name="Find fans").click()
            expected = await _matching(
                console.database,
                {"all": [{"status": "active"}, {"said": ["buy"], "within": "60d"}]},
                console.clock(),
            )
            assert expected > 0
            await expect(page.locator("#fan-count")).to_have_text(f"{expected:,}")
            await expect(page.locator("#built-condition")).to_contain_text("said:")
            await page.screenshot(path=shot("fans"), full_page=True)
            await page.locator("#fan-list a").first.click()
            await expect(page.locator("#fan-name")).to_be_visible()
            await page.screenshot(path=shot("fan"), full_page=True)

            # Edit a script with a mistake: the problem is shown at its line.
            await page.get_by_role("link", name="Scripts").click()
            brand_yaml = page.locator('textarea[name="file:brand.yaml"]')
            original = await brand_yaml.input_value()
            good, bad = 'quiet_hours: "21:00-09:00"', 'quiet_hours: "25:00-09:00"'
            await brand_yaml.fill(original.replace(good, bad))
            await page.get_by_role("button", name="Publish as a new version").click()
            line = original.split("\n").index(good) + 1
            await expect(page.locator("#problems")).to_contain_text(
                f"brand.yaml:{line}:14: expected hours like 21:00-09:00"
            )
            marked = page.locator(f'[id="brand.yaml-{line}"]')
            await expect(marked).to_have_class("line bad")
            await expect(marked).to_contain_text(bad)
            await page.screenshot(path=shot("scripts-problem"))

            # Publish a fix, then roll back to the first version.
            fixed = original.replace("name: Stride & Carry", "name: Stride & Co")
            await page.locator('textarea[name="file:brand.yaml"]').fill(fixed)
            await page.get_by_role("button", name="Publish as a new version").click()
            await expect(page.locator("#published")).to_be_visible()
            await expect(page.locator("pre.diff")).to_contain_text("+name: Stride & Co")
            await page.screenshot(path=shot("version-diff"), full_page=True)
            await page.get_by_role("link", name="History").click()
            await page.get_by_role("button", name="Roll back to this").click()
            live = page.locator("#versions tr.active td").first
            await expect(live).to_have_text("#1")

            # Create a campaign: its deep link and QR code.
            await page.get_by_role("link", name="Campaigns").click()
            await page.fill("input[name=code]", "summer_popup")
            await page.fill("input[name=name]", "Summer pop-up store")
            await page.fill("input[name=tags]", "popup, summer")
            await page.get_by_role("button", name="Create and publish").click()
            await expect(page.locator("#deep-link")).to_have_text(
                "https://t.me/stride_bot?start=summer_popup"
            )
            loaded = await page.locator("img.qr").evaluate("image => image.naturalWidth")
            assert loaded > 0
            await page.screenshot(path=shot("campaign"), full_page=True)

            # The broadcasts page previews a message (screenshot only).
            await page.get_by_role("link", name="Broadcasts").click()
            await page.fill("input[name=name]", "Sneaker drop")
            await page.fill("textarea[name=condition]", "tag: sneaker_fan")
            await page.fill('textarea[name="text:en"]', "Hi {{ fan.first_name }}, new sneakers!")
            await page.fill('textarea[name="text:zh"]', "{{ fan.first_name }}，新款运动鞋！")
            await page.get_by_role("button", name="Preview").click()
            await expect(page.locator("#broadcast-preview")).to_be_visible()
            await page.screenshot(path=shot("broadcasts"), full_page=True)
        finally:
            await browser.close()

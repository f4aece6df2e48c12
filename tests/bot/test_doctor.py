"""`rapport doctor` reports each check and how to fix what fails."""

from bot.doctor import run_checks
from bot.settings import Settings
from sandbox.client import SandboxClient


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


async def test_without_a_staff_chat_doctor_says_how_to_set_one_up(settings: Settings) -> None:
    said: list[str] = []
    assert await run_checks(settings, said.append) == 0
    text = "\n".join(said)
    assert "staff chat: not set up" in text
    assert "turn on Topics" in text
    assert "RAPPORT_STAFF_CHAT_ID" in text


async def test_a_staff_chat_without_topics_or_rights_is_explained(
    settings: Settings, sandbox: SandboxClient
) -> None:
    plain = await sandbox.create_group("Support", is_forum=False, bot_status="administrator")
    forum = await sandbox.create_group("Support", bot_status="member")
    ready = await sandbox.create_group("Support", bot_status="administrator")
    verdicts = []
    for group in (plain, forum, ready):
        said: list[str] = []
        configured = settings.model_copy(update={"staff_chat_id": group["chat"]["id"]})
        verdicts.append((await run_checks(configured, said.append), said))
    assert verdicts[0][0] == 1
    assert any("turn on Topics" in line for line in verdicts[0][1])
    assert verdicts[1][0] == 1
    assert any(
        "not an admin with can_manage_topics, can_pin_messages" in line for line in verdicts[1][1]
    )
    assert verdicts[2][0] == 0
    assert any(line.startswith("staff chat: ok (Support") for line in verdicts[2][1])

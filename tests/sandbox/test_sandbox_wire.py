"""Raw HTTP: encodings, error shapes and method-name handling, without aiogram."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.client import SandboxClient


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_urlencoded_text_stays_a_string(
    http: aiohttp.ClientSession, sandbox_url: str, token: str, fan: int
) -> None:
    form = {
        "chat_id": str(fan),
        "text": "123",
        "reply_markup": json.dumps({"inline_keyboard": [[{"text": "1", "callback_data": "2"}]]}),
        "disable_notification": "true",
    }
    async with http.post(f"{sandbox_url}/bot{token}/sendMessage", data=form) as response:
        body = await response.json()
    assert response.status == 200
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "2"


async def test_json_body_and_query_string_and_case(
    http: aiohttp.ClientSession, sandbox_url: str, token: str, fan: int
) -> None:
    url = f"{sandbox_url}/bot{token}/SENDMESSAGE"
    async with http.post(url, json={"chat_id": fan, "text": "via json"}) as response:
        assert (await response.json())["result"]["text"] == "via json"
    async with http.get(
        f"{sandbox_url}/bot{token}/sendmessage", params={"chat_id": str(fan), "text": "q"}
    ) as response:
        assert (await response.json())["result"]["text"] == "q"


async def test_error_shapes(
    http: aiohttp.ClientSession, sandbox_url: str, token: str, sb: SandboxClient
) -> None:
    async with http.post(f"{sandbox_url}/bot{token}/noSuchMethod") as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
    async with http.post(f"{sandbox_url}/botnot-a-token/getMe") as response:
        assert response.status == 401
        assert (await response.json())["description"] == "Unauthorized"
    async with http.post(
        f"{sandbox_url}/bot{token}/sendMessage", data={"chat_id": "42", "text": "x"}
    ) as response:
        assert response.status == 400
        assert await response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: chat not found",
        }
    await sb.set_faults(storm_remaining=1, storm_retry_after=5)
    user = await sb.create_user()
    async with http.post(
        f"{sandbox_url}/bot{token}/sendMessage", data={"chat_id": str(user["id"]), "text": "x"}
    ) as response:
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 5",
            "parameters": {"retry_after": 5},
        }


async def test_tokens_are_isolated(
    http: aiohttp.ClientSession, sandbox_url: str, token: str, fan: int
) -> None:
    other = "777:" + "B" * 35
    async with http.post(
        f"{sandbox_url}/bot{other}/sendMessage", data={"chat_id": str(fan), "text": "x"}
    ) as response:
        assert response.status == 400  # that user only exists for the first bot


async def test_file_download_404(
    http: aiohttp.ClientSession, sandbox_url: str, token: str
) -> None:
    async with http.get(f"{sandbox_url}/file/bot{token}/photos/nothing.jpg") as response:
        assert response.status == 404


async def test_page_and_info(http: aiohttp.ClientSession, sandbox_url: str, token: str) -> None:
    async with http.get(sandbox_url + "/") as response:
        assert response.status == 200
        assert "Rapport sandbox" in await response.text()
    async with http.get(sandbox_url + "/static/app.js") as response:
        assert response.status == 200
    async with http.get(sandbox_url + "/sandbox/api/info") as response:
        assert (await response.json())["default_token"] == token


async def test_control_errors(sb: SandboxClient, fan: int) -> None:
    from sandbox.client import SandboxError

    with pytest.raises(SandboxError) as raised:
        await sb.send_text(424242, "who?")
    assert raised.value.status == 404
    with pytest.raises(SandboxError):
        await sb.create_user(user_id=fan)
    sent = await sb.send_text(fan, "x")
    with pytest.raises(SandboxError, match=r"bot message \d+ not found"):
        await sb.press_button(fan, sent.message_id, data="nope")


async def test_reset(sb: SandboxClient, fan: int) -> None:
    await sb.send_text(fan, "x")
    await sb.reset()
    assert await sb.list_users() == []
    assert (await sb.updates())["pending"] == 0

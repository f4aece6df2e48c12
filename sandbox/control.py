"""The control API under ``/sandbox/api``: drive the fan side and inspect what happened.

Everything is JSON.  Errors answer ``{"error": "..."}`` with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox import simulate
from sandbox.app_keys import SANDBOX_KEY
from sandbox.errors import ApiError
from sandbox.loop_watch import LOOP_WATCH_KEY
from sandbox.models import JSON
from sandbox.simulate import ControlError, Injected
from sandbox.world import BotWorld

PREFIX = "/sandbox/api"
MAX_WAIT = 60.0
_dumps = functools.partial(json.dumps, ensure_ascii=False)

BotHandler = Callable[[web.Request, BotWorld, JSON], Awaitable[Any]]


def reply(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=_dumps)


async def _body(request: web.Request) -> JSON:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def bot_route(handler: BotHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Resolve the bot of ``{token}``, parse the body, and map failures to JSON errors."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            bot = request.app[SANDBOX_KEY].bot(request.match_info["token"])
            return reply(await handler(request, bot, await _body(request)))
        except ControlError as error:
            return reply({"error": error.message}, status=error.status)
        except ApiError as error:
            return reply(
                {"error": error.description}, status=400 if error.code == 401 else error.code
            )
        except (ValueError, TypeError, KeyError) as error:
            return reply({"error": f"bad request: {error}"}, status=400)

    return wrapper


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None


def _query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None


def _query_float(request: web.Request, name: str, default: float) -> float:
    try:
        return min(float(request.query.get(name, default)), MAX_WAIT)
    except ValueError:
        raise ControlError(400, f"{name} must be a number") from None


def _optional_int(body: JSON, name: str) -> int | None:
    value = body.get(name)
    return None if value is None else int(value)


def _content(bot: BotWorld, body: JSON) -> JSON:
    """Message content from a control request: ``kind`` plus the fields of that kind."""
    kind = str(body.get("kind") or "text")
    if kind == "text":
        return simulate.text_content(str(body.get("text") or ""))
    fields = dict(body)
    if "data_base64" in fields:
        try:
            fields["data"] = base64.b64decode(str(fields.pop("data_base64")), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, "data_base64 is not valid base64") from None
    return simulate.media_content(bot, kind, fields)


# --- whole sandbox ----------------------------------------------------------------------


async def info(request: web.Request) -> web.StreamResponse:
    sandbox = request.app[SANDBOX_KEY]
    return reply(
        {
            "default_token": sandbox.default_token,
            "bots": [world.summary() for world in sandbox.bots.values()],
        }
    )


async def reset_all(request: web.Request) -> web.StreamResponse:
    await request.app[SANDBOX_KEY].reset()
    return reply({"ok": True})


# --- one bot ----------------------------------------------------------------------------


@bot_route
async def bot_info(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return {**bot.summary(), "me": bot.get_me(), "user_count": len(bot.users)}


@bot_route
async def bot_update(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    if body.get("first_name"):
        bot.first_name = str(body["first_name"])
    if body.get("username"):
        bot.username = str(body["username"])
    return bot.get_me()


async def reset_bot(request: web.Request) -> web.StreamResponse:
    await request.app[SANDBOX_KEY].reset(request.match_info["token"])
    return reply({"ok": True})


@bot_route
async def list_users(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return [user.to_control() for user in bot.users.values()]


@bot_route
async def create_user(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.create_user(bot, body).to_control()


@bot_route
async def get_user(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    user = simulate.get_user(bot, _int(request, "user_id"))
    return {**user.to_control(), "blocked": user.id in bot.blocked}


@bot_route
async def user_message(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    content = _content(bot, body)
    injected = simulate.fan_message(
        bot, _int(request, "user_id"), content, _optional_int(body, "reply_to_message_id")
    )
    return injected.to_json()


@bot_route
async def user_start(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    payload = str(body.get("payload") or "").strip()
    text = f"/start {payload}" if payload else "/start"
    return simulate.fan_message(
        bot, _int(request, "user_id"), simulate.text_content(text)
    ).to_json()


@bot_route
async def user_edit(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    user_id = _int(request, "user_id")
    chat_id = _optional_int(body, "chat_id") or user_id
    return simulate.edit_message(
        bot, chat_id, user_id, int(body["message_id"]), body.get("text"), body.get("caption")
    ).to_json()


@bot_route
async def user_press(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    injected = simulate.press_button(
        bot,
        _int(request, "user_id"),
        int(body["message_id"]),
        data=body.get("data"),
        text=body.get("text"),
        chat_id=_optional_int(body, "chat_id"),
    )
    return injected.to_json()


@bot_route
async def user_block(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.set_blocked(bot, _int(request, "user_id"), True).to_json()


@bot_route
async def user_unblock(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.set_blocked(bot, _int(request, "user_id"), False).to_json()


@bot_route
async def callback_answer(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    record = bot.callbacks.get(request.match_info["query_id"])
    if record is None:
        raise ControlError(404, "unknown callback query")
    return record.to_control()


# --- groups -----------------------------------------------------------------------------


def _group_json(bot: BotWorld, chat_id: int) -> JSON:
    state = simulate.chat_state(bot, chat_id)
    chat = bot.chats[chat_id]
    members = [
        {"user_id": m.user_id, "status": m.status, "rights": m.rights}
        for m in chat.members.values()
    ]
    return {**state, "members": members}


@bot_route
async def create_group(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    chat, updates = simulate.create_group(bot, body)
    return {**_group_json(bot, chat.id), "updates": updates}


@bot_route
async def get_group(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return _group_json(bot, _int(request, "chat_id"))


@bot_route
async def add_member(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    member = simulate.add_member(
        bot,
        _int(request, "chat_id"),
        int(body["user_id"]),
        str(body.get("status") or "member"),
        body.get("rights") or {},
    )
    return {"user_id": member.user_id, "status": member.status, "rights": member.rights}


@bot_route
async def set_bot_status(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    update = simulate.set_bot_status(
        bot,
        _int(request, "chat_id"),
        str(body.get("status") or "administrator"),
        body.get("rights") or {},
    )
    return {"update": update}


@bot_route
async def list_topics(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.chat_state(bot, _int(request, "chat_id"))["topics"]


@bot_route
async def create_topic(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.create_topic(
        bot,
        _int(request, "chat_id"),
        int(body["user_id"]),
        str(body.get("name") or ""),
        _optional_int(body, "icon_color"),
    )


@bot_route
async def group_message(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    injected: Injected = simulate.group_message(
        bot,
        _int(request, "chat_id"),
        int(body["user_id"]),
        _content(bot, body),
        thread_id=_optional_int(body, "message_thread_id"),
        reply_to_message_id=_optional_int(body, "reply_to_message_id"),
    )
    return injected.to_json()


@bot_route
async def group_edit(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.edit_message(
        bot,
        _int(request, "chat_id"),
        int(body["user_id"]),
        int(body["message_id"]),
        body.get("text"),
        body.get("caption"),
    ).to_json()


# --- reading ----------------------------------------------------------------------------


@bot_route
async def chat_messages(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    chat_id = _int(request, "chat_id")
    since_seq = _query_int(request, "since_seq", 0) or 0
    wait = _query_float(request, "wait", 0.0)
    if wait > 0:
        await simulate.wait_for_change(bot, since_seq, wait)
    messages = simulate.chat_log(bot, chat_id, _query_int(request, "thread_id"), since_seq)
    return {"messages": messages, **simulate.chat_state(bot, chat_id)}


@bot_route
async def chat_wait(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    messages, complete = await simulate.wait_for_bot_messages(
        bot,
        _int(request, "chat_id"),
        _query_int(request, "count", 1) or 1,
        _query_float(request, "timeout", 5.0),
        _query_int(request, "since_message_id", 0) or 0,
        _query_int(request, "thread_id"),
    )
    return {"messages": messages, "complete": complete}


@bot_route
async def chat_info(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return simulate.chat_state(bot, _int(request, "chat_id"))


@bot_route
async def updates(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    peek = _query_int(request, "peek", 0) or 0
    return {**bot.updates.counts(), "updates": bot.updates.peek(peek) if peek else []}


@bot_route
async def webhook(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    if bot.webhook is None:
        return {"url": "", "pending_update_count": len(bot.updates), "set": False}
    allowed = sorted(bot.updates.allowed) if bot.updates.allowed is not None else None
    return {
        **bot.webhook.info(len(bot.updates), allowed),
        "set": True,
        "secret_token": bot.webhook.secret_token,
        "deliveries": bot.stats.webhook_deliveries,
        "failures": bot.stats.webhook_failures,
    }


@bot_route
async def stats(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    # The sandbox's own stalls since these stats began: the 429s that follow one may be
    # the sandbox counting late, not the bot sending too fast (sandbox/loop_watch.py).
    watch = request.app.get(LOOP_WATCH_KEY)
    stalls = watch.since(bot.stats.started) if watch is not None else []
    return {**bot.stats.to_json(), "stalls": stalls}


@bot_route
async def reset_stats(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    bot.stats = type(bot.stats)()
    return bot.stats.to_json()


def _faults_json(bot: BotWorld) -> JSON:
    return {**bot.faults.config.to_json(), "blocked_user_ids": sorted(bot.blocked)}


@bot_route
async def get_faults(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    return _faults_json(bot)


@bot_route
async def set_faults(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    changes = dict(body)
    blocked = changes.pop("blocked_user_ids", None)
    bot.faults.configure(changes)
    if blocked is not None:
        # Silent blocking: no my_chat_member update, unlike the block action.
        bot.blocked = {int(user_id) for user_id in blocked}
        bot.touch()
    return _faults_json(bot)


@bot_route
async def reset_faults(request: web.Request, bot: BotWorld, body: JSON) -> Any:
    bot.faults.reset()
    return _faults_json(bot)


async def file_bytes(request: web.Request) -> web.StreamResponse:
    """A stored file by file_id, so the chat page can show real images."""
    try:
        bot = request.app[SANDBOX_KEY].bot(request.match_info["token"])
    except ApiError as error:
        return reply({"error": error.description}, status=400)
    stored = bot.files.get(request.match_info["file_id"])
    if stored is None or stored.data is None:
        return reply({"error": "no bytes stored for that file"}, status=404)
    return web.Response(body=stored.data, content_type=stored.mime_type)


def add_routes(app: web.Application) -> None:
    bot = PREFIX + "/bots/{token}"
    user = bot + "/users/{user_id}"
    group = bot + "/groups/{chat_id}"
    chat = bot + "/chats/{chat_id}"
    router = app.router
    router.add_get(PREFIX + "/info", info)
    router.add_post(PREFIX + "/reset", reset_all)
    router.add_get(bot, bot_info)
    router.add_patch(bot, bot_update)
    router.add_post(bot + "/reset", reset_bot)
    router.add_get(bot + "/users", list_users)
    router.add_post(bot + "/users", create_user)
    router.add_get(user, get_user)
    router.add_post(user + "/messages", user_message)
    router.add_post(user + "/start", user_start)
    router.add_post(user + "/edit", user_edit)
    router.add_post(user + "/press", user_press)
    router.add_post(user + "/block", user_block)
    router.add_post(user + "/unblock", user_unblock)
    router.add_get(bot + "/callbacks/{query_id}", callback_answer)
    router.add_get(bot + "/files/{file_id}", file_bytes)
    router.add_post(bot + "/groups", create_group)
    router.add_get(group, get_group)
    router.add_post(group + "/members", add_member)
    router.add_post(group + "/bot", set_bot_status)
    router.add_get(group + "/topics", list_topics)
    router.add_post(group + "/topics", create_topic)
    router.add_post(group + "/messages", group_message)
    router.add_post(group + "/edit", group_edit)
    router.add_get(chat, chat_info)
    router.add_get(chat + "/messages", chat_messages)
    router.add_get(chat + "/wait", chat_wait)
    router.add_get(bot + "/updates", updates)
    router.add_get(bot + "/webhook", webhook)
    router.add_get(bot + "/stats", stats)
    router.add_post(bot + "/stats/reset", reset_stats)
    router.add_get(bot + "/faults", get_faults)
    router.add_patch(bot + "/faults", set_faults)
    router.add_post(bot + "/faults/reset", reset_faults)

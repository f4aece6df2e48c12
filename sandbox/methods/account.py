"""The bot's own profile: getMe, logOut/close, commands, name and descriptions."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.errors import bad_request
from sandbox.methods.registry import method
from sandbox.params import Params
from sandbox.world import DEFAULT_BOT_NAME, BotWorld

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


@method("getMe")
async def get_me(bot: BotWorld, params: Params) -> Any:
    bot.got_me = True
    return bot.get_me()


@method("logOut")
async def log_out(bot: BotWorld, params: Params) -> Any:
    return True


@method("close")
async def close(bot: BotWorld, params: Params) -> Any:
    return True


def _commands_key(params: Params) -> str:
    scope = params.obj("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (params.text("language_code") or "")


@method("setMyCommands")
async def set_my_commands(bot: BotWorld, params: Params) -> Any:
    commands = params.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("command description must be non-empty")
    cleaned = [{"command": c["command"], "description": c["description"]} for c in commands]
    bot.commands[_commands_key(params)] = cleaned
    return True


@method("getMyCommands")
async def get_my_commands(bot: BotWorld, params: Params) -> Any:
    return bot.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(bot: BotWorld, params: Params) -> Any:
    bot.commands.pop(_commands_key(params), None)
    return True


@method("setMyName")
async def set_my_name(bot: BotWorld, params: Params) -> Any:
    name = params.text("name") or ""
    if len(name) > 64:
        raise bad_request("bot name is too long")
    language = params.text("language_code") or ""
    if language:
        bot.names[language] = name
    else:
        bot.first_name = name or DEFAULT_BOT_NAME
    return True


@method("getMyName")
async def get_my_name(bot: BotWorld, params: Params) -> Any:
    return {"name": bot.names.get(params.text("language_code") or "", bot.first_name)}


def _set_text(store: dict[str, str], params: Params, field: str, limit: int) -> bool:
    value = params.text(field) or ""
    if len(value) > limit:
        raise bad_request(f"{field} is too long")
    store[params.text("language_code") or ""] = value
    return True


def _get_text(store: dict[str, str], params: Params) -> str:
    return store.get(params.text("language_code") or "", store.get("", ""))


@method("setMyDescription")
async def set_my_description(bot: BotWorld, params: Params) -> Any:
    return _set_text(bot.descriptions, params, "description", 512)


@method("getMyDescription")
async def get_my_description(bot: BotWorld, params: Params) -> Any:
    return {"description": _get_text(bot.descriptions, params)}


@method("setMyShortDescription")
async def set_my_short_description(bot: BotWorld, params: Params) -> Any:
    return _set_text(bot.short_descriptions, params, "short_description", 120)


@method("getMyShortDescription")
async def get_my_short_description(bot: BotWorld, params: Params) -> Any:
    return {"short_description": _get_text(bot.short_descriptions, params)}

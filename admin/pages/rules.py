"""Rules: each rule of the live version with its trigger, enabled state, last firing and
firing count; enable or disable one (rules.yaml is edited and published as a new version,
comments kept); a dry run (who matches now, and when their send would land).
"""

import re

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from admin.auth import config_of, current
from admin.errors import RuleEditError
from admin.render import render
from scheduler.policy import fan_zone
from scheduler.rules.dry_run import dry_run
from storage.repositories import brand_versions, rule_firings

RULES_FILE = "rules.yaml"
DRY_RUN_SAMPLE = 20


async def rule_list(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        brand = await _active_brand(session)
        history = await rule_firings.summary(session)
    return render(
        request,
        "rules.html",
        rules=list(brand.rules.values()) if brand is not None else [],
        history=history,
        error=request.query.get("error"),
    )


async def toggle(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    name = request.match_info["name"]
    enable = (await request.post()).get("enabled") == "true"
    async with config.database.session() as session:
        version = await brand_versions.active(session)
    if version is None or RULES_FILE not in version.files:
        raise web.HTTPNotFound(text="the live version has no rules.yaml")
    files = dict(version.files)
    try:
        files[RULES_FILE] = with_rule_enabled(files[RULES_FILE], name, enabled=enable)
    except RuleEditError:
        raise web.HTTPNotFound(text=f"no rule '{name}' in rules.yaml") from None
    grant = current(request).grant
    author = f"console:{grant.user_id}" if grant.user_id is not None else "console"
    version_id, problems = await config.publish(files, author, config.clock())
    if version_id is None:
        message = "; ".join(str(problem) for problem in problems)
        raise web.HTTPSeeOther(f"{config.prefix}/rules?{_query(error=message)}")
    raise web.HTTPSeeOther(f"{config.prefix}/rules")


async def rule_dry_run(request: web.Request) -> web.Response:
    config = config_of(request)
    name = request.match_info["name"]
    now = config.clock()
    async with config.database.session() as session:
        brand = await _active_brand(session)
        rule = brand.rules.get(name) if brand is not None else None
        if brand is None or rule is None:
            raise web.HTTPNotFound(text=f"no rule '{name}' in the live version")
        result = await dry_run(session, brand, rule, now, DRY_RUN_SAMPLE)
    landings = [
        (
            landing,
            landing.lands_at.astimezone(fan_zone(landing.timezone, brand.settings))
            if landing.lands_at is not None
            else None,
        )
        for landing in result.sample
    ]
    return render(
        request, "rule_dry_run.html", rule=rule, result=result, landings=landings, now=now
    )


def with_rule_enabled(text: str, name: str, *, enabled: bool) -> str:
    """rules.yaml with `enabled:` of rule `name` set (added under the rule if missing)."""
    lines = text.split("\n")
    head = re.compile(rf"^(\s+){re.escape(name)}:\s*(#.*)?$")
    start = next((n for n, line in enumerate(lines) if head.match(line)), None)
    if start is None:
        raise RuleEditError(f"no rule '{name}'")
    indent = len(lines[start]) - len(lines[start].lstrip())
    child_indent = None
    value = "true" if enabled else "false"
    for n in range(start + 1, len(lines)):
        line = lines[n]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= indent:
            break
        child_indent = child_indent if child_indent is not None else depth
        if depth == child_indent and line.lstrip().startswith("enabled:"):
            lines[n] = " " * depth + f"enabled: {value}"
            return "\n".join(lines)
    lines.insert(start + 1, " " * (child_indent or indent + 2) + f"enabled: {value}")
    return "\n".join(lines)


async def _active_brand(session: AsyncSession) -> dialogs.CompiledBrand | None:
    version = await brand_versions.active(session)
    if version is None:
        return None
    return dialogs.compile_brand(dict(version.files), f"v{version.id}")


def _query(**values: str) -> str:
    from urllib.parse import urlencode

    return urlencode(values)

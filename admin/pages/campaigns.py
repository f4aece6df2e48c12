"""Campaigns: deep-link codes with their t.me link, QR code (SVG and PNG), tags, gift and
funnel. A new campaign is added to the brand's campaigns.yaml and published as a new
version, so the files stay the one place a brand is defined.
"""

import io
import json
import re

import yaml
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from admin.auth import config_of, current
from admin.errors import CampaignError
from admin.render import render
from storage import dashboard
from storage.lifecycle import DEEP_LINK_PAYLOAD
from storage.repositories import brand_versions

CAMPAIGNS_FILE = "campaigns.yaml"
QR_SCALE = {"svg": 8, "png": 10}


async def campaign_list(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        funnel = await dashboard.origin_funnel(session)
        brand = await _active_brand(session)
    return render(
        request,
        "campaigns.html",
        funnel=funnel,
        campaigns=brand.campaigns if brand is not None else {},
        languages=brand.settings.languages if brand is not None else (),
        username=await config.bot_username(),
        error=None,
        form={},
    )


async def create(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    form = {key: str(value).strip() for key, value in (await request.post()).items()}
    try:
        async with config.database.session() as session:
            version = await brand_versions.active(session)
        if version is None:
            raise CampaignError("no brand version is active: import one first")
        files = dict(version.files)
        files[CAMPAIGNS_FILE] = with_campaign(files.get(CAMPAIGNS_FILE, ""), form)
        author = f"console:{current(request).grant.user_id or 'operator'}"
        version_id, problems = await config.publish(files, author, config.clock())
        if version_id is None:
            raise CampaignError("; ".join(str(problem) for problem in problems))
    except CampaignError as error:
        async with config.database.session() as session:
            funnel = await dashboard.origin_funnel(session)
            brand = await _active_brand(session)
        return render(
            request,
            "campaigns.html",
            status=422,
            funnel=funnel,
            campaigns=brand.campaigns if brand is not None else {},
            languages=brand.settings.languages if brand is not None else (),
            username=await config.bot_username(),
            error=str(error),
            form=form,
        )
    raise web.HTTPSeeOther(f"{config.prefix}/campaigns/{form['code']}")


async def campaign_page(request: web.Request) -> web.Response:
    config = config_of(request)
    code = request.match_info["code"]
    async with config.database.session() as session:
        brand = await _active_brand(session)
        funnel = await dashboard.origin_funnel(session, code)
    campaign = brand.campaigns.get(code) if brand is not None else None
    if campaign is None and not funnel:
        raise web.HTTPNotFound(text="no such campaign")
    username = await config.bot_username()
    return render(
        request,
        "campaign.html",
        code=code,
        campaign=campaign,
        funnel=funnel[0] if funnel else None,
        link=deep_link(username, code),
    )


async def qr_code(request: web.Request) -> web.Response:
    config = config_of(request)
    code, kind = request.match_info["code"], request.match_info["kind"]
    if kind not in QR_SCALE or not DEEP_LINK_PAYLOAD.fullmatch(code):
        raise web.HTTPNotFound()
    link = deep_link(await config.bot_username(), code)
    if link is None:
        raise web.HTTPNotFound(text="the bot's username is unknown (no RAPPORT_BOT_TOKEN)")
    buffer = io.BytesIO()
    import segno  # only when a QR code is asked for: the idle bot never loads it

    segno.make(link, error="m").save(buffer, kind=kind, scale=QR_SCALE[kind], border=2)
    return web.Response(
        body=buffer.getvalue(),
        content_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={"Content-Disposition": f'inline; filename="{code}.{kind}"'},
    )


def deep_link(username: str | None, code: str) -> str | None:
    return f"https://t.me/{username}?start={code}" if username else None


def with_campaign(text: str, form: dict[str, str]) -> str:
    """campaigns.yaml with one more campaign appended (comments and layout kept)."""
    code = form.get("code", "")
    if not DEEP_LINK_PAYLOAD.fullmatch(code):
        raise CampaignError("a code is 1-64 characters of A-Z, a-z, 0-9, _ and -")
    if code in _codes(text):
        raise CampaignError(f"campaign '{code}' exists already")
    name = form.get("name") or code
    tags = [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()]
    if not text.strip():
        text = "campaigns:\n"
    indent = _indent(text)
    lines = [f"{indent}{code}:", f"{indent * 2}name: {json.dumps(name, ensure_ascii=False)}"]
    if tags:
        lines.append(f"{indent * 2}tags: {json.dumps(tags, ensure_ascii=False)}")
    if form.get("gift_code"):
        gift_name = form.get("gift_name") or form["gift_code"]
        lines += [
            f"{indent * 2}gift:",
            f"{indent * 3}code: {json.dumps(form['gift_code'], ensure_ascii=False)}",
            f"{indent * 3}name:",
            *(
                f"{indent * 4}{language}: {json.dumps(gift_name, ensure_ascii=False)}"
                for language in form.get("languages", "").split(",")
                if language
            ),
        ]
    return text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"


def _codes(text: str) -> set[str]:
    """The campaign codes campaigns.yaml defines (none if it cannot be read)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return set()
    campaigns = data.get("campaigns") if isinstance(data, dict) else None
    return {str(code) for code in campaigns} if isinstance(campaigns, dict) else set()


def _indent(text: str) -> str:
    """The indentation of the campaign codes under `campaigns:` (two spaces if none yet)."""
    match = re.search(r"^campaigns:\s*\n(?:\s*#.*\n|\s*\n)*( +)\S", text, flags=re.MULTILINE)
    return match.group(1) if match else "  "


async def _active_brand(session: AsyncSession) -> dialogs.CompiledBrand | None:
    version = await brand_versions.active(session)
    if version is None:
        return None
    return dialogs.compile_brand(dict(version.files), f"v{version.id}")

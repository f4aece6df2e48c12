"""Broadcasts: a condition and a message -> how many fans and a rendered sample -> schedule
-> progress and delivery stats (the page refreshes itself while rows are still pending).

The service (scheduler/broadcasts.py) checks, renders and queues; this page only asks.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from aiohttp import web

import dialogs
from admin.auth import config_of, current
from admin.render import render
from scheduler import broadcasts
from scheduler.broadcasts import BroadcastDraft, BroadcastError, InvalidBroadcastError
from storage.repositories import brand_versions

NO_PURPOSE = "none"


@dataclass(frozen=True)
class DraftForm:
    name: str
    condition: str
    texts: dict[str, str]
    purpose: str
    send_at: str  # datetime-local, UTC; empty: now

    @classmethod
    def from_form(cls, form: Any, languages: tuple[str, ...]) -> "DraftForm":
        def field(name: str) -> str:
            value = form.get(name, "")
            return value.strip() if isinstance(value, str) else ""

        texts = {language: field(f"text:{language}") for language in languages}
        return cls(
            name=field("name"),
            condition=field("condition"),
            texts={language: text for language, text in texts.items() if text},
            purpose=field("purpose") or "offers",
            send_at=field("send_at"),
        )

    def draft(self, author: str) -> BroadcastDraft:
        """The service's draft; ValueError says what in the form cannot be read."""
        try:
            condition = yaml.safe_load(self.condition) if self.condition else None
        except yaml.YAMLError as error:
            raise ValueError(f"condition: not valid YAML: {error}") from None
        scheduled = None
        if self.send_at:
            try:
                scheduled = datetime.fromisoformat(self.send_at).replace(tzinfo=UTC)
            except ValueError:
                raise ValueError("send at: not a date and time") from None
        return BroadcastDraft(
            name=self.name,
            condition=condition,
            texts=self.texts,
            purpose=None if self.purpose == NO_PURPOSE else self.purpose,
            scheduled_at=scheduled,
            created_by=author,
        )


async def broadcast_list(request: web.Request) -> web.Response:
    return await _list_page(request, None, None, [])


async def preview(request: web.Request) -> web.Response:
    """Count and sample for the draft in the form; nothing is stored."""
    config = config_of(request)
    brand = await _brand(request)
    form = DraftForm.from_form(await request.post(), brand.settings.languages)
    try:
        draft = form.draft(_author(request))
        async with config.database.session() as session:
            result = await broadcasts.preview(session, brand, draft, config.clock())
    except InvalidBroadcastError as error:
        return await _list_page(request, form, None, error.problems, status=422)
    except ValueError as error:
        return await _list_page(request, form, None, [str(error)], status=422)
    return await _list_page(request, form, result, [])


async def schedule(request: web.Request) -> web.StreamResponse:
    """Store the draft and queue it for its audience, in one transaction."""
    config = config_of(request)
    brand = await _brand(request)
    form = DraftForm.from_form(await request.post(), brand.settings.languages)
    now = config.clock()
    try:
        draft = form.draft(_author(request))
        async with config.database.session() as session:
            broadcast = await broadcasts.create(session, brand, draft, now)
            await broadcasts.schedule(session, broadcast.id, now)
            await session.commit()
    except InvalidBroadcastError as error:
        return await _list_page(request, form, None, error.problems, status=422)
    except ValueError as error:
        return await _list_page(request, form, None, [str(error)], status=422)
    raise web.HTTPSeeOther(f"{config.prefix}/broadcasts/{broadcast.id}")


async def broadcast_page(request: web.Request) -> web.Response:
    config = config_of(request)
    broadcast_id = _broadcast_id(request)
    try:
        async with config.database.session() as session:
            broadcast = await broadcasts.get(session, broadcast_id)
            stats = await broadcasts.stats(session, broadcast_id)
    except BroadcastError:
        raise web.HTTPNotFound(text="no such broadcast") from None
    condition = yaml.safe_dump(broadcast.condition, allow_unicode=True, sort_keys=False)
    return render(
        request,
        "broadcast.html",
        broadcast=broadcast,
        stats=stats,
        condition=condition,
        live=stats.pending + stats.sending > 0,
    )


async def cancel(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    broadcast_id = _broadcast_id(request)
    try:
        async with config.database.session() as session:
            await broadcasts.cancel(session, broadcast_id)
            await session.commit()
    except BroadcastError:
        raise web.HTTPNotFound(text="no such broadcast") from None
    raise web.HTTPSeeOther(f"{config.prefix}/broadcasts/{broadcast_id}")


async def _list_page(
    request: web.Request,
    form: DraftForm | None,
    result: broadcasts.Preview | None,
    problems: list[str],
    status: int = 200,
) -> web.Response:
    config = config_of(request)
    brand = await _brand(request)
    async with config.database.session() as session:
        recent = await broadcasts.list_recent(session)
        stats = {b.id: await broadcasts.stats(session, b.id) for b in recent}
    return render(
        request,
        "broadcasts.html",
        status=status,
        recent=recent,
        stats=stats,
        form=form,
        result=result,
        problems=problems,
        languages=brand.settings.languages,
        purposes=[*brand.settings.consent, NO_PURPOSE],
    )


async def _brand(request: web.Request) -> dialogs.CompiledBrand:
    config = config_of(request)
    async with config.database.session() as session:
        version = await brand_versions.active(session)
    if version is None:
        raise web.HTTPConflict(text="no brand version is active: import one first")
    return dialogs.compile_brand(dict(version.files), f"v{version.id}")


def _author(request: web.Request) -> str:
    grant = current(request).grant
    return f"console:{grant.user_id}" if grant.user_id is not None else "console"


def _broadcast_id(request: web.Request) -> int:
    try:
        return int(request.match_info["broadcast_id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such broadcast") from None

"""Fans: the list with its filters and CSV export, one fan's page, and staff actions."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import yaml
from aiohttp import web
from sqlalchemy import false

from admin.auth import config_of, current
from admin.render import render
from dialogs.conditions import Condition, ConditionError, condition_to_data, parse_condition
from storage import lifecycle, segments, takeover
from storage.models import Fan, FanStatus, TagSource
from storage.repositories import events, fan_search, fans, fields, origins, outbox, tags
from storage.repositories.fan_search import FanFilter

PAGE_SIZE = 50
CSV_BATCH = 500
TAG_MAX = 64


BUILDER_FIELDS = ("status", "tag", "origin", "said", "within", "joined_within", "language")
FORM_FIELDS = (*BUILDER_FIELDS, "condition", "q")
DEFAULT_SAID_WINDOW = 30  # days


@dataclass(frozen=True)
class ListForm:
    """The filter form as the editor filled it in (shown back, and kept in links).

    The builder's fields and the raw condition (YAML) make one condition of the condition
    language, compiled to SQL by storage.segments; `q` searches names besides.
    """

    status: str = ""
    tag: str = ""
    origin: str = ""
    said: str = ""  # keywords, comma-separated
    within: str = ""  # days, for `said`
    joined_within: str = ""  # days
    language: str = ""
    condition: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query: Any) -> "ListForm":
        return cls(**{name: query.get(name, "").strip() for name in FORM_FIELDS})

    def condition_data(self) -> Any:
        """The condition as plain data (None: no condition); ValueError for bad raw YAML."""
        parts: list[Any] = []
        if self.status:
            parts.append({"status": self.status})
        if self.tag:
            parts.append({"tag": self.tag})
        if self.origin:
            parts.append({"origin": self.origin})
        if self.said:
            words = [word.strip() for word in self.said.split(",") if word.strip()]
            days = self.within if self.within.isdigit() else str(DEFAULT_SAID_WINDOW)
            parts.append({"said": words, "within": f"{days}d"})
        if self.joined_within:
            parts.append({"joined_within": f"{self.joined_within}d"})
        if self.language:
            parts.append({"language": self.language})
        if self.condition:
            try:
                parts.append(yaml.safe_load(self.condition))
            except yaml.YAMLError as error:
                raise ValueError(f"the condition is not valid YAML: {error}") from None
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"all": parts}

    def query_string(self) -> str:
        return urlencode({name: value for name, value in vars(self).items() if value})


@dataclass(frozen=True)
class Search:
    fan_filter: FanFilter
    condition: Condition | None
    error: str | None


def search_of(form: ListForm, now: datetime) -> Search:
    """The form as a fan filter; a wrong condition matches nobody and says why."""
    try:
        data = form.condition_data()
        condition = None if data is None else parse_condition(data)
    except (ValueError, ConditionError) as error:
        return Search(FanFilter(where=false()), None, str(error))
    where = None if condition is None else segments.fan_filter(condition, now)
    return Search(FanFilter(text=form.q or None, where=where), condition, None)


async def fan_list(request: web.Request) -> web.Response:
    config = config_of(request)
    form = ListForm.from_query(request.query)
    offset = _int(request.query.get("offset"), 0)
    search = search_of(form, config.clock())
    async with config.database.session() as session:
        total = await fan_search.count(session, search.fan_filter)
        rows = await fan_search.page(session, search.fan_filter, limit=PAGE_SIZE, offset=offset)
    built = (
        yaml.safe_dump(condition_to_data(search.condition), allow_unicode=True, sort_keys=False)
        if search.condition is not None
        else ""
    )
    return render(
        request,
        "fans.html",
        form=form,
        fans=rows,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        statuses=[s.value for s in FanStatus],
        built=built,
        error=search.error,
    )


async def fan_csv(request: web.Request) -> web.StreamResponse:
    """Stream every matching fan as CSV, one short query per batch (never one long session)."""
    config = config_of(request)
    search = search_of(ListForm.from_query(request.query), config.clock()).fan_filter
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="fans.csv"',
        }
    )
    await response.prepare(request)
    await response.write(_csv_line(fan_search.CSV_COLUMNS))
    after = 0
    while True:
        async with config.database.session() as session:
            rows = await fan_search.csv_batch(session, search, after_id=after, limit=CSV_BATCH)
        if not rows:
            break
        await response.write(b"".join(_csv_line(_csv_values(row)) for row in rows))
        after = int(rows[-1][0])
    await response.write_eof()
    return response


async def fan_page(request: web.Request) -> web.Response:
    config = config_of(request)
    fan_id = _fan_id(request)
    async with config.database.session() as session:
        fan = await fans.get(session, fan_id)
        if fan is None:
            raise web.HTTPNotFound(text="no such fan")
        page: dict[str, Any] = {
            "fan": fan,
            "fields": sorted((await fields.of_fan(session, fan_id)).values(), key=_by_name),
            "tags": await tags.of_fan(session, fan_id),
            "touches": await origins.touches_of(session, fan_id),
            "consents": await fan_search.consents_of(session, fan_id),
            "timeline": await events.timeline(session, fan_id, limit=200),
            "pending": await outbox.pending_of(session, fan_id),
            "handoffs": await fan_search.handoffs_of(session, fan_id),
            "open_handoff": await takeover.open_handoff(session, fan_id),
        }
    return render(request, "fan.html", **page)


async def add_tag(request: web.Request) -> web.StreamResponse:
    name = await _tag_field(request)

    async def act(session: Any, fan: Fan, now: datetime) -> None:
        await tags.add(session, fan.id, name, TagSource.STAFF, now, detail=_who(request))

    return await _act(request, act)


async def remove_tag(request: web.Request) -> web.StreamResponse:
    name = await _tag_field(request)

    async def act(session: Any, fan: Fan, _now: datetime) -> None:
        await tags.remove(session, fan.id, name)

    return await _act(request, act)


async def opt_out(request: web.Request) -> web.StreamResponse:
    async def act(session: Any, fan: Fan, now: datetime) -> None:
        await lifecycle.opt_out(session, fan, now, via=f"console:{_who(request)}")

    return await _act(request, act)


async def take_over(request: web.Request) -> web.StreamResponse:
    async def act(session: Any, fan: Fan, now: datetime) -> None:
        await takeover.take_over(session, fan, current(request).grant.user_id, now)

    return await _act(request, act)


async def hand_back(request: web.Request) -> web.StreamResponse:
    async def act(session: Any, fan: Fan, now: datetime) -> None:
        await takeover.hand_back(session, fan, now)

    return await _act(request, act)


async def _act(request: web.Request, act: Any) -> web.StreamResponse:
    """One staff action on one fan in one transaction, then back to the fan's page."""
    config = config_of(request)
    fan_id = _fan_id(request)
    async with config.database.session() as session:
        fan = await fans.get(session, fan_id)
        if fan is None:
            raise web.HTTPNotFound(text="no such fan")
        if fan.status == FanStatus.FORGOTTEN:
            raise web.HTTPConflict(text="this fan asked to be forgotten")
        await act(session, fan, config.clock())
        await session.commit()
    raise web.HTTPSeeOther(f"{config.prefix}/fans/{fan_id}")


async def _tag_field(request: web.Request) -> str:
    value = (await request.post()).get("tag")
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > TAG_MAX:
        raise web.HTTPBadRequest(text=f"a tag is 1 to {TAG_MAX} characters")
    return name


def _who(request: web.Request) -> str:
    grant = current(request).grant
    return f"{grant.role}:{grant.user_id}" if grant.user_id is not None else str(grant.role)


def _fan_id(request: web.Request) -> int:
    try:
        return int(request.match_info["fan_id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such fan") from None


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def _by_name(field: Any) -> str:
    return str(field.name)


def _csv_values(row: Any) -> list[str]:
    return [
        value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)
        for value in row
    ]


def _csv_line(values: Any) -> bytes:
    buffer = io.StringIO()
    # Cells starting with = + - @ are prefixed so a spreadsheet does not run them as formulas.
    csv.writer(buffer).writerow(
        [f"'{value}" if str(value)[:1] in ("=", "+", "-", "@") else value for value in values]
    )
    return buffer.getvalue().encode()

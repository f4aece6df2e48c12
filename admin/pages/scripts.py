"""Scripts: edit the brand's files, see problems at their lines, preview a step for a fan,
publish as a new version, and look back through versions with a diff and a rollback.
"""

import difflib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

import dialogs
from admin.auth import config_of, current
from admin.preview import StepPreview, preview_step
from admin.render import render
from dialogs import Problem
from storage.models import BrandVersion
from storage.repositories import brand_versions

FILE_FIELD = "file:"
CONTEXT_LINES = 2  # shown around a problem's line


@dataclass(frozen=True)
class EditedFile:
    name: str
    text: str
    problems: list[Problem]

    @property
    def excerpt(self) -> list[tuple[int, str, list[Problem]]]:
        """The lines around each problem, numbered, with the problems found on each line."""
        at: dict[int, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            at[problem.line].append(problem)
        near = {n for line in at for n in range(line - CONTEXT_LINES, line + CONTEXT_LINES + 1)}
        return [
            (number, line, at.get(number, []))
            for number, line in enumerate(self.text.split("\n"), start=1)
            if number in near
        ]


async def editor(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        version = await brand_versions.active(session)
    files = dict(version.files) if version is not None else {}
    return _editor_page(request, version, files, [], checked=False)


async def submit(request: web.Request) -> web.Response:
    """Check the edited files, or publish them as a new active version if they have no problem."""
    config = config_of(request)
    form = await request.post()
    files = {
        name.removeprefix(FILE_FIELD): _unix_newlines(str(value))
        for name, value in form.items()
        if name.startswith(FILE_FIELD)
    }
    if not files:
        raise web.HTTPBadRequest(text="no files in the form")
    async with config.database.session() as session:
        version = await brand_versions.active(session)
    if form.get("action") != "publish":
        problems = dialogs.check_brand(files)
        return _editor_page(request, version, files, problems, checked=True)
    version_id, problems = await config.publish(files, _author(request), config.clock())
    if version_id is None:
        return _editor_page(request, version, files, problems, checked=True, status=422)
    raise web.HTTPSeeOther(f"{config.prefix}/scripts/versions/{version_id}?published=1")


async def preview(request: web.Request) -> web.Response:
    config = config_of(request)
    step = request.query.get("step", "").strip()
    language = request.query.get("language", "").strip() or None
    fan_id = request.query.get("fan", "").strip()
    async with config.database.session() as session:
        version = await brand_versions.active(session)
        if version is None:
            raise web.HTTPNotFound(text="no brand version is active")
        brand = dialogs.compile_brand(dict(version.files), f"v{version.id}")
        result: StepPreview | None = None
        if step:
            result = await preview_step(
                session,
                brand,
                step,
                fan_id=int(fan_id) if fan_id.isdigit() else None,
                language=language,
                now=config.clock(),
            )
    return render(
        request,
        "preview.html",
        version=version,
        steps=sorted(brand.steps),
        languages=brand.settings.languages,
        step=step,
        language=language or "",
        fan_id=fan_id,
        result=result,
    )


async def history(request: web.Request) -> web.Response:
    config = config_of(request)
    async with config.database.session() as session:
        versions = await brand_versions.history(session, limit=200)
    return render(request, "history.html", versions=versions)


async def version_page(request: web.Request) -> web.Response:
    """One version, with what changed since the version before it."""
    config = config_of(request)
    version_id = _version_id(request)
    async with config.database.session() as session:
        versions = await brand_versions.history(session, limit=10_000)
    by_id = {version.id: version for version in versions}
    version = by_id.get(version_id)
    if version is None:
        raise web.HTTPNotFound(text="no such version")
    older = [v for v in versions if v.id < version_id]
    previous = older[0] if older else None
    return render(
        request,
        "version.html",
        version=version,
        previous=previous,
        diff=_diff(previous, version),
        published=request.query.get("published") == "1",
    )


async def activate(request: web.Request) -> web.StreamResponse:
    config = config_of(request)
    version_id = _version_id(request)
    try:
        await config.activate(version_id, config.clock())
    except LookupError:
        raise web.HTTPNotFound(text="no such version") from None
    raise web.HTTPSeeOther(f"{config.prefix}/scripts/history")


def _editor_page(
    request: web.Request,
    version: BrandVersion | None,
    files: dict[str, str],
    problems: list[Problem],
    *,
    checked: bool,
    status: int = 200,
) -> web.Response:
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_file[problem.file].append(problem)
    edited = [EditedFile(name, files[name], by_file.get(name, [])) for name in sorted(files)]
    # Problems in files that are not in the form (a file the brand lacks, say).
    elsewhere = [p for p in problems if p.file not in files]
    return render(
        request,
        "scripts.html",
        version=version,
        files=edited,
        problems=sorted(problems),
        elsewhere=elsewhere,
        checked=checked,
        status=status,
    )


def _diff(previous: BrandVersion | None, version: BrandVersion) -> list[tuple[str, list[Any]]]:
    """Per changed file, its unified diff lines with a kind each (add, del, hunk, same)."""
    before = dict(previous.files) if previous is not None else {}
    after = dict(version.files)
    changed = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, ""), after.get(name, "")
        if old == new:
            continue
        lines = difflib.unified_diff(
            old.splitlines(), new.splitlines(), f"a/{name}", f"b/{name}", lineterm="", n=2
        )
        changed.append((name, [(_kind(line), line) for line in lines]))
    return changed


def _kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")


def _author(request: web.Request) -> str:
    grant = current(request).grant
    return f"console:{grant.user_id}" if grant.user_id is not None else "console"


def _version_id(request: web.Request) -> int:
    try:
        return int(request.match_info["version_id"])
    except ValueError:
        raise web.HTTPNotFound(text="no such version") from None


def _unix_newlines(text: str) -> str:
    # Browsers send textarea contents with CRLF line ends.
    return text.replace("\r\n", "\n")

"""Broadcasts from the console: preview count and rendered sample, schedule, progress,
cancel; a wrong condition or template is reported and nothing is queued."""

from sqlalchemy import func, select

from storage.models import ConsoleRole, OutboxMessage, TagSource
from storage.repositories import consents, tags
from tests.admin.conftest import Console
from tests.factories import NOW, make_fan

FORM = {
    "name": "Autumn boots",
    "condition": "tag: boots",
    "text:en": "Hi {{ fan.first_name }}, new boots are in!",
    "text:zh": "{{ fan.first_name }}，新靴子到了！",
    "purpose": "offers",
}


async def _audience(console: Console) -> None:
    async with console.database.session() as session:
        for name, consent in (("Ana", True), ("Bo", True), ("Cy", False)):
            fan = await make_fan(session, first_name=name)
            await tags.add(session, fan.id, "boots", TagSource.STAFF, NOW)
            await consents.record(session, fan.id, "offers", granted=consent, proof={}, now=NOW)
        await make_fan(session, first_name="NoTag")
        await session.commit()


async def _outbox_rows(console: Console) -> int:
    async with console.database.session() as session:
        query = select(func.count()).select_from(OutboxMessage)
        return int((await session.execute(query)).scalar_one())


async def test_preview_then_schedule_then_follow_and_cancel(console: Console) -> None:
    await _audience(console)
    admin = await console.client()
    await admin.page("/broadcasts")
    status, _, page = await admin.submit("/broadcasts/preview", FORM)
    assert status == 200
    assert 'id="preview-count">2<' in page  # Cy gave no consent for offers
    assert "Hi Ana, new boots are in!" in page
    assert await _outbox_rows(console) == 0
    status, path, page = await admin.submit("/broadcasts", FORM)
    assert status == 200
    assert path == "/console/broadcasts/1"
    assert 'id="stat-pending">2<' in page
    assert 'http-equiv="refresh"' in page  # live progress while rows wait
    assert await _outbox_rows(console) == 2
    listing = await admin.page("/broadcasts")
    assert "Autumn boots" in listing
    _, _, page = await admin.submit("/broadcasts/1/cancel")
    assert 'id="stat-pending">0<' in page
    assert "broadcast cancelled" in page
    assert 'http-equiv="refresh"' not in page


async def test_a_wrong_condition_or_template_is_reported_and_nothing_queued(
    console: Console,
) -> None:
    await _audience(console)
    admin = await console.client()
    await admin.page("/broadcasts")
    bad = {**FORM, "condition": "tagg: boots", "text:en": "Hi {{ fan.nope( }}"}
    status, _, page = await admin.submit("/broadcasts", bad)
    assert status == 422
    assert "condition:" in page
    assert "text." in page
    status, _, page = await admin.submit("/broadcasts/preview", {**FORM, "condition": "[oops"})
    assert status == 422
    assert "not valid YAML" in page
    assert await _outbox_rows(console) == 0


async def test_staff_cannot_reach_broadcasts(console: Console) -> None:
    staff = await console.client(ConsoleRole.STAFF)
    response = await staff.http.get("/console/broadcasts", allow_redirects=False)
    assert response.status == 403

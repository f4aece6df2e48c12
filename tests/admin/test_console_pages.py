"""The console's pages and actions: fans, a fan's page and staff actions, CSV export,
scripts (check, publish, preview, history, rollback), campaigns and their QR codes, and
fan-supplied text shown as text everywhere."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from storage import lifecycle
from storage.models import (
    BrandVersion,
    ConsoleRole,
    Event,
    FanStatus,
    Handoff,
    HandoffState,
    TagSource,
)
from storage.repositories import (
    brand_versions,
    consents,
    events,
    fans,
    fields,
    keywords,
    tags,
)
from storage.repositories.fans import TelegramIdentity
from tests.admin.conftest import Console
from tests.factories import NOW, make_fan

HOSTILE_FIRST = "{{7*7}}"
HOSTILE_LAST = "<script>alert(1)</script>"
HOSTILE_TEXT = "{% raw %}{{ 6*7 }}<img src=x onerror=alert(2)>"


async def _hostile_fan(console: Console) -> int:
    async with console.database.session() as session:
        fan, _ = await fans.load_or_create(
            session,
            TelegramIdentity(
                user_id=777, first_name=HOSTILE_FIRST, last_name=HOSTILE_LAST, username="x_y"
            ),
            777,
            NOW,
        )
        await lifecycle.start(session, fan, "spring_gift", NOW)
        await tags.add(session, fan.id, "<b>bold</b>", TagSource.STAFF, NOW)
        await fields.set_value(
            session, fan.id, "city", HOSTILE_LAST, category="registration", source="t", now=NOW
        )
        await events.record(
            session, fan.id, "message_in", NOW, content_kind="text", text=HOSTILE_TEXT
        )
        session.add(Handoff(fan_id=fan.id, reason=HOSTILE_LAST, opened_at=NOW))
        await consents.record(session, fan.id, "offers", granted=True, proof={}, now=NOW)
        await keywords.record_hits(session, fan.id, ["buy", "handbag"], NOW)
        await session.commit()
        return fan.id


def _assert_shown_as_text(page: str) -> None:
    assert "<script>" not in page
    assert "<img src=x" not in page
    assert "<b>bold" not in page
    # Escaped, and never evaluated: the template-looking text stays as typed.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_fan_named_like_a_template_or_a_script_is_shown_as_text(
    console: Console,
) -> None:
    fan_id = await _hostile_fan(console)
    admin = await console.client()
    for path in ("/fans", f"/fans/{fan_id}", "/inbox", "/fans?q=7*7"):
        page = await admin.page(path)
        assert HOSTILE_FIRST in page, path
        assert ">49" not in page, path
        _assert_shown_as_text(page)
    fan_page = await admin.page(f"/fans/{fan_id}")
    assert "&lt;b&gt;bold&lt;/b&gt;" in fan_page
    assert "{{ 6*7 }}&lt;img" in fan_page
    dashboard = await admin.page("/")
    _assert_shown_as_text(dashboard)  # the city panel shows the hostile value
    assert "&lt;script&gt;" in dashboard


async def test_a_preview_renders_the_fans_name_through_the_sandbox_as_text(
    console: Console,
) -> None:
    fan_id = await _hostile_fan(console)
    admin = await console.client()
    page = await admin.page(f"/scripts/preview?step=onboarding.welcome&fan={fan_id}&language=en")
    bubble = page[page.index('class="bubble"') :]
    assert HOSTILE_FIRST in bubble
    assert "49" not in bubble
    assert "<script>" not in page


async def test_broadcast_samples_and_rule_dry_runs_show_a_hostile_name_as_text(
    console: Console,
) -> None:
    await _hostile_fan(console)
    admin = await console.client()
    await admin.page("/broadcasts")
    form = {
        "name": "x",
        "condition": "tag: '<b>bold</b>'",
        "text:en": "Hi {{ fan.first_name }}!",
        "text:zh": "Hi {{ fan.first_name }}!",
        "purpose": "offers",
    }
    status, _, page = await admin.submit("/broadcasts/preview", form)
    assert status == 200
    assert 'id="preview-count">1<' in page
    assert f"Hi {HOSTILE_FIRST}!" in page
    assert "Hi 49" not in page
    assert "<script>" not in page
    dry_run = await admin.page("/rules/handbag_offer/dry-run")
    assert 'id="dry-run-count">1<' in dry_run
    _assert_shown_as_text(dry_run)


async def test_the_fan_list_filters_and_counts(console: Console) -> None:
    async with console.database.session() as session:
        for n in range(3):
            fan = await make_fan(session, first_name=f"Mia{n}")
            await lifecycle.start(session, fan, "spring_gift" if n < 2 else None, NOW)
        other = await make_fan(session, first_name="Leo")
        await tags.add(session, other.id, "vip", TagSource.STAFF, NOW)
        await lifecycle.opt_out(session, other, NOW, via="test")
        await session.commit()
    staff = await console.client(ConsoleRole.STAFF)
    assert 'id="fan-count">4<' in await staff.page("/fans")
    assert 'id="fan-count">2<' in await staff.page("/fans?origin=spring_gift")
    page = await staff.page("/fans?tag=vip&status=opted_out")
    assert 'id="fan-count">1<' in page
    assert "Leo" in page
    assert "Mia0" not in page
    assert 'id="fan-count">3<' in await staff.page("/fans?q=mia")


async def test_find_fans_by_condition_built_by_the_form_and_raw(console: Console) -> None:
    async with console.database.session() as session:
        buyer = await make_fan(session, first_name="Buyer")
        await keywords.record_hits(session, buyer.id, ["buy", "handbag"], NOW - timedelta(days=2))
        old = await make_fan(session, first_name="OldBuyer")
        await keywords.record_hits(session, old.id, ["buy", "handbag"], NOW - timedelta(days=40))
        vip = await make_fan(session, first_name="Vip")
        await tags.add(session, vip.id, "vip", TagSource.STAFF, NOW)
        await session.commit()
    staff = await console.client(ConsoleRole.STAFF)
    page = await staff.page("/fans?said=buy,+handbag&within=30")
    assert 'id="fan-count">1<' in page
    assert "Buyer" in page
    assert "OldBuyer" not in page
    assert "said:" in page  # the condition the form built, shown as YAML
    raw = "any:\n  - tag: vip\n  - said: [buy]\n    within: 60d"
    page = await staff.page("/fans?" + urlencode({"condition": raw}))
    assert 'id="fan-count">3<' in page
    page = await staff.page("/fans?" + urlencode({"condition": raw, "tag": "vip"}))
    assert 'id="fan-count">1<' in page
    page = await staff.page("/fans?" + urlencode({"condition": "nonsense: 1"}))
    assert 'id="condition-error"' in page
    assert 'id="fan-count">0<' in page
    page = await staff.page("/fans?" + urlencode({"condition": "all: [\n"}))
    assert "not valid YAML" in page


async def test_the_csv_export_streams_every_matching_fan(console: Console) -> None:
    async with console.database.session() as session:
        for n in range(1203):  # more than two batches
            await make_fan(session, first_name=f"F{n}")
        evil = await make_fan(session, first_name="=HYPERLINK(1)")
        await tags.add(session, evil.id, "vip", TagSource.STAFF, NOW)
        await session.commit()
    staff = await console.client(ConsoleRole.STAFF)
    response = await staff.http.get("/console/fans.csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][0] == "id"
    assert len(rows) == 1 + 1204
    assert len({row[0] for row in rows[1:]}) == 1204
    assert [rows[-1][1], rows[-1][-1]] == ["'=HYPERLINK(1)", "vip"]
    only_vip = await staff.http.get("/console/fans.csv?tag=vip")
    assert len(list(csv.reader(io.StringIO(await only_vip.text())))) == 2


async def test_staff_tag_untag_take_over_hand_back_and_opt_out(console: Console) -> None:
    async with console.database.session() as session:
        fan = await make_fan(session, first_name="Ana")
        await session.commit()
    staff = await console.client(ConsoleRole.STAFF)
    await staff.page(f"/fans/{fan.id}")
    status, path, page = await staff.submit(f"/fans/{fan.id}/tag", {"tag": "vip"})
    assert (status, path) == (200, f"/console/fans/{fan.id}")
    assert '<span class="tag">vip</span>' in page
    await staff.submit(f"/fans/{fan.id}/untag", {"tag": "vip"})
    _, _, page = await staff.submit(f"/fans/{fan.id}/take-over")
    assert "Hand back to the bot" in page
    async with console.database.session() as session:
        handoff = (await session.execute(select(Handoff))).scalar_one()
        assert (handoff.state, handoff.taken_by) == (HandoffState.TAKEN, 2)
    await staff.submit(f"/fans/{fan.id}/hand-back")
    await staff.submit(f"/fans/{fan.id}/opt-out")
    async with console.database.session() as session:
        reloaded = await fans.get(session, fan.id)
        assert reloaded is not None
        assert reloaded.status == FanStatus.OPTED_OUT
        assert await tags.names_of(session, fan.id) == []
        handoff = (await session.execute(select(Handoff))).scalar_one()
        assert handoff.state == HandoffState.CLOSED
        kinds = list(
            (
                await session.execute(
                    select(Event.kind).where(Event.fan_id == fan.id).order_by(Event.id)
                )
            ).scalars()
        )
    assert kinds == ["handoff_taken", "handed_back", "opted_out"]
    status, _, _ = await staff.submit(f"/fans/{fan.id}/tag", {"tag": ""})
    assert status == 400
    status, _, _ = await staff.submit("/fans/999999/opt-out")
    assert status == 404


async def _editor_form(console: Console) -> dict[str, str]:
    async with console.database.session() as session:
        version = await brand_versions.active(session)
    assert version is not None
    return {f"file:{name}": text for name, text in version.files.items()}


async def test_a_script_mistake_is_shown_at_its_line_and_nothing_is_published(
    console: Console,
) -> None:
    admin = await console.client()
    await admin.page("/scripts")
    form = await _editor_form(console)
    broken = form["file:brand.yaml"].replace("default_language: en", "default_language: fr")
    form["file:brand.yaml"] = broken.replace("\n", "\r\n")  # as a browser sends it
    line = broken.split("\n").index("default_language: fr") + 1
    status, _, page = await admin.submit("/scripts", {**form, "action": "publish"})
    assert status == 422
    assert f"brand.yaml:{line}:" in page
    assert f'id="brand.yaml-{line}"' in page
    assert 'class="line bad"' in page
    async with console.database.session() as session:
        assert len(await brand_versions.history(session)) == 1


async def test_check_publish_and_roll_back_from_the_console(console: Console) -> None:
    admin = await console.client()
    await admin.page("/scripts")
    form = await _editor_form(console)
    status, _, page = await admin.submit("/scripts", {**form, "action": "check"})
    assert status == 200
    assert 'id="no-problems"' in page
    form["file:brand.yaml"] = form["file:brand.yaml"].replace("Stride & Carry", "Stride & Co")
    status, path, page = await admin.submit("/scripts", {**form, "action": "publish"})
    async with console.database.session() as session:
        live = await brand_versions.active(session)
    assert live is not None
    assert live.id == 2
    assert live.author == "console:1"
    assert (status, path) == (200, "/console/scripts/versions/2")
    assert 'id="published"' in page
    assert "-name: Stride &amp; Carry" in page
    assert "+name: Stride &amp; Co" in page
    history = await admin.page("/scripts/history")
    assert "Roll back to this" in history
    status, path, _ = await admin.submit("/scripts/versions/1/activate")
    assert (status, path) == (200, "/console/scripts/history")
    async with console.database.session() as session:
        live = await brand_versions.active(session)
        count = len((await session.execute(select(BrandVersion.id))).all())
    assert live is not None
    assert live.id == 1
    assert count == 2
    status, _, _ = await admin.submit("/scripts/versions/99/activate")
    assert status == 404


async def test_preview_a_step_for_a_fan_in_a_language(console: Console) -> None:
    async with console.database.session() as session:
        fan = await make_fan(session, first_name="Lin")
        await session.commit()
    admin = await console.client()
    steps = await admin.page("/scripts/preview")
    assert "onboarding.welcome" in steps
    page = await admin.page(f"/scripts/preview?step=onboarding.welcome&fan={fan.id}&language=zh")
    assert "in zh" in page
    assert "Lin" in page
    page = await admin.page("/scripts/preview?step=no.such")
    assert "unknown step" in page


async def test_create_a_campaign_with_its_link_qr_codes_and_funnel(console: Console) -> None:
    admin = await console.client()
    await admin.page("/campaigns")
    status, path, page = await admin.submit(
        "/campaigns",
        {
            "code": "summer_popup",
            "name": "Summer pop-up <store>",
            "tags": "popup, summer",
            "gift_code": "POP-CAP",
            "gift_name": "A cap",
            "languages": "en,zh",
        },
    )
    assert (status, path) == (200, "/console/campaigns/summer_popup")
    assert "https://t.me/stride_bot?start=summer_popup" in page
    assert "Summer pop-up &lt;store&gt;" in page
    async with console.database.session() as session:
        live = await brand_versions.active(session)
    assert live is not None
    assert "summer_popup" in live.files["campaigns.yaml"]
    svg = await admin.http.get("/console/campaigns/summer_popup/qr.svg")
    assert svg.status == 200
    assert svg.content_type == "image/svg+xml"
    assert (await svg.read()).lstrip().startswith(b"<?xml")
    png = await admin.http.get("/console/campaigns/summer_popup/qr.png")
    assert (await png.read())[:8] == b"\x89PNG\r\n\x1a\n"
    listing = await admin.page("/campaigns")
    assert "t.me/stride_bot?start=summer_popup" in listing
    status, _, page = await admin.submit("/campaigns", {"code": "summer_popup"})
    assert status == 422
    assert "exists already" in page
    status, _, page = await admin.submit("/campaigns", {"code": "bad code!"})
    assert status == 422
    assert "1-64 characters" in page

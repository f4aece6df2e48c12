"""Rules from the console: list with enabled state and firings, switch one off and on
(a new version each time, comments kept), and a dry run."""

import pytest

from admin.errors import RuleEditError
from admin.pages.rules import with_rule_enabled
from storage.models import RuleFiring, TagSource
from storage.repositories import brand_versions, keywords, tags
from tests.admin.conftest import Console
from tests.factories import NOW, make_fan

RULES = """rules:
  # the first rule
  first:
    trigger: {event: joined}
    actions:
      - send: a.b

  second:  # the second
    enabled: true
    trigger: {event: joined}
"""


def test_enabled_is_added_or_changed_under_the_right_rule_only() -> None:
    off = with_rule_enabled(RULES, "first", enabled=False)
    assert off.split("\n")[3] == "    enabled: false"
    assert "# the first rule" in off
    assert off.count("enabled:") == 2
    second = with_rule_enabled(RULES, "second", enabled=False)
    assert "    enabled: false\n    trigger" in second
    assert "enabled: true" not in second
    with pytest.raises(RuleEditError):
        with_rule_enabled(RULES, "third", enabled=False)


async def test_list_switch_off_and_on_and_dry_run(console: Console) -> None:
    async with console.database.session() as session:
        fan = await make_fan(session, first_name="Hana")
        await keywords.record_hits(session, fan.id, ["buy", "handbag"], NOW)
        await tags.add(session, fan.id, "other", TagSource.STAFF, NOW)
        session.add(
            RuleFiring(
                rule="handbag_offer",
                fan_id=fan.id,
                occurrence="e1",
                fired_at=NOW,
                brand_version="v1",
            )
        )
        await session.commit()
    admin = await console.client()
    page = await admin.page("/rules")
    row = page[page.index('id="rule-handbag_offer"') :]
    row = row[: row.index("</tr>")]
    assert "keyword:handbag" in row
    assert '<span class="badge ok">on</span>' in row
    assert "2026-03-01 12:00" in row
    status, path, page = await admin.submit("/rules/handbag_offer/enabled", {"enabled": "false"})
    assert (status, path) == (200, "/console/rules")
    row = page[page.index('id="rule-handbag_offer"') :]
    assert '<span class="badge">off</span>' in row[: row.index("</tr>")]
    async with console.database.session() as session:
        live = await brand_versions.active(session)
    assert live is not None
    assert live.id == 2
    assert '# Said "buy" and "handbag"' in live.files["rules.yaml"]
    await admin.submit("/rules/handbag_offer/enabled", {"enabled": "true"})
    page = await admin.page("/rules/handbag_offer/dry-run")
    assert 'id="dry-run-count">1<' in page
    assert "Hana" in page
    status, _, _ = await admin.submit("/rules/nope/enabled", {"enabled": "false"})
    assert status == 404

"""The fan card and topic title: fan-supplied text shown literally, Telegram's limits kept."""

from datetime import timedelta

from handlers import fan_card
from storage.models import Fan, Handoff, HandoffState
from tests.factories import NOW


def _fan(**values: object) -> Fan:
    defaults: dict[str, object] = {
        "id": 1,
        "telegram_user_id": 100200300,
        "first_name": "Ada",
        "status": "active",
        "language": "en",
    }
    return Fan(**{**defaults, **values})


def _card(fan: Fan, handoff: Handoff | None, **values: object) -> fan_card.CardData:
    defaults: dict[str, object] = {
        "first_origin": "spring_gift",
        "latest_origin": "summer",
        "tags": [("giveaway", "origin")],
        "fields": [("city", "<i>Shanghai</i>", "capture:profile.ask_city")],
        "consents": [("daily", True), ("offers", False)],
        "last_messages": [(NOW, "fan", "{{ 7*7 }} <b>hi</b>")],
        "last_rule": ("gift_reminder", NOW),
        "pending": [("rule:gift_reminder", NOW + timedelta(days=1))],
    }
    return fan_card.CardData(fan=fan, handoff=handoff, **{**defaults, **values})  # type: ignore[arg-type]


def test_title_has_mark_name_username_and_id_within_128() -> None:
    waiting = Handoff(state=HandoffState.WAITING, reason="help")
    fan = _fan(first_name="<b>Lin</b>", username="lin_w")
    assert fan_card.topic_title(fan, waiting) == "⏳ <b>Lin</b> @lin_w · 100200300"
    assert fan_card.topic_title(fan, None).startswith("🤖 ")
    long = fan_card.topic_title(_fan(first_name="N" * 300, username="u" * 32), waiting)
    assert len(long) <= 128
    assert long.endswith(f"… @{'u' * 32} · 100200300")


def test_card_shows_fan_text_literally_with_entities_for_labels() -> None:
    fan = _fan(first_name="<b>x</b>", last_name="{{7*7}}")
    taken = Handoff(state=HandoffState.TAKEN, reason="order", taken_by=42)
    kwargs = fan_card.render(_card(fan, taken)).as_kwargs()
    text = kwargs["text"]
    assert kwargs["parse_mode"] is None
    assert "<b>x</b> {{7*7}}" in text
    assert "{{ 7*7 }} <b>hi</b>" in text
    assert "city: <i>Shanghai</i> (capture:profile.ask_city)" in text
    assert "Status: active, with staff (42)" in text
    assert "Consent: daily yes, offers no" in text
    assert "First origin: spring_gift" in text
    assert "Pending sends: rule:gift_reminder due" in text
    assert {entity.type for entity in kwargs["entities"]} >= {"bold", "italic"}


def test_a_huge_card_is_cut_to_fit_a_message() -> None:
    many = [(f"field_{i}", "v" * 100, "staff") for i in range(200)]
    text = fan_card.render(_card(_fan(), None, fields=many)).as_kwargs()["text"]
    assert len(text) <= fan_card.MAX_CARD
    assert text.startswith("🤖 Ada")

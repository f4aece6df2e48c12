"""The fan card pinned in the fan's staff topic, and the topic's title.

Rendered from stored data only. Everything a fan wrote (name, messages, answers) goes in
as plain text with entities built by aiogram's formatting, never as HTML or a template, so
a fan named `<b>x</b>` or `{{7*7}}` shows literally.
"""

from dataclasses import dataclass
from datetime import datetime

from aiogram.utils.formatting import Bold, Italic, Text, as_key_value, as_list
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Consent,
    Event,
    EventKind,
    Fan,
    Handoff,
    HandoffState,
    OutboxMessage,
    OutboxState,
)
from storage.repositories import fields, origins, outbox, tags

MAX_TITLE = 128  # Telegram's limit for a topic name
MAX_CARD = 3500  # under the 4096 of a message, with room for the entities' rounding
LAST_MESSAGES = 5
MESSAGE_PREVIEW = 120
PENDING_SHOWN = 5

MARKS = {"bot": "🤖", HandoffState.WAITING: "⏳", HandoffState.TAKEN: "💬"}
STATUS_WORDS = {"bot": "with the bot", HandoffState.WAITING: "waiting for staff"}


def status_of(handoff: Handoff | None) -> str:
    """bot, waiting or taken."""
    if handoff is None or handoff.state == HandoffState.CLOSED:
        return "bot"
    return str(handoff.state)


def display_name(fan: Fan) -> str:
    name = " ".join(part for part in (fan.first_name, fan.last_name) if part)
    return name or "(no name)"


def topic_title(fan: Fan, handoff: Handoff | None) -> str:
    """Status mark, name, @username and Telegram id, within Telegram's 128 characters."""
    mark = MARKS[status_of(handoff)]
    tail = f" @{fan.username}" if fan.username else ""
    tail += f" · {fan.telegram_user_id or fan.id}"
    room = MAX_TITLE - len(mark) - 1 - len(tail)
    name = display_name(fan)
    if len(name) > room:
        name = name[: max(room - 1, 1)] + "…"
    return f"{mark} {name}{tail}"[:MAX_TITLE]


@dataclass(frozen=True)
class CardData:
    fan: Fan
    handoff: Handoff | None
    first_origin: str | None
    latest_origin: str | None
    tags: list[tuple[str, str]]  # name, source
    fields: list[tuple[str, str, str]]  # name, value, source
    consents: list[tuple[str, bool]]
    last_messages: list[tuple[datetime, str, str]]  # when, "fan"/"bot"/"staff", preview
    last_rule: tuple[str, datetime] | None
    pending: list[tuple[str, datetime]]  # what, due


async def load_card(session: AsyncSession, fan: Fan, handoff: Handoff | None) -> CardData:
    touches = await origins.touches_of(session, fan.id)
    profile = await fields.of_fan(session, fan.id)
    consent_rows = await session.execute(
        select(Consent.purpose, Consent.granted)
        .where(Consent.fan_id == fan.id)
        .order_by(Consent.purpose)
    )
    messages = await session.execute(
        select(Event)
        .where(
            Event.fan_id == fan.id,
            Event.kind.in_([EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT]),
        )
        .order_by(Event.id.desc())
        .limit(LAST_MESSAGES)
    )
    last_rule = (
        await session.execute(
            select(OutboxMessage.source_ref, OutboxMessage.sent_at)
            .where(
                OutboxMessage.fan_id == fan.id,
                OutboxMessage.source == "rule",
                OutboxMessage.state == OutboxState.SENT,
            )
            .order_by(OutboxMessage.sent_at.desc())
            .limit(1)
        )
    ).first()
    return CardData(
        fan=fan,
        handoff=handoff,
        first_origin=touches[0][1].code if touches else None,
        latest_origin=touches[-1][1].code if touches else None,
        tags=[(name, tag.source) for name, tag in await tags.of_fan(session, fan.id)],
        fields=[
            (name, str(fields.value_of(field)), field.source)
            for name, field in sorted(profile.items())
        ],
        consents=[(purpose, bool(granted)) for purpose, granted in consent_rows],
        last_messages=[_message_line(event) for event in reversed(messages.scalars().all())],
        last_rule=(str(last_rule[0]), last_rule[1]) if last_rule and last_rule[1] else None,
        pending=[
            (f"{row.source}:{row.source_ref or '-'}", row.due_at)
            for row in (await outbox.pending_of(session, fan.id))[:PENDING_SHOWN]
        ],
    )


def _message_line(event: Event) -> tuple[datetime, str, str]:
    who = "fan" if event.kind == EventKind.MESSAGE_IN else "bot"
    if event.data.get("staff"):
        who = "staff"
    preview = event.text or f"[{event.content_kind or 'message'}]"
    if len(preview) > MESSAGE_PREVIEW:
        preview = preview[: MESSAGE_PREVIEW - 1] + "…"
    return event.created_at, who, preview


def render(card: CardData) -> Text:
    fan, handoff = card.fan, card.handoff
    status = status_of(handoff)
    if handoff is not None and status == HandoffState.TAKEN:
        with_whom = f"with staff ({handoff.taken_by})"
    else:
        with_whom = STATUS_WORDS.get(status, status)
    lines: list[Text] = [
        Bold(MARKS[status], " ", display_name(fan)),
        as_key_value("Telegram", _identity(fan)),
        as_key_value("Language", fan.language or fan.telegram_language or "-"),
        as_key_value("Status", f"{fan.status}, {with_whom}"),
    ]
    if handoff is not None and status != "bot":
        lines.append(as_key_value("Asked for", handoff.reason))
    lines += [
        as_key_value("First origin", card.first_origin or "-"),
        as_key_value("Latest origin", card.latest_origin or "-"),
        as_key_value("Tags", ", ".join(f"{n} ({s})" for n, s in card.tags) or "-"),
        as_key_value(
            "Consent", ", ".join(f"{p} {'yes' if g else 'no'}" for p, g in card.consents) or "-"
        ),
        Bold("Profile"),
    ]
    lines += [
        Text("• ", name, ": ", value, " ", Italic(f"({source})"))
        for name, value, source in card.fields
    ] or [Text("-")]
    lines.append(Bold("Last messages"))
    lines += [
        Text(f"{when:%m-%d %H:%M} {who}: ", text) for when, who, text in card.last_messages
    ] or [Text("-")]
    rule = f"{card.last_rule[0]} at {card.last_rule[1]:%Y-%m-%d %H:%M}" if card.last_rule else "-"
    lines.append(as_key_value("Last rule", rule))
    pending = ", ".join(f"{what} due {due:%m-%d %H:%M}" for what, due in card.pending)
    lines.append(as_key_value("Pending sends", pending or "-"))
    text = as_list(*lines)
    if len(text) > MAX_CARD:
        # Cut whole lines off the end rather than sending an invalid message.
        while len(lines) > 4 and len(as_list(*lines)) > MAX_CARD:
            lines.pop(-3)
        text = as_list(*lines)
    return text


def _identity(fan: Fan) -> str:
    parts = [f"@{fan.username}"] if fan.username else []
    parts.append(f"id {fan.telegram_user_id or '-'}")
    return " ".join(parts)

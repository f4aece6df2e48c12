"""The tables: fans, where they came from, what they are tagged with, what they did.

Every schema change is an Alembic migration in storage/migrations/versions.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel

from storage.base import ONLY_ON_DIALECT, Base
from storage.types import BigIntId, UTCDateTime


class FanStatus(StrEnum):
    ACTIVE = "active"
    OPTED_OUT = "opted_out"  # no proactive messages; still answered when they write
    BLOCKED = "blocked"  # the fan blocked the bot; nothing can be sent
    FORGOTTEN = "forgotten"  # personal data erased on the fan's request


class EventKind(StrEnum):
    """What can happen on a fan's timeline (events.kind)."""

    MESSAGE_IN = "message_in"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_OUT = "message_out"
    BUTTON = "button"
    JOINED = "joined"
    ORIGIN = "origin"
    INVALID_ORIGIN = "invalid_origin"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    DELIVERY_FAILED = "delivery_failed"
    ESCALATED = "escalated"  # the fan asked for a person
    GIFT_CLAIMED = "gift_claimed"
    HANDOFF_TAKEN = "handoff_taken"  # a staff member took the chat
    HANDED_BACK = "handed_back"  # the chat went back to the bot (staff, idle, blocked)
    STAFF_NOTE = "staff_note"  # an internal note in the fan's topic, never sent to the fan


class TagSource(StrEnum):
    REPLY = "reply"
    KEYWORD = "keyword"
    ORIGIN = "origin"
    RULE = "rule"
    STAFF = "staff"


class InboxState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Fan(Base):
    __tablename__ = "fans"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'opted_out', 'blocked', 'forgotten')", name="status"
        ),
        Index("ix_fans_status_last_message", "status", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # Nullable because /forget erases it; unique so one Telegram user is one fan.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(256))
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    telegram_language: Mapped[str | None] = mapped_column(String(35))
    language: Mapped[str | None] = mapped_column(String(16))  # the script language in use
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=FanStatus.ACTIVE)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last time the fan themselves wrote or pressed something (not a service update).
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The dialog engine's state for this fan (which step, what was asked when).
    conversation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Daily openers the fan left unanswered in a row, and the first local date the next
    # one may be planned (None: any day). Writing to the bot resets both.
    daily_ignored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    daily_next_on: Mapped[date | None] = mapped_column(Date)


class FanField(Base):
    """One profile field of a fan, typed so that segments can compare it in SQL."""

    __tablename__ = "fan_fields"
    __table_args__ = (
        Index("ix_fan_fields_name_text", "name", "value_text"),
        Index("ix_fan_fields_name_number", "name", "value_number"),
        Index("ix_fan_fields_name_date", "name", "value_date"),
    )

    fan_id: Mapped[int] = mapped_column(
        ForeignKey("fans.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_text: Mapped[str | None] = mapped_column(Text)
    value_number: Mapped[float | None] = mapped_column(Float)
    value_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(16))  # registration / operation / transaction
    source: Mapped[str] = mapped_column(String(128))  # which step, button or staff set it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Origin(Base):
    """A way to become a fan: a campaign deep-link code, a giveaway, a gift."""

    __tablename__ = "origins"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    # False for a well-formed code that no campaign defines (a link the brand forgot about).
    known: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    gift: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FanOrigin(Base):
    """Every touch: each /start with a payload, the first one marked."""

    __tablename__ = "fan_origins"
    __table_args__ = (
        Index("ix_fan_origins_origin_first_fan", "origin_id", "is_first", "fan_id"),
        Index("ix_fan_origins_fan_time", "fan_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    origin_id: Mapped[int] = mapped_column(ForeignKey("origins.id", ondelete="CASCADE"))
    is_first: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class FanTag(Base):
    __tablename__ = "fan_tags"
    __table_args__ = (Index("ix_fan_tags_tag_fan", "tag_id", "fan_id"),)

    fan_id: Mapped[int] = mapped_column(
        ForeignKey("fans.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16))
    source_detail: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """The fan's timeline."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_fan_time", "fan_id", "created_at"),
        Index("ix_events_kind_time", "kind", "created_at"),
        # Segments ask "has this fan an event of this kind" (claimed_gift).
        Index("ix_events_fan_kind", "fan_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # text, photo, sticker, voice, document, location, callback, ... (None for service events)
    content_kind: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Lets SQLite insert a flush's new events in one statement: without it SQLAlchemy
    # cannot match the ids SQLite returns to the rows and inserts them one at a time.
    # (A group of inbound updates flushes its events together; see handlers.inbound_batch.)
    insert_sentinel: Mapped[int | None] = orm_insert_sentinel()


class InboxUpdate(Base):
    """An update from Telegram, stored before Telegram is told it was received.

    The primary key is Telegram's update_id, so a second delivery of the same update is
    ignored. A row becomes `done` in the same transaction as the effects of handling it.
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'failed')", name="state"),
        Index("ix_inbox_updates_state_update", "state", "update_id"),
        Index("ix_inbox_updates_chat_state", "chat_id", "state"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The chat (or user) whose updates must be handled in order.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8), default=InboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KeywordHit(Base):
    """A keyword of the brand's lexicon found in what a fan wrote."""

    __tablename__ = "keyword_hits"
    __table_args__ = (
        Index("ix_keyword_hits_keyword_time", "keyword", "created_at", "fan_id"),
        Index("ix_keyword_hits_fan_time", "fan_id", "created_at"),
        Index("ix_keyword_hits_fan_keyword_time", "fan_id", "keyword", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(Base):
    """A fan's answer for one purpose (daily conversation, offers, profiling), with proof."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_purpose_granted_fan", "purpose", "granted", "fan_id"),)

    fan_id: Mapped[int] = mapped_column(
        ForeignKey("fans.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    # When, which script version and step, and the text the fan was shown.
    proof: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BrandVersion(Base):
    """One imported version of the brand folder (all its files); one version is active."""

    __tablename__ = "brand_versions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(128))
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its due time
    SENDING = "sending"  # claimed by a sender; a crash here leaves it for `unknown`
    SENT = "sent"
    SKIPPED = "skipped"  # the contact policy said no (reason says why)
    FAILED = "failed"  # Telegram refused it for good
    CANCELLED = "cancelled"  # withdrawn before sending (fan blocked, rule cancelled)
    UNKNOWN = "unknown"  # found in `sending` after a crash: maybe sent, never resent


class OutboxMessage(Base):
    """A proactive message to send to one fan at a due time. Nothing else sends first."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'skipped', 'failed', 'cancelled', 'unknown')",
            name="state",
        ),
        # On PostgreSQL migration 0011 makes it partial, the queue only (a query about
        # sent rows must not pick it); SQLite cannot use it partial. Not declared here
        # (postgresql_where): SQLAlchemy would import its whole PostgreSQL dialect to
        # check the argument when this module loads, 3 MiB of the idle bot on SQLite.
        # The migrations make the schema (nothing calls create_all) and autogenerate
        # does not compare an index's condition.
        Index("ix_outbox_queue", "state", "due_at"),
        Index("ix_outbox_fan_state", "fan_id", "state"),
        Index("ix_outbox_source_state", "source", "source_ref", "state"),
        Index("ix_outbox_fan_sent", "fan_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # rule, daily, broadcast
    source_ref: Mapped[str | None] = mapped_column(String(128))  # rule name, broadcast id
    # What to send: {"step": "dialog.step"}, {"daily": true} or {"text": {lang: template}}.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(String(32))  # the consent it needs
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default=OutboxState.PENDING)
    # The same rule firing twice for the same reason makes one row.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # A condition re-checked at send time ("still has not claimed the gift").
    recheck: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The claim's order (priority first, then the oldest due), on PostgreSQL only: migration
# 0012 makes it there, partial (pending rows). Without it PostgreSQL sorted every due row
# for each claim of 200 (55 ms at 92,000 pending). SQLite keeps up without it and could
# not use it partial (see ix_outbox_queue).
Index(
    "ix_outbox_claim",
    OutboxMessage.priority.desc(),
    OutboxMessage.due_at,
    OutboxMessage.id,
    info={ONLY_ON_DIALECT: "postgresql"},
)


class HandoffState(StrEnum):
    WAITING = "waiting"  # the fan asked for a person; no staff member has taken it yet
    TAKEN = "taken"  # a staff member talks to the fan; the bot is paused for them
    CLOSED = "closed"  # handed back to the bot


class FanTopic(Base):
    """The fan's topic in the staff forum supergroup, and their pinned card there."""

    __tablename__ = "fan_topics"
    __table_args__ = (Index("ix_fan_topics_chat_thread", "staff_chat_id", "thread_id"),)

    fan_id: Mapped[int] = mapped_column(
        ForeignKey("fans.id", ondelete="CASCADE"), primary_key=True
    )
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger)  # Telegram's message_thread_id
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Handoff(Base):
    """One time a fan was handed to staff: who took it, how fast, how long."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("state IN ('waiting', 'taken', 'closed')", name="state"),
        Index("ix_handoffs_fan_state", "fan_id", "state"),
        Index("ix_handoffs_state_opened", "state", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8), default=HandoffState.WAITING)
    reason: Mapped[str] = mapped_column(String(128))
    taken_by: Mapped[int | None] = mapped_column(BigInteger)  # the staff member's user id
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_staff_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))  # handback, auto, blocked
    # When staff were told in the fan's topic; None while the handoff waits in the queue
    # for its topic (topic creation is throttled), so a restart picks the queue up again.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A worker announcing it right now (a lease: a crashed worker's claim expires).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RelayedMessage(Base):
    """A message copied between the fan's chat and their staff topic (to mirror edits)."""

    __tablename__ = "relayed_messages"
    __table_args__ = (
        Index("ix_relayed_staff", "staff_chat_id", "staff_message_id"),
        Index("ix_relayed_fan", "fan_id", "fan_message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # to_staff or to_fan
    fan_message_id: Mapped[int] = mapped_column(BigInteger)
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    staff_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BroadcastState(StrEnum):
    DRAFT = "draft"  # created and checked; nothing in the outbox yet
    SCHEDULED = "scheduled"  # its rows are in the outbox (the outbox says how far it got)
    CANCELLED = "cancelled"  # withdrawn; its pending rows were cancelled


class Broadcast(Base):
    """A message to a segment: a condition, texts per language, and the consent it needs."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("state IN ('draft', 'scheduled', 'cancelled')", name="state"),
        Index("ix_broadcasts_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)  # condition_to_data output
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"text": {language: template}}
    purpose: Mapped[str | None] = mapped_column(String(32))  # the consent it needs
    priority: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it is due
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default=BroadcastState.DRAFT)


class RuleFiring(Base):
    """One time a brand rule fired for a fan: the limits (once, every N) read these rows.

    `occurrence` names what made it fire (the inbound event, the schedule's fire time, the
    year of an anniversary, the silence being broken), so the same firing twice is one row.
    """

    __tablename__ = "rule_firings"
    __table_args__ = (
        UniqueConstraint("rule", "fan_id", "occurrence"),
        Index("ix_rule_firings_rule_fan_time", "rule", "fan_id", "fired_at"),
        Index("ix_rule_firings_rule_time", "rule", "fired_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The first row the firing put in the outbox (None for rules that only tag or set).
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    brand_version: Mapped[str] = mapped_column(String(64))


class ConsoleRole(StrEnum):
    ADMIN = "admin"  # everything
    STAFF = "staff"  # fans, the inbox, a read-only dashboard


class ConsoleLoginLink(Base):
    """A one-time login link to the web console; only a hash of its token is kept."""

    __tablename__ = "console_login_links"
    __table_args__ = (CheckConstraint("role IN ('admin', 'staff')", name="role"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(BigInteger)  # None: printed by an operator
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A logged-in browser: the cookie carries the token, the table only its hash."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'staff')", name="role"),
        Index("ix_console_sessions_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    # Sent back with every form; a request from another site cannot know it.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

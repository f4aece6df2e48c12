"""The adapter between the dialog engine (pure) and the database and Telegram.

It loads a fan into a `FanSnapshot`, runs the engine, writes every effect in the update's
transaction, and queues the replies (sent after the commit).
"""

import logging
from collections import Counter
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand, FanSnapshot, Input, Outcome
from handlers.inbound_batch import InboundBatch, Profile, load_profiles
from handlers.replies import Replies, Reply
from scheduler.rules.events import on_inbound
from scheduler.rules.facts import facts_of
from storage import lifecycle
from storage.models import EventKind, Fan, TagSource
from storage.repositories import (
    consents,
    events,
    fields,
    handoffs,
    keywords,
    tags,
)
from storage.repositories.fans import assign_changed

logger = logging.getLogger(__name__)

# Counted problems of brand scripts at run time (render failures, loops), for `doctor`
# and the console.
script_problems: Counter[str] = Counter()

TAG_SOURCES = {
    "button": TagSource.REPLY,
    "capture": TagSource.REPLY,
    "keyword": TagSource.KEYWORD,
    "campaign": TagSource.ORIGIN,
}


async def load_snapshot(session: AsyncSession, fan: Fan, *, is_new: bool) -> FanSnapshot:
    return (await load_snapshots(session, [fan], is_new=is_new))[fan.id]


async def load_snapshots(
    session: AsyncSession, fans: Collection[Fan], *, is_new: bool
) -> dict[int, FanSnapshot]:
    """The snapshots of many fans by fan id: one query for their facts, one for their fields.

    A snapshot is the fan as it is now: once an engine run or a rule changed a fan, load
    it again rather than reuse one taken before.
    """
    # The first read flushes what the caller wrote before (a campaign's touch and tags).
    profiles = await load_profiles(session, [fan.id for fan in fans])
    return {fan.id: _snapshot(fan, profiles[fan.id], is_new=is_new) for fan in fans}


def _snapshot(fan: Fan, profile: Profile, *, is_new: bool) -> FanSnapshot:
    facts = profile.facts
    return FanSnapshot(
        fan_id=fan.id,
        first_name=fan.first_name or "",
        last_name=fan.last_name,
        username=fan.username,
        telegram_language_code=fan.telegram_language,
        language=fan.language,
        fields={
            name: value
            for name, field in profile.fields.items()
            if (value := fields.value_of(field)) is not None
        },
        tags=facts.tags,
        first_origin=facts.first_origin,
        latest_origin=facts.latest_origin,
        consents=facts.consents,
        is_new=is_new,
        conversation=dialogs.ConversationState.from_json(fan.conversation or {}),
        timezone=fan.timezone,
    )


async def run_engine(
    session: AsyncSession,
    brand: CompiledBrand,
    fan: Fan,
    event: Input,
    replies: Replies,
    now: datetime,
    *,
    is_new: bool = False,
    inbound_event: events.Recorded | None = None,
    snapshot: FanSnapshot | None = None,
    batch: InboundBatch | None = None,
) -> Outcome:
    """One input through the engine, its effects applied, the rules it triggers fired (in the
    same transaction); the fan's state saved. `snapshot`, if given, is the fan as loaded
    by `load_snapshots` for a batch and not changed since. `inbound_event` is the message
    the input came in, which its keyword hits point at.

    With an inbound `batch`, the fan's profile may come from its preload, and the keyword
    hits and the rules wait in it, for the processor to write before the commit."""
    if snapshot is None:
        profile = batch.take_profile(fan.id) if batch is not None else None
        if profile is not None:
            snapshot = _snapshot(fan, profile, is_new=is_new)
        else:
            snapshot = await load_snapshot(session, fan, is_new=is_new)
    outcome = dialogs.handle(brand, snapshot, event, now)
    # A message's keyword hits go in one statement (a message often hits several).
    hits = [effect.keyword for effect in outcome.effects if isinstance(effect, dialogs.KeywordHit)]
    event_id = inbound_event.id if inbound_event is not None else None
    for effect in outcome.effects:
        if not isinstance(effect, dialogs.KeywordHit):
            await apply_effect(session, fan, effect, replies, now, event_id=event_id)
    assign_changed(fan, conversation=outcome.state.to_json())  # often the same: no UPDATE
    facts = facts_of(brand, event, outcome.effects, now, is_new=is_new)
    if batch is not None:
        batch.keyword_hits(fan.id, inbound_event, hits, now)
        batch.event_rules.add(brand, fan.id, facts, now)
    else:
        await keywords.record_hits(session, fan.id, hits, now, event_id=event_id)
        await on_inbound(session, brand, fan.id, facts, now)
    return outcome


async def apply_effect(
    session: AsyncSession,
    fan: Fan,
    effect: dialogs.Effect,
    replies: Replies,
    now: datetime,
    *,
    event_id: int | None = None,
) -> None:
    match effect:
        case dialogs.Reply():
            await _reply(session, fan, effect, replies, now)
        case dialogs.AddTag(tag=tag, source=source):
            await tags.add(session, fan.id, tag, TAG_SOURCES[source.kind], now, detail=source.ref)
        case dialogs.RemoveTag(tag=tag):
            await tags.remove(session, fan.id, tag)
        case dialogs.SetField(name=name, value=value, source=source, category=category):
            await fields.set_value(
                session,
                fan.id,
                name,
                value,
                category=category,
                source=f"{source.kind}:{source.ref}",
                now=now,
            )
        case dialogs.RecordEvent(kind=kind, data=data):
            # Written with the transaction's other deferred events: no ORM object (the
            # sender's daily openers record one each, 200 to a batch).
            events.defer(session, fan.id, kind, now, data=dict(data))
        case dialogs.KeywordHit(keyword=keyword):
            await keywords.record_hits(session, fan.id, [keyword], now, event_id=event_id)
        case dialogs.SetLanguage(language=language):
            fan.language = language
        case dialogs.GrantConsent(purpose=purpose, proof=proof):
            await consents.record(
                session, fan.id, purpose, granted=True, proof=dict(proof), now=now
            )
        case dialogs.RefuseConsent(purpose=purpose, proof=proof):
            await consents.record(
                session, fan.id, purpose, granted=False, proof=dict(proof), now=now
            )
        case dialogs.OptOut():
            await lifecycle.opt_out(session, fan, now, via="script")
        case dialogs.OptIn():
            await lifecycle.opt_in(session, fan, now)
        case dialogs.Escalate(reason=reason):
            await events.record(session, fan.id, EventKind.ESCALATED, now, data={"reason": reason})
            # Queued for staff: the staff desk opens the topic after the commit (a tick).
            await handoffs.open_handoff(session, fan.id, reason, now)
        case dialogs.RenderFailed(step=step, language=language, error=error):
            script_problems["render_failed"] += 1
            logger.warning("template of %s (%s) failed: %s", step, language, error)
        case dialogs.LoopStopped(step=step):
            script_problems["loop_stopped"] += 1
            logger.warning("steps loop without waiting; stopped at %s", step)
        case dialogs.Skipped(reason=reason):
            logger.debug("engine skipped for fan %s: %s", fan.id, reason)
        case dialogs.CampaignStart():
            pass  # the origin touch is recorded by storage.lifecycle.start


async def _reply(
    session: AsyncSession, fan: Fan, reply: dialogs.Reply, replies: Replies, now: datetime
) -> None:
    if fan.chat_id is None:
        return
    buttons = [[(button.label, button.callback_data) for button in row] for row in reply.buttons]
    await replies.add(
        session, Reply(fan.id, fan.chat_id, reply.text, buttons, step=reply.step), now
    )

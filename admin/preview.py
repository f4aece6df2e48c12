"""A step of the brand's script rendered for one fan (or a sample fan) and a language.

Rendering goes through the brand's sandboxed template engine (dialogs); nothing is
stored and nothing is sent.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand, FanSnapshot
from storage.repositories import consents, fans, fields, origins, tags

SAMPLE_FAN = FanSnapshot(fan_id=0, first_name="Alex")


@dataclass(frozen=True)
class StepPreview:
    step: str
    language: str
    fan_label: str
    replies: list[tuple[str, list[list[str]]]]  # text, rows of button labels
    effects: list[str]  # everything else the step would do, described
    error: str | None = None


async def preview_step(
    session: AsyncSession,
    brand: CompiledBrand,
    step: str,
    *,
    fan_id: int | None,
    language: str | None,
    now: datetime,
) -> StepPreview:
    snapshot, label = SAMPLE_FAN, "a sample fan (Alex)"
    if fan_id is not None:
        found = await _snapshot(session, fan_id)
        if found is not None:
            snapshot, label = found, f"fan #{fan_id}"
    if language in brand.settings.languages:
        snapshot = FanSnapshot(**{**vars(snapshot), "language": language})
    chosen = dialogs.pick_language(brand, snapshot)
    if brand.resolve(step) is None:
        return StepPreview(step, chosen, label, [], [], error=f"unknown step '{step}'")
    outcome = dialogs.handle(brand, snapshot, dialogs.GoTo(step), now)
    replies = [
        (reply.text, [[button.label for button in row] for row in reply.buttons])
        for reply in outcome.replies
    ]
    effects = [repr(effect) for effect in outcome.effects if not isinstance(effect, dialogs.Reply)]
    return StepPreview(step, outcome.language, label, replies, effects)


async def _snapshot(session: AsyncSession, fan_id: int) -> FanSnapshot | None:
    """The fan as the engine would see them (as the bot's adapter loads them)."""
    fan = await fans.get(session, fan_id)
    if fan is None:
        return None
    touches = await origins.touches_of(session, fan_id)
    return FanSnapshot(
        fan_id=fan.id,
        first_name=fan.first_name or "",
        last_name=fan.last_name,
        username=fan.username,
        telegram_language_code=fan.telegram_language,
        language=fan.language,
        fields={
            name: value
            for name, field in (await fields.of_fan(session, fan_id)).items()
            if (value := fields.value_of(field)) is not None
        },
        tags=frozenset(await tags.names_of(session, fan_id)),
        first_origin=touches[0][1].code if touches else None,
        latest_origin=touches[-1][1].code if touches else None,
        consents=await consents.granted_purposes(session, fan_id),
        conversation=dialogs.ConversationState(),
        timezone=fan.timezone,
    )

"""A step of the brand's script rendered for one fan (or a sample fan) and a language.

Rendering goes through the brand's sandboxed template engine (dialogs); nothing is
stored and nothing is sent.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import dialogs
from dialogs import CompiledBrand, FanSnapshot
from handlers.dialog_adapter import load_snapshot
from storage.repositories import fans

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
    """The fan as the engine would see them, without their place in a dialog (a preview
    starts the step afresh)."""
    fan = await fans.get(session, fan_id)
    if fan is None:
        return None
    snapshot = await load_snapshot(session, fan, is_new=False)
    return replace(snapshot, conversation=dialogs.ConversationState())

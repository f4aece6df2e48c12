"""What the fan did: a routed keyword, a button (tapped or typed), an answer.

Actions of buttons and keyword routes are applied in one fixed, documented order
(language, consents, opt-in/out, tags, fields, gift, event, escalation), so the
reply that follows already uses the new language and sees the new tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialogs.answers import parse_answer
from dialogs.effects import (
    AddTag,
    Escalate,
    GrantConsent,
    OptIn,
    OptOut,
    RecordEvent,
    RefuseConsent,
    RemoveTag,
    Reply,
    SetField,
    SetLanguage,
    Source,
)
from dialogs.flow import button_label, goto, keyboard, new_thread
from dialogs.lexicon import edge_trimmed, normalize
from dialogs.model import END, Actions, Button, KeywordRoute, Step, Target
from dialogs.run import Run

__all__ = ["answer", "button_named", "follow", "keyword_route", "press", "wrong_answer"]


def keyword_route(run: Run, hits: list[str], exact: frozenset[str] | None) -> KeywordRoute | None:
    """The first routed keyword mentioned (or, if `exact` is given, said on its own)."""
    for route in run.brand.routes.keywords:
        if route.keyword in hits and (exact is None or route.keyword in exact):
            return route
    return None


def follow(run: Run, route: KeywordRoute) -> None:
    new_thread(run)
    _apply(run, route.actions, Source("keyword", route.keyword), {"keyword": route.keyword})
    goto(run, route.go)


def button_named(step: Step, text: str) -> Button | None:
    """A button of `step` whose label the fan typed instead of pressing it."""
    wanted = edge_trimmed(normalize(text))
    if not wanted:
        return None
    for button in step.buttons:
        if any(edge_trimmed(normalize(label)) == wanted for label in button.label.values()):
            return button
    return None


def press(run: Run, button: Button, message_id: int | None) -> None:
    label = button_label(run, button)
    run.emit(RecordEvent("button", {"step": button.step, "button": button.key, "label": label}))
    source = Source("button", f"{button.step}#{button.key}")
    proof = {"step": button.step, "button": button.key, "label": label, "message_id": message_id}
    _apply(run, button.actions, source, proof)
    step = run.brand.steps[button.step]
    goto(run, button.go or step.next or Target(END))


def answer(run: Run, step: Step, text: str) -> None:
    """Store the typed answer to `step`'s capture, or ask again."""
    spec = step.capture
    if spec is None:
        return
    value = parse_answer(spec.field, text, run.local.date())
    if value is None:
        button = button_named(step, text)
        if button is not None:
            press(run, button, None)
        else:
            wrong_answer(run, step)
        return
    field = spec.field
    run.emit(SetField(field.name, value, Source("capture", step.ref), field.category))
    goto(run, step.next or Target(END))


def wrong_answer(run: Run, step: Step) -> None:
    """Ask again, or give up and move on after `max_attempts` wrong answers."""
    spec = step.capture
    if spec is None:
        return
    run.reasks += 1
    if run.reasks >= spec.max_attempts:
        data = {"step": step.ref, "field": spec.field.name}
        run.emit(RecordEvent("capture_gave_up", data))
        goto(run, step.next or Target(END))
        return
    text = run.render(spec.reask, step.ref) or run.render(run.brand.texts["reask"], step.ref)
    if text is not None:
        run.emit(Reply(text, keyboard(run, step), step=step.ref))


def _apply(run: Run, actions: Actions, source: Source, proof: dict[str, Any]) -> None:
    """Emit the effects of `actions`, in the documented order."""
    if actions.set_language:
        run.emit(SetLanguage(actions.set_language))
    for purpose in actions.grant_consent:
        run.emit(GrantConsent(purpose, _consent_proof(run, purpose, proof)))
    for purpose in actions.refuse_consent:
        run.emit(RefuseConsent(purpose, _consent_proof(run, purpose, proof)))
    if actions.opt_in:
        run.emit(OptIn())
    if actions.opt_out:
        run.emit(OptOut())
    for tag in actions.add_tags:
        run.emit(AddTag(tag, source))
    for tag in actions.remove_tags:
        run.emit(RemoveTag(tag, source))
    for name, value in actions.set_field:
        run.emit(SetField(name, value, source, run.brand.fields[name].category))
    if actions.claim_gift is not None:
        gift = actions.claim_gift
        run.emit(RecordEvent("gift_claimed", {"campaign": gift.campaign, "gift": gift.code}))
    if actions.event is not None:
        kind, data = actions.event
        run.emit(RecordEvent(kind, dict(data)))
    if actions.escalate:
        run.emit(Escalate(actions.escalate))


def _consent_proof(run: Run, purpose: str, base: Mapping[str, Any]) -> dict[str, Any]:
    """What the fan agreed to, in which words, where and when."""
    return {
        **base,
        "version": run.brand.version,
        "language": run.language,
        "purpose_text": run.brand.settings.consent[purpose][run.language],
        "at": run.now.isoformat(),
    }

"""The dialog engine: one fan, one input, one `Outcome` (effects + new state).

    outcome = handle(brand, fan, Text("I want a bag"), now)

`handle` is pure: it reads the compiled brand, the fan snapshot and the input, and
returns what should happen. It never raises on a fan's input and never reads the
clock; `now` must be timezone-aware.

Where the work happens: `dialogs.run` (the fan's working copy), `dialogs.flow`
(entering steps, `end`, `next_question`, the return stack) and `dialogs.actions`
(buttons, keyword routes, answers). This module routes each kind of input.

Version rule: the state names a dialog and a step. If that step still exists in
the brand version at hand, the fan continues there. If only the dialog still exists,
a text starts that dialog again at its entry; if the dialog is gone, the text is
treated as if no dialog were open (keywords, then fallback). Return-stack entries
that no longer exist are skipped. A button whose data no longer resolves gets the
brand's `button_expired` text and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from dialogs.actions import answer, button_named, follow, keyword_route, press, wrong_answer
from dialogs.effects import (
    AddTag,
    CampaignStart,
    KeywordHit,
    Outcome,
    RecordEvent,
    Reply,
    Skipped,
    Source,
)
from dialogs.flow import current_step, goto, new_thread
from dialogs.inputs import ButtonPress, DailyOpener, FanSnapshot, GoTo, Input, Media, Start, Text
from dialogs.model import CompiledBrand, Target
from dialogs.run import Run

__all__ = ["handle"]


def handle(brand: CompiledBrand, fan: FanSnapshot, event: Input, now: datetime) -> Outcome:
    """Run one input for one fan; see the module docstring for the rules."""
    run = Run(brand, fan, now)
    match event:
        case Start():
            _on_start(run, event)
        case Text():
            _on_text(run, event)
        case ButtonPress():
            _on_button(run, event)
        case Media():
            _on_media(run)
        case DailyOpener():
            _on_daily(run)
        case GoTo():
            _on_goto(run, event)
    return run.finish()


def _on_start(run: Run, event: Start) -> None:
    new_thread(run)
    code = event.payload
    campaign = run.brand.campaigns.get(code) if code else None
    if code:
        run.emit(CampaignStart(code, known=campaign is not None))
    if campaign is not None:
        for tag in campaign.tags:
            run.emit(AddTag(tag, Source("campaign", campaign.code)))
        if campaign.start is not None:
            goto(run, campaign.start)
            return
    routes = run.brand.routes
    returning = routes.restart is not None and not run.fan.is_new
    goto(run, routes.restart if returning and routes.restart else routes.start)


def _on_text(run: Run, event: Text) -> None:
    lexicon = run.brand.lexicon
    hits = lexicon.find(event.text)
    for keyword in hits:
        run.emit(KeywordHit(keyword))
        for tag in lexicon.tags_for(keyword):
            run.emit(AddTag(tag, Source("keyword", keyword)))
    step, stale_dialog = current_step(run)
    # While a free-text answer is expected, only a message that is nothing but a
    # keyword ("help", "人工") leaves the question: "Stopford" is a city, not "stop".
    awaiting = step is not None and step.capture is not None
    exact = lexicon.exact(event.text) if awaiting else None
    route = keyword_route(run, hits, exact)
    if route is not None:
        follow(run, route)
    elif stale_dialog is not None:
        goto(run, Target(run.brand.dialogs[stale_dialog].entry))
    elif step is not None and step.capture is not None:
        answer(run, step, event.text)
    elif step is not None and (button := button_named(step, event.text)) is not None:
        press(run, button, None)  # the fan typed a button's label instead of tapping it
    else:
        goto(run, run.brand.routes.fallback)


def _on_button(run: Run, event: ButtonPress) -> None:
    button = run.brand.buttons.get(event.data)
    if button is None:
        text = run.render(run.brand.texts["button_expired"], None)
        if text is not None:
            run.emit(Reply(text))
        return
    press(run, button, event.message_id)


def _on_media(run: Run) -> None:
    step, _ = current_step(run)
    if step is not None and step.capture is not None:
        wrong_answer(run, step)
        return
    routes = run.brand.routes
    goto(run, routes.media or routes.fallback)


def _on_daily(run: Run) -> None:
    topics = run.brand.daily_topics
    if "daily" not in run.consents:
        run.emit(Skipped("the fan has not agreed to the daily conversation"))
        return
    if not topics:
        run.emit(Skipped("the brand has no daily topics"))
        return
    done = [topic for topic in run.topics_done if topic in topics]
    remaining = [topic for topic in topics if topic not in done]
    if not remaining:  # a new round; avoid repeating yesterday's topic if we can
        last = done[-1] if done else None
        done = []
        remaining = [topic for topic in topics if topic != last] or list(topics)
    topic = remaining[0]
    run.topics_done = [*done, topic]
    run.emit(RecordEvent("daily_topic", {"topic": topic}))
    new_thread(run)
    goto(run, Target(run.brand.dialogs[topic].entry))


def _on_goto(run: Run, event: GoTo) -> None:
    ref = run.brand.resolve(event.target)
    if ref is None:
        run.emit(Skipped(f"unknown step '{event.target}'"))
        return
    new_thread(run)
    goto(run, Target(ref))

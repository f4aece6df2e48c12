"""Moving between steps: entering, skipping, flowing on, returning, asking questions.

`goto` shows steps from a target until one waits for the fan (buttons or a capture)
or the conversation ends. `end` pops the return stack (`next: {go: x, then: y}`
pushed `y`) or closes the conversation; `next_question` becomes the next profile
question that is due.
"""

from __future__ import annotations

from dialogs.effects import LoopStopped, Reply, ReplyButton
from dialogs.model import END, NEXT_QUESTION, Button, Step, Target
from dialogs.run import Run

__all__ = ["button_label", "current_step", "goto", "keyboard", "new_thread"]

_MAX_HOPS = 25  # steps entered for one input before we suspect a loop


def new_thread(run: Run) -> None:
    """Start, daily topics, hand-backs and keyword routes begin a fresh conversation."""
    run.position = None
    run.reasks = 0
    run.stack.clear()


def current_step(run: Run) -> tuple[Step | None, str | None]:
    """The step the fan is at, or (None, dialog id) if only its dialog survived."""
    if run.position is None:
        return None, None
    step = run.brand.steps.get(run.position)
    if step is not None:
        return step, None
    dialog = run.position.partition(".")[0]
    run.position, run.reasks = None, 0
    return None, (dialog if dialog in run.brand.dialogs else None)


def goto(run: Run, target: Target) -> None:
    """Enter steps from `target` until one waits for the fan or the conversation ends."""
    run.reasks = 0
    if target.then is not None:
        run.stack.append(target.then)
    ref = target.go
    for _ in range(_MAX_HOPS):
        if ref == END:
            if not run.stack:
                run.position = None
                return
            ref = run.stack.pop()
            continue
        if ref == NEXT_QUESTION:
            ref = _due_question(run) or END
            continue
        step = run.brand.steps.get(ref)
        if step is None:  # a return point from an older brand version
            ref = END
            continue
        skip = _skip_target(run, step)
        if skip is not None:
            if skip.then is not None:
                run.stack.append(skip.then)
            ref = skip.go
            continue
        _show(run, step)
        if step.waits:
            run.position = ref
            return
        ref = step.next.go if step.next else END
        if step.next is not None and step.next.then is not None:
            run.stack.append(step.next.then)
    run.emit(LoopStopped(ref))
    run.position = None


def _skip_target(run: Run, step: Step) -> Target | None:
    """Where to go instead of showing `step`, if it should be skipped."""
    if step.answers and any(name in run.fields for name in step.answers):
        return step.next or Target(END)  # a profile question is never asked once answered
    rule = step.skip_if
    if rule is None:
        return None
    if (
        (rule.consent is not None and rule.consent in run.consents)
        or (rule.tag is not None and rule.tag in run.tags)
        or (rule.field is not None and rule.field in run.fields)
    ):
        return step.skip_to or step.next or Target(END)
    return None


def _due_question(run: Run) -> str | None:
    """The first profile question not answered and not asked today (needs consent)."""
    if "profiling" not in run.consents:
        return None
    for question in run.brand.routes.profile_questions:
        if any(name in run.fields for name in question.fields):
            continue
        if run.asked.get(question.fields[0]) == run.today:
            continue
        return question.step
    return None


def _show(run: Run, step: Step) -> None:
    """Send the step; if its text fails to render, its fallback, else the brand's."""
    text = run.render(step.text, step.ref)
    if text is None:
        text = run.render(step.fallback, step.ref)
    if text is None:
        text = run.render(run.brand.texts["fallback"], step.ref)
    if text is not None:
        run.emit(Reply(text, keyboard(run, step), step=step.ref))
    if step.answers:
        run.asked[step.answers[0]] = run.today


def keyboard(run: Run, step: Step) -> tuple[tuple[ReplyButton, ...], ...]:
    buttons = [ReplyButton(button_label(run, button), button.data) for button in step.buttons]
    size = step.columns
    return tuple(tuple(buttons[start : start + size]) for start in range(0, len(buttons), size))


def button_label(run: Run, button: Button) -> str:
    return button.label.get(run.language) or next(iter(button.label.values()), "?")

"""Compile dialogs: steps, buttons, captures, actions; resolve every reference."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dialogs.callbacks import CALLBACK_LIMIT, callback_data
from dialogs.checker import Checker
from dialogs.compile_fields import field_value
from dialogs.files import DialogPart, DialogsPart
from dialogs.lexicon import normalize
from dialogs.model import (
    END,
    NEXT_QUESTION,
    Actions,
    Button,
    Capture,
    Dialog,
    FieldDef,
    FieldValue,
    Gift,
    SkipRule,
    Step,
)
from dialogs.schema import (
    ActionsSpec,
    ButtonSpec,
    CaptureSpec,
    SkipIfSpec,
    StepSpec,
)
from dialogs.yamlnodes import Path, YamlDoc

__all__ = ["StepCompiler", "index_dialogs"]


def index_dialogs(checker: Checker, files: Iterable[DialogsPart]) -> dict[str, DialogPart]:
    """Collect every dialog (reporting duplicates) and tell the checker what exists."""
    declared: dict[str, DialogPart] = {}
    for part in files:
        for dialog_id, dialog in part.dialogs.items():
            if dialog_id in declared:
                first = declared[dialog_id].doc.file
                message = f"dialog '{dialog_id}' is already declared in {first}"
                checker.report(part.doc, ("dialogs", dialog_id), message, on_key=True)
                continue
            declared[dialog_id] = dialog
            checker.dialogs.steps[dialog_id] = list(dialog.steps)
            checker.dialogs.entries[dialog_id] = _entry(checker, dialog_id, dialog)
    return declared


def _entry(checker: Checker, dialog_id: str, dialog: DialogPart) -> str:
    """The entry step: `entry:` if given, else the first step."""
    wanted = dialog.spec.entry if dialog.spec else None
    if wanted is not None and wanted in dialog.steps:
        return f"{dialog_id}.{wanted}"
    if wanted is not None:
        message = f"dialog '{dialog_id}' has no step '{wanted}'"
        checker.report(dialog.doc, ("dialogs", dialog_id, "entry"), message)
    return f"{dialog_id}.{next(iter(dialog.steps), '')}"


@dataclass
class StepCompiler:
    checker: Checker
    fields: Mapping[str, FieldDef]
    gifts: Mapping[str, Gift | None]  # campaign code -> its gift
    broken_campaigns: frozenset[str]  # declared but unreadable: reported already
    default_language: str | None
    answers: Mapping[str, tuple[str, ...]]  # profile question step -> fields answering it
    buttons: dict[str, Button] = field(default_factory=dict)  # callback data -> button

    def dialogs(
        self, declared: Mapping[str, DialogPart]
    ) -> tuple[dict[str, Dialog], dict[str, Step]]:
        dialogs: dict[str, Dialog] = {}
        steps: dict[str, Step] = {}
        for dialog_id, part in declared.items():
            entry = self.checker.dialogs.entries[dialog_id]
            daily = part.spec.daily if part.spec else False
            dialogs[dialog_id] = Dialog(dialog_id, entry, daily)
            for step_id, spec in part.steps.items():
                if spec is None:
                    continue  # its shape problems are reported already
                path: Path = ("dialogs", dialog_id, "steps", step_id)
                ref = f"{dialog_id}.{step_id}"
                steps[ref] = self.step(part.doc, path, dialog_id, step_id, spec)
        self._check_loops(declared, steps)
        return dialogs, steps

    def step(self, doc: YamlDoc, path: Path, dialog: str, step_id: str, spec: StepSpec) -> Step:
        ref = f"{dialog}.{step_id}"
        check = self.checker
        capture = self._capture(doc, (*path, "capture"), spec.capture) if spec.capture else None
        buttons = self._buttons(doc, path, ref, spec, capture)
        if spec.skip_to is not None and spec.skip_if is None:
            check.report(doc, (*path, "skip_to"), "skip_to needs skip_if", on_key=True)
        return Step(
            ref=ref,
            text=check.template_texts(doc, (*path, "text"), spec.text),
            fallback=check.template_texts(doc, (*path, "fallback"), spec.fallback)
            if spec.fallback
            else None,
            buttons=tuple(buttons),
            columns=spec.columns,
            capture=capture,
            next=check.target(doc, (*path, "next"), spec.next, dialog),
            skip_if=self._skip_rule(doc, (*path, "skip_if"), spec.skip_if)
            if spec.skip_if
            else None,
            skip_to=check.target(doc, (*path, "skip_to"), spec.skip_to, dialog),
            answers=self.answers.get(ref, ()),
        )

    def _buttons(
        self, doc: YamlDoc, path: Path, ref: str, spec: StepSpec, capture: Capture | None
    ) -> list[Button]:
        """Option buttons of a choice capture first, then the step's own buttons."""
        placed: list[tuple[Path, Button]] = []
        if capture is not None and spec.capture is not None and spec.capture.option_buttons:
            option_path = (*path, "capture", "option_buttons")
            placed += [(option_path, item) for item in self._option_buttons(ref, capture.field)]
        for index, button_spec in enumerate(spec.buttons):
            button_path = (*path, "buttons", index)
            placed.append((button_path, self._button(doc, button_path, ref, button_spec)))
        self._register(doc, placed)
        return [button for _, button in placed]

    def _capture(self, doc: YamlDoc, path: Path, spec: CaptureSpec) -> Capture | None:
        target = self.fields.get(spec.field)
        reask = (
            self.checker.template_texts(doc, (*path, "reask"), spec.reask) if spec.reask else None
        )
        if target is None:
            self._unknown_field(doc, (*path, "field"), spec.field)
            return None
        if spec.option_buttons and target.type != "choice":
            message = (
                f"option_buttons needs a choice field; '{spec.field}' is a {target.type} field"
            )
            self.checker.report(doc, (*path, "option_buttons"), message)
        return Capture(target, reask, spec.max_attempts)

    def _skip_rule(self, doc: YamlDoc, path: Path, rule: SkipIfSpec) -> SkipRule:
        if rule.consent is None and rule.tag is None and rule.field is None:
            self.checker.report(doc, path, "skip_if needs consent, tag or field", on_key=True)
        if rule.field is not None and rule.field not in self.fields:
            self._unknown_field(doc, (*path, "field"), rule.field)
        return SkipRule(rule.consent, rule.tag, rule.field)

    def _button(self, doc: YamlDoc, path: Path, step: str, spec: ButtonSpec) -> Button:
        label = self.checker.plain_texts(doc, (*path, "label"), spec.label)
        for language, text in label.items():
            if "{{" in text or "{%" in text:
                message = "button labels are plain text; {{ }} and {% %} are not allowed here"
                self.checker.report(doc, (*path, "label", language), message)
        # Capped so "dialog.step#key" sources stay short (storage keeps 128 characters).
        key = spec.id or normalize(label.get(self.default_language or "", ""))[:40] or "?"
        go = self.checker.target(doc, (*path, "go"), spec.go, step.split(".")[0])
        actions = self.actions(doc, path, spec)
        return Button(step, key, label, callback_data(step, key), actions, go)

    def _option_buttons(self, step: str, target: FieldDef) -> list[Button]:
        """One button per option of a choice field, setting the field."""
        buttons = []
        for option in target.options:
            actions = Actions(set_field=((target.name, option.value),))
            key = f"option:{option.value}"
            buttons.append(
                Button(step, key, option.label, callback_data(step, key), actions, None)
            )
        return buttons

    def _register(self, doc: YamlDoc, placed: list[tuple[Path, Button]]) -> None:
        """Check one step's buttons and add them to the callback table."""
        keys: set[str] = set()
        for path, button in placed:
            if button.key in keys:
                message = f"two buttons of this step have the key '{button.key}'; give one an id"
                self.checker.report(doc, path, message)
                continue
            keys.add(button.key)
            size = len(button.data.encode())
            if size > CALLBACK_LIMIT:
                message = f"button data is {size} bytes; Telegram allows {CALLBACK_LIMIT}"
                self.checker.report(doc, path, message)
            other = self.buttons.setdefault(button.data, button)
            if other is not button:
                message = f"button data collides with a button of {other.step}; give one an id"
                self.checker.report(doc, path, message)

    def actions(self, doc: YamlDoc, path: Path, spec: ActionsSpec) -> Actions:
        """Check and convert the action keys shared by buttons and keyword routes."""
        check = self.checker
        if (
            spec.set_language is not None
            and check.languages
            and spec.set_language not in check.languages
        ):
            offered = ", ".join(check.languages)
            message = f"'{spec.set_language}' is not one of the brand's languages ({offered})"
            check.report(doc, (*path, "set_language"), message)
        event = (spec.event.kind, dict(spec.event.data)) if spec.event else None
        return Actions(
            set_language=spec.set_language,
            grant_consent=tuple(spec.grant_consent),
            refuse_consent=tuple(spec.refuse_consent),
            opt_in=spec.opt_in,
            opt_out=spec.opt_out,
            add_tags=tuple(spec.add_tags),
            remove_tags=tuple(spec.remove_tags),
            set_field=self._set_fields(doc, (*path, "set_field"), spec.set_field),
            claim_gift=self._gift(doc, (*path, "claim_gift"), spec.claim_gift),
            event=event,
            escalate=spec.escalate,
        )

    def _set_fields(
        self, doc: YamlDoc, path: Path, values: Mapping[str, object]
    ) -> tuple[tuple[str, FieldValue], ...]:
        result: list[tuple[str, FieldValue]] = []
        for name, raw in values.items():
            target = self.fields.get(name)
            if target is None:
                self._unknown_field(doc, (*path, name), name, on_key=True)
                continue
            value, why = field_value(target, raw)
            if value is None:
                self.checker.report(
                    doc, (*path, name), f"{raw!r} does not fit field '{name}': {why}"
                )
                continue
            result.append((name, value))
        return tuple(result)

    def _unknown_field(self, doc: YamlDoc, path: Path, name: str, *, on_key: bool = False) -> None:
        if name not in self.checker.field_names:  # a broken field is reported already
            self.checker.report(doc, path, f"unknown field '{name}'", on_key=on_key)

    def _gift(self, doc: YamlDoc, path: Path, code: str | None) -> Gift | None:
        if code is None:
            return None
        if code not in self.gifts:
            if code not in self.broken_campaigns:
                self.checker.report(doc, path, f"unknown campaign '{code}'")
            return None
        gift = self.gifts[code]
        if gift is None:
            self.checker.report(doc, path, f"campaign '{code}' has no gift")
        return gift

    def _check_loops(self, declared: Mapping[str, DialogPart], steps: Mapping[str, Step]) -> None:
        """Steps that only flow on (no buttons, no capture) must not lead back to themselves."""
        reported: set[frozenset[str]] = set()
        for ref, step in steps.items():
            seen: list[str] = []
            current: Step | None = step
            while current is not None and not current.waits and current.ref not in seen:
                seen.append(current.ref)
                nxt = current.next.go if current.next else END
                current = steps.get(nxt) if nxt not in (END, NEXT_QUESTION) else None
            if current is None or current.waits or current.ref != ref:
                continue
            if frozenset(seen) in reported:
                continue
            reported.add(frozenset(seen))
            dialog, _, step_id = ref.partition(".")
            doc = declared[dialog].doc
            path: Path = ("dialogs", dialog, "steps", step_id, "next")
            loop = " -> ".join([*seen, ref])
            self.checker.report(
                doc,
                path,
                f"these steps lead back to each other without waiting for the fan: {loop}",
            )

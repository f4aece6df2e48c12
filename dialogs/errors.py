"""The exceptions of the dialog-script package, and the `Problem` a brand editor reads.

    DialogsError             base of everything raised by `dialogs`
    ├── InvalidBrandError    a brand folder has mistakes; carries every `Problem` found
    └── RenderError          a template failed while rendering (caught by the engine,
                             which then sends fallback text and reports `RenderFailed`)

`handle` also raises ValueError for a naive `now`: that is a programming error.

The engine itself never raises on a fan's input: a stale button, a garbled state or
a template error all become effects, so one fan's odd message cannot break a handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DialogsError", "InvalidBrandError", "Problem", "RenderError"]


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a brand folder, at a 1-based line and column of a file."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class DialogsError(Exception):
    """Base class of the errors raised by the dialogs package."""


class InvalidBrandError(DialogsError):
    """A brand version was rejected; nothing of it was loaded."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"the brand has {count} problem(s):\n{lines}")


class RenderError(DialogsError):
    """A template raised while rendering (security error, undefined value, maths...)."""

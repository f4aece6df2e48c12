"""Read a fan's free-text answer into a typed profile field value.

Each function returns the value, or None when the answer does not fit (the engine
then re-asks). Answers are read generously: "I wear ３８.5" is a number, "Woman" a
choice, "1990年5月17日" a date.
"""

from __future__ import annotations

import re
from datetime import date

from dialogs.lexicon import edge_trimmed, normalize
from dialogs.model import FieldDef, FieldValue

__all__ = ["parse_answer"]

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEAR_LAST = re.compile(r"(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*[-/.]\s*(\d{4})")


def parse_answer(field: FieldDef, text: str, today: date) -> FieldValue | None:
    """`text` as a value of `field`, or None if it is not a valid answer."""
    if field.type == "number":
        return _number(field, text)
    if field.type == "choice":
        return _choice(field, text)
    if field.type == "date":
        return _date(field, text, today)
    return _text(field, text)


def _text(field: FieldDef, text: str) -> str | None:
    value = " ".join(text.split())
    if not edge_trimmed(value):
        return None  # only punctuation or emoji
    if field.min_length <= len(value) <= field.max_length:
        return value
    return None


def _number(field: FieldDef, text: str) -> int | float | None:
    found = _NUMBER.findall(normalize(text))  # NFKC turns "３８" into "38"
    if len(found) != 1:
        return None  # no number, or "38 or 39": ask again
    value = float(found[0].replace(",", "."))
    if field.integer and not value.is_integer():
        return None
    if field.minimum is not None and value < field.minimum:
        return None
    if field.maximum is not None and value > field.maximum:
        return None
    return int(value) if value.is_integer() else value


def _choice(field: FieldDef, text: str) -> str | None:
    if field.choices is None:
        return None
    found = field.choices.find(text)
    return found[0] if len(set(found)) == 1 else None  # none or ambiguous: ask again


def _date(field: FieldDef, text: str, today: date) -> date | None:
    value = _read_date(normalize(text))
    if value is None:
        return None
    earliest = today if field.earliest == "today" else field.earliest
    latest = today if field.latest == "today" else field.latest
    if earliest is not None and value < earliest:
        return None
    if latest is not None and value > latest:
        return None
    return value


def _read_date(text: str) -> date | None:
    match = _YEAR_FIRST.search(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _safe_date(year, month, day)
    match = _YEAR_LAST.search(text)
    if match is None:
        return None
    a, b = int(match[1]), int(match[3])
    separator, year = match[2], int(match[4])
    if separator == "/" and a <= 12 and b <= 12 and a != b:
        return None  # 05/06/1990: May 6 or 5 June? Ask for the year first.
    if separator == "/" and b > 12:
        a, b = b, a  # 05/17/1990 can only be month/day/year
    return _safe_date(year, b, a)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None

"""Keyword matching: find every lexicon term in a fan's text in one pass.

Texts and terms are compared after Unicode NFKC normalization and case folding, so
"ＢＡＧ", "Bag" and "bag" are the same word. Matching is by substring, because Chinese
and Japanese are written without spaces ("想买个包包" contains "包包").

Plain substring matching would make "bag" fire inside "garbage", so a term that starts
with a letter of a script written with spaces (Latin, Cyrillic, Greek, Hangul...) must
start at a word start; with `whole_words` it must also end at a word end. Terms in
CJK, Thai and similar scripts match anywhere.

All terms are compiled once per brand version into an Aho-Corasick automaton, so a
text is scanned once whatever the number of keywords.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Lexicon", "LexiconEntry", "TermMatcher", "edge_trimmed", "normalize"]

T = TypeVar("T")

# Scripts written without spaces between words: terms in them match anywhere.
_UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def normalize(text: str) -> str:
    """The form in which texts and terms are compared."""
    return unicodedata.normalize("NFKC", text).casefold()


def edge_trimmed(text: str) -> str:
    """`text` without leading/trailing spaces, punctuation and symbols ("help!" -> "help")."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    if not char.isalnum():
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _UNSPACED_RANGES)


@dataclass(frozen=True)
class _Term(Generic[T]):
    length: int
    start_bound: bool  # must begin at a word start
    end_bound: bool  # must end at a word end
    payload: T


class TermMatcher(Generic[T]):
    """An Aho-Corasick automaton over normalized terms, each carrying a payload."""

    def __init__(self, terms: Iterable[tuple[str, T]], *, whole_words: bool = False) -> None:
        self._goto: list[dict[str, int]] = [{}]
        self._fail: list[int] = [0]
        self._out: list[list[_Term[T]]] = [[]]
        for text, payload in terms:
            term = normalize(text)
            if term:
                self._add(term, payload, whole_words=whole_words)
        self._link()

    def _add(self, term: str, payload: T, *, whole_words: bool) -> None:
        state = 0
        for char in term:
            following = self._goto[state].get(char)
            if following is None:
                following = len(self._goto)
                self._goto[state][char] = following
                self._goto.append({})
                self._fail.append(0)
                self._out.append([])
            state = following
        end_bound = whole_words and _is_word_char(term[-1])
        self._out[state].append(_Term(len(term), _is_word_char(term[0]), end_bound, payload))

    def _link(self) -> None:
        """Breadth-first pass setting each state's failure link and inherited outputs."""
        queue = deque(self._goto[0].values())
        while queue:
            state = queue.popleft()
            for char, following in self._goto[state].items():
                queue.append(following)
                fallback = self._fail[state]
                while fallback and char not in self._goto[fallback]:
                    fallback = self._fail[fallback]
                target = self._goto[fallback].get(char, 0)
                self._fail[following] = target if target != following else 0
                self._out[following] = self._out[following] + self._out[self._fail[following]]

    def find(self, text: str) -> list[T]:
        """Payloads of the terms found in `text`, in order of first occurrence, no repeats."""
        folded = normalize(text)
        found: list[T] = []
        state = 0
        for index, char in enumerate(folded):
            while state and char not in self._goto[state]:
                state = self._fail[state]
            state = self._goto[state].get(char, 0)
            for term in self._out[state]:
                if term.payload not in found and _bounded(folded, index, term):
                    found.append(term.payload)
        return found


def _bounded(text: str, last: int, term: _Term[T]) -> bool:
    first = last - term.length + 1
    if term.start_bound and first > 0 and _is_word_char(text[first - 1]):
        return False
    return not (term.end_bound and last + 1 < len(text) and _is_word_char(text[last + 1]))


@dataclass(frozen=True)
class LexiconEntry:
    keyword: str
    synonyms: Sequence[str]  # every language together
    tags: Sequence[str] = ()


class Lexicon:
    """The brand's keywords, compiled once per brand version."""

    def __init__(self, entries: Sequence[LexiconEntry]) -> None:
        self._tags: Mapping[str, tuple[str, ...]] = {
            entry.keyword: tuple(entry.tags) for entry in entries
        }
        pairs = [(synonym, entry.keyword) for entry in entries for synonym in entry.synonyms]
        self._matcher: TermMatcher[str] = TermMatcher(pairs)
        self._exact: dict[str, set[str]] = {}
        for synonym, keyword in pairs:
            self._exact.setdefault(edge_trimmed(normalize(synonym)), set()).add(keyword)

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(self._tags)

    def find(self, text: str) -> list[str]:
        """Keywords mentioned anywhere in `text`, in order of first mention."""
        return self._matcher.find(text)

    def exact(self, text: str) -> frozenset[str]:
        """Keywords for which `text` is nothing but one of their synonyms ("Help!")."""
        return frozenset(self._exact.get(edge_trimmed(normalize(text)), ()))

    def tags_for(self, keyword: str) -> tuple[str, ...]:
        return self._tags.get(keyword, ())

"""Keyword matching: normalization, Chinese without spaces, word starts, many keywords."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import CompiledBrand
from dialogs.lexicon import Lexicon, LexiconEntry, TermMatcher, edge_trimmed, normalize

LEXICON = Lexicon(
    [
        LexiconEntry("buy", ["buy", "purchase", "买", "购买"]),
        LexiconEntry("handbag", ["handbag", "bag", "purse", "女包", "包包", "手袋"], ["bags"]),
        LexiconEntry("human", ["human", "real person", "人工"]),
    ]
)


def test_english_sentence_hits_in_order_of_mention() -> None:
    assert LEXICON.find("I want to buy a handbag") == ["buy", "handbag"]


def test_chinese_without_spaces_hits() -> None:
    assert LEXICON.find("想买个包包") == ["buy", "handbag"]


def test_case_width_and_compatibility_forms_are_folded() -> None:
    assert LEXICON.find("ＢＵＹ a BAG!") == ["buy", "handbag"]
    assert normalize("Ｓｔｒａßｅ") == "strasse"


def test_a_latin_term_must_start_a_word_but_may_end_inside_one() -> None:
    assert LEXICON.find("garbage") == []
    assert LEXICON.find("two bags please") == ["handbag"]
    assert LEXICON.find("rebuy") == []


def test_multi_word_terms_and_overlaps() -> None:
    assert LEXICON.find("a real person please") == ["human"]
    assert LEXICON.find("人工智能包包") == ["human", "handbag"]


def test_each_keyword_is_reported_once() -> None:
    assert LEXICON.find("bag bag handbag 包包") == ["handbag"]


def test_exact_means_nothing_but_a_synonym() -> None:
    assert LEXICON.exact("  Human!! ") == {"human"}
    assert LEXICON.exact("人工。") == {"human"}
    assert LEXICON.exact("a human") == frozenset()


def test_keyword_tags() -> None:
    assert LEXICON.tags_for("handbag") == ("bags",)
    assert LEXICON.tags_for("unknown") == ()


def test_whole_words_also_need_a_word_end() -> None:
    matcher = TermMatcher([("man", "male"), ("woman", "female")], whole_words=True)

    assert matcher.find("I'm a woman") == ["female"]
    assert matcher.find("many") == []
    assert matcher.find("man") == ["male"]


def test_edge_trimmed() -> None:
    assert edge_trimmed("  ¡¡hola!! 🙂") == "hola"
    assert edge_trimmed("?!") == ""


def test_many_keywords_compile_once_and_match_fast() -> None:
    entries = [LexiconEntry(f"k{i}", [f"w{i}x", f"词{i}号"]) for i in range(3000)]
    lexicon = Lexicon(entries)

    assert lexicon.find("x w2999x y 词17号") == ["k2999", "k17"]


def test_demo_brand_lexicon_has_the_required_keywords(demo_brand: CompiledBrand) -> None:
    required = {"buy", "handbag", "shoes", "price", "human", "help", "stop"}

    assert required <= set(demo_brand.lexicon.keywords)
    assert demo_brand.lexicon.find("I want to buy a handbag") == ["buy", "handbag"]
    assert demo_brand.lexicon.find("想买个包包") == ["buy", "handbag"]


@settings(deadline=None)
@given(st.text())
def test_any_text_never_crashes_the_matcher(text: str) -> None:
    found = LEXICON.find(text)

    assert len(found) == len(set(found))
    assert set(found) <= {"buy", "handbag", "human"}
    assert LEXICON.exact(text) <= {"buy", "handbag", "human"}


@settings(deadline=None)
@given(st.lists(st.text(min_size=1), max_size=20), st.text())
def test_any_terms_and_text_never_crash(terms: list[str], text: str) -> None:
    matcher = TermMatcher([(term, index) for index, term in enumerate(terms)])

    for index in matcher.find(text):
        assert normalize(terms[index]) in normalize(text)

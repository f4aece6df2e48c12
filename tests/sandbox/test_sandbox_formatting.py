"""parse_mode handling and automatic entities, as plain functions."""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.formatting import apply_parse_mode, auto_entities, parse_html, utf16_len


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("a👋b") == 4


def test_html_nested_and_links() -> None:
    text, entities = parse_html('<b>bold <i>both</i></b> <a href="https://x.y">link</a> &lt;3')
    assert text == "bold both link <3"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://x.y"},
    ]


def test_html_pre_with_language() -> None:
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>open", "Can't find end tag"),
        ("<b>a</i>", "Unmatched end tag"),
        ("<div>x</div>", 'Unsupported start tag "div"'),
    ],
)
def test_html_errors(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_html(source)
    assert raised.value.code == 400
    assert raised.value.description.startswith("Bad Request: can't parse entities: ")
    assert reason in raised.value.description


def test_markdown_v2() -> None:
    text, entities = apply_parse_mode(
        r"*bold* _it_ __u__ ~s~ ||sp|| `c` [l](http://a\.b) 1\.5", "MarkdownV2", None
    )
    assert text == "bold it u s sp c l 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "http://a.b"


def test_markdown_v2_reserved_character() -> None:
    with pytest.raises(ApiError, match="reserved"):
        apply_parse_mode("Price: 5.00!", "MarkdownV2", None)


def test_explicit_entities_win() -> None:
    explicit = [{"type": "bold", "offset": 0, "length": 2}]
    assert apply_parse_mode("<b>", "HTML", explicit) == ("<b>", explicit)


def test_auto_entities() -> None:
    entities = auto_entities("/start@my_bot go to https://example.com #tag @someone")
    assert [(e["type"], e["offset"]) for e in entities] == [
        ("bot_command", 0),
        ("url", 20),
        ("hashtag", 40),
        ("mention", 45),
    ]

"""Sandboxed templates: escape routes fail safely, run-time errors fall back, filters work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from jinja2 import TemplateSyntaxError

from dialogs import FanSnapshot, RenderError, RenderFailed, Text, compile_brand, handle
from dialogs.templates import TemplateEngine, fit_message, utf16_length

CONTEXT: dict[str, Any] = {
    "fan": {"first_name": "Ann", "language": "en", "fields": {"city": "Paris"}, "tags": ()},
    "origin": {},
    "brand": {"name": "Mini", "consent": {}},
    "today": date(2025, 4, 1),
    "now": datetime(2025, 4, 1, 10, 0),
    "greeting": "Good morning",
}

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ 'x'.format }}",
    "{{ ''.format_map }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0.__class__.__mro__}'.format_map({}) }}",
    "{{ fan.__class__ }}",
    "{{ fan.fields.__class__.__subclasses__() }}",
    "{{ fan.first_name.__class__.__base__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__.os }}",
    "{{ range(10) }}",
    "{{ self.__init__.__globals__ }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ fan.fields.update(city='x') }}",
    "{{ 'x' * 100000 }}",
    "{{ 9 ** 99999 }}",
    "{{ '%s' % fan }}",
    "{{ '{:>999999999}'.format(1) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escape_routes_fail_safely_at_run_time(source: str) -> None:
    """Even without the checker, rendering refuses (RenderError), never leaks."""
    engine = TemplateEngine()

    with pytest.raises(RenderError):
        engine.render(engine.compile(source), CONTEXT)


def test_attr_filter_does_not_exist() -> None:
    with pytest.raises(TemplateSyntaxError):
        TemplateEngine().compile("{{ ''|attr('format') }}")


# Only visible at run time: the sandbox above refuses them.
RUN_TIME_ONLY = {
    "{{ 'x'.format }}",
    "{{ ''.format_map }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{0.__class__.__mro__}'.format_map({}) }}",
    "{{ 'x' * 100000 }}",
    "{{ 9 ** 99999 }}",
    "{{ '%s' % fan }}",
    "{{ '{:>999999999}'.format(1) }}",
}


@pytest.mark.parametrize("source", [*ESCAPES, "{{ ''|attr('format') }}"])
def test_the_checker_refuses_the_escape_routes_it_can_see(source: str) -> None:
    template, issues = TemplateEngine().prepare(source, ["city"])

    if source in RUN_TIME_ONLY:
        assert (template is not None, issues) == (True, [])
    else:
        assert template is None
        assert issues


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hi {{ fan.first_name }}", "Hi Ann"),
        ("{{ fan.fields.city|upper }}", "PARIS"),
        ("{{ fan.last_name|default('friend') }}", "friend"),
        ("{% if fan.fields.shoe_size %}size{% else %}no size{% endif %}", "no size"),
        ("{{ today|date }}", "1 April 2025"),
        ("{{ today|date('short') }}", "01/04/2025"),
        ("{{ '2025-05-17'|date('%d.%m') }}", "17.05"),
        ("{{ greeting }}, {{ fan.first_name|title }}", "Good morning, Ann"),
        ("{{ 'x' * 3 }}", "xxx"),
    ],
)
def test_personalization(source: str, expected: str) -> None:
    engine = TemplateEngine()

    assert engine.render(engine.compile(source), CONTEXT) == expected


def test_chinese_dates() -> None:
    engine = TemplateEngine()
    context = {**CONTEXT, "fan": {**CONTEXT["fan"], "language": "zh"}}

    assert engine.render(engine.compile("{{ today|date }}"), context) == "2025年4月1日"


@pytest.mark.parametrize(
    "source", ["{{ fan.last_name }}", "{{ fan.fields.shoe_size }}", "{{ 1 // fan.fields.zero }}"]
)
def test_printing_a_missing_value_is_an_error(source: str) -> None:
    engine = TemplateEngine()

    with pytest.raises(RenderError):
        engine.render(engine.compile(source), CONTEXT)


def test_empty_output_is_an_error() -> None:
    engine = TemplateEngine()

    with pytest.raises(RenderError, match="empty"):
        engine.render(engine.compile("{% if false %}x{% endif %}  "), CONTEXT)


def test_long_output_is_cut_to_the_telegram_limit() -> None:
    assert fit_message("a" * 5000) == "a" * 4095 + "…"
    assert utf16_length("🙂") == 2
    cut = fit_message("🙂" * 3000)
    assert utf16_length(cut) <= 4096
    assert cut.endswith("…")


BROKEN_AT_RUN_TIME = """\
entries:
  start: hello
  fallback: hello
fields:
  city: {type: text, category: registration}
dialogs:
  hello:
    steps:
      hi:
        text:
          en: "You live in {{ fan.fields.city }}"
          zh: "你住在{{ fan.fields.city }}"
        fallback:
          en: "Hello there!"
          zh: "你好！"
        next: bare
      bare:
        text:
          en: "{{ fan.fields.city }} rocks"
          zh: "{{ fan.fields.city }}很棒"
"""


@pytest.fixture
def fragile_brand_fan(
    minimal_files: dict[str, str], make_fan: Callable[..., FanSnapshot]
) -> Callable[[], list[Any]]:
    minimal_files["dialogs/main.yaml"] = BROKEN_AT_RUN_TIME
    brand = compile_brand(minimal_files, "v1")
    now = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)

    def run() -> list[Any]:
        return list(handle(brand, make_fan(is_new=False), Text("hi"), now).effects)

    return run


def test_a_run_time_error_sends_fallback_text_and_says_so(
    fragile_brand_fan: Callable[[], list[Any]],
) -> None:
    effects = fragile_brand_fan()
    texts = [effect.text for effect in effects if hasattr(effect, "text")]
    failures = [effect for effect in effects if isinstance(effect, RenderFailed)]

    # the step's own fallback, then the brand's generic fallback; never the raw template
    assert texts == ["Hello there!", "Sorry, I didn't quite get that."]
    assert [failure.step for failure in failures] == ["hello.hi", "hello.bare"]
    assert all("city" in failure.error for failure in failures)
    assert not any("{{" in text for text in texts)

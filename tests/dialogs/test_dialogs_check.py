"""The checker: each broken brand gives exactly the expected `file:line:column: message`.

Every case starts from the valid minimal brand (conftest.MINIMAL_BRAND) and adds or
replaces one small file, so the line numbers below can be read off the case text.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dialogs import InvalidBrandError, check_brand, compile_brand


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    text: str | None  # None removes the file
    expected: list[str]


STEP = """\
dialogs:
  extra:
    steps:
      one:
"""

CASES = [
    Case(
        "yaml syntax error",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好\n        next: end\n",
        [
            "dialogs/more.yaml:6:13: YAML syntax error: expected ',' or '}', but got ':' "
            "(while parsing a flow mapping); inside { } or [ ], put texts containing "
            ", ? : { } [ ] in quotes"
        ],
    ),
    Case(
        "tab indentation",
        "dialogs/more.yaml",
        STEP + "\ttext: {en: Hi, zh: 你好}\n",
        [
            "dialogs/more.yaml:5:1: YAML syntax error: found character '\\t' that cannot "
            "start any token (while scanning for the next token); indent with spaces, not tabs"
        ],
    ),
    Case(
        "unknown key, with a suggestion",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        buttons:\n          - lable: {en: Go}\n",
        [
            "dialogs/more.yaml:7:13: missing required key 'label'",
            "dialogs/more.yaml:7:13: unknown key 'lable' (did you mean 'label'?)",
        ],
    ),
    Case(
        "missing required key",
        "dialogs/more.yaml",
        STEP + "        next: end\n",
        ["dialogs/more.yaml:4:7: missing required key 'text'"],
    ),
    Case(
        "wrong type",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        columns: many\n",
        ["dialogs/more.yaml:6:18: expected a whole number, got 'many'"],
    ),
    Case(
        "unknown step or dialog",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        next: nowhere\n",
        ["dialogs/more.yaml:6:15: unknown step or dialog 'nowhere'"],
    ),
    Case(
        "unknown step of a known dialog, unknown dialog",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        next: {go: hello.nope, then: bye.x}\n",
        [
            "dialogs/more.yaml:6:20: dialog 'hello' has no step 'nope'",
            "dialogs/more.yaml:6:38: unknown dialog 'bye'",
        ],
    ),
    Case(
        "duplicate key in one file",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        text: {en: Yo, zh: 哟}\n",
        ["dialogs/more.yaml:6:9: duplicate key 'text' (first written at line 5)"],
    ),
    Case(
        "duplicate dialog across files",
        "dialogs/more.yaml",
        "dialogs:\n  hello:\n    steps:\n      x:\n        text: {en: a, zh: b}\n",
        ["dialogs/more.yaml:2:3: dialog 'hello' is already declared in dialogs/main.yaml"],
    ),
    Case(
        "missing and unknown translation",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, fr: Salut}\n",
        [
            "dialogs/more.yaml:5:9: missing 'zh' translation",
            "dialogs/more.yaml:5:24: 'fr' is not one of the brand's languages (en, zh)",
        ],
    ),
    Case(
        "jinja syntax error, on its line inside a | block",
        "dialogs/more.yaml",
        STEP
        + "        text:\n          en: |\n            Hello\n            {{ fan.first_name }\n"
        "          zh: 你好\n",
        ["dialogs/more.yaml:8:13: template error: unexpected '}'"],
    ),
    Case(
        "unknown variable, attribute and field in templates",
        "dialogs/more.yaml",
        STEP + '        text:\n          en: "{{ name }} {{ fan.fields.town }}"\n'
        '          zh: "{{ fan.frist_name }}"\n',
        [
            "dialogs/more.yaml:6:15: unknown field 'town' in fan.fields",
            "dialogs/more.yaml:6:15: unknown variable 'name' "
            "(available: fan, origin, brand, today, now, greeting)",
            "dialogs/more.yaml:7:15: 'fan' has no 'frist_name' "
            "(it has: first_name, last_name, username, language, fields, tags)",
        ],
    ),
    Case(
        "sandbox escapes are refused by the checker",
        "dialogs/more.yaml",
        STEP + "        text:\n          en: \"{{ ''|attr('format') }}\"\n"
        '          zh: "{{ cycler.__init__.__globals__ }}"\n',
        [
            "dialogs/more.yaml:6:15: template error: No filter named 'attr'.",
            "dialogs/more.yaml:7:15: names starting with _ are not available",
            "dialogs/more.yaml:7:15: unknown variable 'cycler' "
            "(available: fan, origin, brand, today, now, greeting)",
        ],
    ),
    Case(
        "text over 4096 characters",
        "dialogs/more.yaml",
        STEP + "        text: {en: " + "x" * 4097 + ", zh: 你好}\n",
        ["dialogs/more.yaml:5:20: text is too long: 4097 characters, Telegram allows 4096"],
    ),
    Case(
        "button label with a template",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        buttons:\n"
        '          - label: {en: "Hi {{ fan.first_name }}", zh: 好}\n',
        [
            "dialogs/more.yaml:7:25: button labels are plain text; "
            "{{ }} and {% %} are not allowed here"
        ],
    ),
    Case(
        "two buttons with the same label",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        buttons:\n"
        "          - label: {en: Yes, zh: 是}\n          - label: {en: Yes, zh: 对}\n",
        ["dialogs/more.yaml:8:13: two buttons of this step have the key 'yes'; give one an id"],
    ),
    Case(
        "capture into an undeclared field, skip_if on one",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        capture: {field: town}\n"
        "        skip_if: {field: zip}\n",
        [
            "dialogs/more.yaml:6:26: unknown field 'town'",
            "dialogs/more.yaml:7:26: unknown field 'zip'",
        ],
    ),
    Case(
        "choice option without every language, option buttons on a text field",
        "dialogs/more.yaml",
        "fields:\n  gender:\n    type: choice\n    category: registration\n    options:\n"
        "      female: {label: {en: Woman}}\n" + STEP + "        text: {en: Hi, zh: 你好}\n"
        "        capture: {field: city, option_buttons: true}\n",
        [
            "dialogs/more.yaml:6:16: missing 'zh' translation",
            "dialogs/more.yaml:12:48: option_buttons needs a choice field; 'city' is a text field",
        ],
    ),
    Case(
        "field keys that do not fit the type",
        "dialogs/more.yaml",
        "fields:\n"
        "  size: {type: number, category: registration, min: 50, max: 40, max_length: 3}\n"
        "  bday: {type: date, category: registration, min: yesterday}\n"
        "  mood: {type: choice, category: feelings}\n",
        [
            "dialogs/more.yaml:2:53: min is larger than max",
            "dialogs/more.yaml:2:66: 'max_length' does not apply to a number field",
            "dialogs/more.yaml:3:51: expected a date like 1990-05-17 or the word today, "
            "got 'yesterday'",
            "dialogs/more.yaml:4:34: expected 'registration', 'operation' or 'transaction', "
            "got 'feelings'",
        ],
    ),
    Case(
        "a wrong shape hides the step's other checks (one problem at a time per step)",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        buttons:\n"
        "          - label: {en: Go, zh: 走}\n"
        "            claim_gift: promo\n"
        "            grant_consent: newsletter\n",
        [
            "dialogs/more.yaml:9:28: expected 'daily', 'offers' or 'profiling', got 'newsletter'",
        ],
    ),
    Case(
        "actions with unknown references or values",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        buttons:\n"
        "          - label: {en: Go, zh: 走}\n"
        "            claim_gift: promo\n"
        "            set_language: fr\n"
        "            set_field: {city: 3, zip: x}\n",
        [
            "dialogs/more.yaml:8:25: campaign 'promo' has no gift",
            "dialogs/more.yaml:9:27: 'fr' is not one of the brand's languages (en, zh)",
            "dialogs/more.yaml:10:31: 3 does not fit field 'city': expected a text value",
            "dialogs/more.yaml:10:34: unknown field 'zip'",
        ],
    ),
    Case(
        "steps that loop without waiting",
        "dialogs/more.yaml",
        STEP + "        text: {en: Hi, zh: 你好}\n        next: two\n"
        "      two:\n        text: {en: Hi, zh: 你好}\n        next: one\n",
        [
            "dialogs/more.yaml:6:15: these steps lead back to each other without waiting "
            "for the fan: extra.one -> extra.two -> extra.one"
        ],
    ),
    Case(
        "reserved and malformed ids",
        "dialogs/more.yaml",
        "dialogs:\n  extra:\n    steps:\n      end:\n        text: {en: Hi, zh: 你好}\n"
        "      Step-2:\n        text: {en: Hi, zh: 你好}\n",
        [
            "dialogs/more.yaml:4:7: 'end' is a reserved word and cannot be an id",
            "dialogs/more.yaml:6:7: 'Step-2' is not a valid id: use lowercase letters, "
            "digits and _, starting with a letter (at most 40 characters)",
        ],
    ),
    Case(
        "a second entries section",
        "dialogs/more.yaml",
        "entries:\n  start: hello\n  fallback: hello\n",
        ["dialogs/more.yaml:1:1: entries are already declared in dialogs/main.yaml"],
    ),
    Case(
        "invalid campaign code, campaign start to nowhere",
        "campaigns.yaml",
        "campaigns:\n  spring gift!:\n    name: Bad\n  ok:\n    name: Fine\n    start: nowhere\n",
        [
            "campaigns.yaml:2:3: 'spring gift!' is not a valid campaign code: "
            "1-64 characters of A-Z, a-z, 0-9, _ and -",
            "campaigns.yaml:6:12: unknown dialog 'nowhere'",
        ],
    ),
    Case(
        "brand settings",
        "brand.yaml",
        """\
name: Mini
default_language: fr
languages: [en, zh]
timezone: Mars/Olympus
quiet_hours: late
frequency_caps: {per_day: 3, per_week: 1}
daily_time: "25:00"
consent:
  daily: {en: Daily chat, zh: 每日聊天}
  offers: {en: Offers}
  profiling: {en: Profile, zh: 个人资料}
""",
        [
            "brand.yaml:2:19: default_language 'fr' is not in languages",
            "brand.yaml:4:11: unknown timezone 'Mars/Olympus' "
            "(use a name like Asia/Shanghai or Europe/Paris)",
            "brand.yaml:5:14: expected hours like 21:00-09:00, got 'late'",
            "brand.yaml:6:40: per_week must be at least per_day",
            "brand.yaml:7:13: expected a time like 10:00, got '25:00'",
            "brand.yaml:10:3: missing 'zh' translation",
        ],
    ),
    Case(
        "brand.yaml with a broken key still checks translations elsewhere",
        "brand.yaml",
        "name: Mini\ndefault_language: en\nlanguages: [en, zh]\ntimezone: UTC\n"
        "frequency_caps: {per_day: 1}\ndaily_time: '10:00'\n"
        "consent: {daily: {en: a, zh: b}, offers: {en: a, zh: b}, profiling: {en: a, zh: b}}\n",
        ["brand.yaml:5:1: missing required key 'per_week'"],
    ),
    Case(
        "missing brand.yaml",
        "brand.yaml",
        None,
        ["brand.yaml:1:1: missing file brand.yaml"],
    ),
    Case(
        "unknown file name",
        "campaign.yaml",
        "campaigns: {}\n",
        [
            "campaign.yaml:1:1: unknown file 'campaign.yaml': a brand has brand.yaml, "
            "campaigns.yaml, rules.yaml and dialogs/*.yaml"
        ],
    ),
    Case(
        "an empty dialog file is fine",
        "dialogs/more.yaml",
        "",
        [],
    ),
    Case(
        "rules.yaml is read with the rest of the brand",
        "rules.yaml",
        "this is: [not even valid YAML\n",
        [
            "rules.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence); inside { } or [ ], put texts containing "
            ", ? : { } [ ] in quotes"
        ],
    ),
    Case(
        "yes and no stay text (YAML 1.1 would make them booleans)",
        "dialogs/more.yaml",
        STEP + "        text: {en: Sure, zh: 确定吗}\n        buttons:\n"
        "          - label: {en: Yes, zh: 是}\n          - label: {en: No, zh: 否}\n",
        [],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_brand_reports_exact_problems(minimal_files: dict[str, str], case: Case) -> None:
    if case.text is None:
        del minimal_files[case.file]
    else:
        minimal_files[case.file] = case.text

    problems = [str(problem) for problem in check_brand(minimal_files)]

    assert problems == case.expected


def test_minimal_brand_is_valid(minimal_files: dict[str, str]) -> None:
    assert check_brand(minimal_files) == []
    assert compile_brand(minimal_files, "v1").settings.name == "Mini"


def test_compile_refuses_an_invalid_brand_with_every_problem(
    minimal_files: dict[str, str],
) -> None:
    minimal_files["dialogs/more.yaml"] = STEP + "        text: {en: Hi}\n        next: nowhere\n"

    with pytest.raises(InvalidBrandError) as caught:
        compile_brand(minimal_files, "v2")

    assert [str(problem) for problem in caught.value.problems] == [
        "dialogs/more.yaml:5:9: missing 'zh' translation",
        "dialogs/more.yaml:6:15: unknown step or dialog 'nowhere'",
    ]
    assert "dialogs/more.yaml:5:9: missing 'zh' translation" in str(caught.value)


def test_problems_in_many_files_are_all_reported(minimal_files: dict[str, str]) -> None:
    minimal_files["campaigns.yaml"] = "campaigns:\n  promo: {name: P, start: nowhere}\n"
    minimal_files["dialogs/a.yaml"] = STEP.replace("extra", "a") + "        text: {en: A}\n"
    minimal_files["dialogs/b.yaml"] = STEP.replace("extra", "b") + "        txt: {en: B}\n"

    problems = [str(problem) for problem in check_brand(minimal_files)]

    assert problems == [
        "campaigns.yaml:2:27: unknown dialog 'nowhere'",
        "dialogs/a.yaml:5:9: missing 'zh' translation",
        "dialogs/b.yaml:4:7: missing required key 'text'",
        "dialogs/b.yaml:5:9: unknown key 'txt' (did you mean 'text'?)",
    ]


def test_a_broken_brand_yaml_still_lets_translations_be_checked(
    minimal_files: dict[str, str],
) -> None:
    minimal_files["brand.yaml"] = minimal_files["brand.yaml"].replace("daily_time", "daly_time")
    minimal_files["dialogs/more.yaml"] = STEP + "        text: {en: Hi}\n"

    problems = [str(problem) for problem in check_brand(minimal_files)]

    assert problems == [
        "brand.yaml:1:1: missing required key 'daily_time'",
        "brand.yaml:7:1: unknown key 'daly_time' (did you mean 'daily_time'?)",
        "dialogs/more.yaml:5:9: missing 'zh' translation",
    ]


def test_button_data_that_cannot_fit_is_reported(
    minimal_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our data is always 10 bytes; simulate a scheme that makes long data.
    monkeypatch.setattr(
        "dialogs.compile_steps.callback_data", lambda step, key: f"d:{step}/{key}" * 10
    )

    problems = [str(problem) for problem in check_brand(minimal_files)]

    assert problems == ["dialogs/main.yaml:14:13: button data is 130 bytes; Telegram allows 64"]

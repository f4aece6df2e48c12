"""Reading YAML with positions, and the YAML 1.1 surprises we defuse for editors."""

from __future__ import annotations

from dialogs.yamlnodes import Mark, parse_yaml


def test_every_key_and_value_has_its_position() -> None:
    doc, problems = parse_yaml("f.yaml", "a:\n  b: [x, y]\n  c: {d: 1}\n")

    assert problems == []
    assert doc is not None
    assert doc.mark(("a", "b")) == Mark(2, 6)
    assert doc.mark(("a", "b"), on_key=True) == Mark(2, 3)
    assert doc.mark(("a", "b", 1)) == Mark(2, 10)
    assert doc.mark(("a", "c", "d")) == Mark(3, 10)
    assert doc.mark(("a", "missing", "deeper")) == Mark(2, 3)  # nearest existing ancestor


def test_yes_no_on_off_stay_text_and_only_true_false_are_booleans() -> None:
    doc, _ = parse_yaml("f.yaml", "a: yes\nb: No\nc: off\nd: true\ne: FALSE\n")

    assert doc is not None
    assert doc.data == {"a": "yes", "b": "No", "c": "off", "d": True, "e": False}


def test_times_and_dates_stay_text_numbers_are_numbers() -> None:
    doc, _ = parse_yaml("f.yaml", "t: 10:30\nd: 2025-05-01\ni: 38\nf: 38.5\nx: 0x10\nn: ~\n")

    assert doc is not None
    assert doc.data == {"t": "10:30", "d": "2025-05-01", "i": 38, "f": 38.5, "x": 16, "n": None}


def test_a_duplicate_key_is_reported_where_it_is_written_again() -> None:
    _, problems = parse_yaml("f.yaml", "a: 1\nb: 2\na: 3\n")

    assert [str(problem) for problem in problems] == [
        "f.yaml:3:1: duplicate key 'a' (first written at line 1)"
    ]


def test_a_recursive_alias_is_a_problem_not_a_crash() -> None:
    _, problems = parse_yaml("f.yaml", "a: &x [1, *x]\n")

    assert [str(problem) for problem in problems] == ["f.yaml:1:4: an alias refers to itself"]


def test_an_alias_bomb_is_stopped() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")

    doc, problems = parse_yaml("f.yaml", "\n".join(lines) + "\n")

    assert doc is None
    assert [problem.message for problem in problems] == [
        "the file is too large or repeats aliases too often"
    ]


def test_python_tags_are_refused() -> None:
    _, problems = parse_yaml("f.yaml", "a: !!python/object:os.system ls\n")

    assert [str(problem) for problem in problems] == [
        "f.yaml:1:4: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"
    ]


def test_merge_keys_are_refused() -> None:
    _, problems = parse_yaml("f.yaml", "base: &b {x: 1}\nother:\n  <<: *b\n")

    assert [str(problem) for problem in problems] == [
        "f.yaml:3:3: merge keys (<<) are not supported; write the keys out"
    ]


def test_lines_inside_a_literal_block_map_to_file_lines() -> None:
    doc, _ = parse_yaml("f.yaml", "text:\n  en: |\n    one\n      two\n  zh: 一\n")

    assert doc is not None
    assert doc.template_line(("text", "en"), 1) == Mark(3, 5)
    assert doc.template_line(("text", "en"), 2) == Mark(4, 7)
    assert doc.template_line(("text", "zh"), 1) == Mark(5, 7)  # not a block: its start


def test_an_empty_file_has_no_data() -> None:
    doc, problems = parse_yaml("f.yaml", "")

    assert problems == []
    assert doc is not None
    assert doc.data is None

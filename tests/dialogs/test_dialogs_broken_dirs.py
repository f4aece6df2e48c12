"""Broken brand folders on disk (tests/dialogs/broken/<case>/) and their expected.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs import InvalidBrandError, check_brand_dir, compile_brand_dir

BROKEN = Path(__file__).resolve().parent / "broken"
CASES = sorted(path for path in BROKEN.iterdir() if path.is_dir())


@pytest.mark.parametrize("folder", CASES, ids=[path.name for path in CASES])
def test_broken_folder_reports_expected_problems(folder: Path) -> None:
    expected = (folder / "expected.txt").read_text(encoding="utf-8").splitlines()

    assert [str(problem) for problem in check_brand_dir(folder)] == expected


@pytest.mark.parametrize("folder", CASES, ids=[path.name for path in CASES])
def test_broken_folder_never_half_loads(folder: Path) -> None:
    with pytest.raises(InvalidBrandError):
        compile_brand_dir(folder, "v1")


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "brand.yaml").write_bytes(b"name: caf\xe9\n")

    assert [str(problem) for problem in check_brand_dir(tmp_path)] == [
        "brand.yaml:1:1: the file is not UTF-8 text"
    ]

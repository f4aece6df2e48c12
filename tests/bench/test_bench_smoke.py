"""Every benchmark run end to end with tiny sizes, so that none of them rots.

The figures are not checked (a loaded machine makes them anything); what each run must
get right is: every message handled or sent, no 429 under the limits, the planner's
count, and the segment compiler agreeing with the Python loop.
"""

import shutil
from typing import Any

import pytest

from bench import idle, inbound, instructions, outbound, planner, segments

pytestmark = pytest.mark.slow


async def test_inbound_measures_both_bots() -> None:
    results: dict[str, Any] = await inbound.run(3, 2, 1, ["sqlite"], samples=5)
    summary = results["sqlite"]
    assert summary["baseline_updates_per_second"] > 0
    assert summary["rapport_updates_per_second"] > 0
    assert summary["p99_ms"] >= summary["p50_ms"] > 0


async def test_instructions_drains_both_bots() -> None:
    """The workers without valgrind (they only time), then one counted under it."""
    assert (await instructions._rapport("sqlite", 3, 2))[0] == 6
    assert (await instructions._bare(3, 2))[0] == 6
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    counted = instructions._count("bare", "-", 2, 1)
    assert counted["updates"] == 2
    assert counted["instructions_per_update"] > 100_000


async def test_outbound_sends_every_row_within_the_limits() -> None:
    results: dict[str, Any] = await outbound.run([1000.0], [40], 1, ["sqlite"], 0.1)
    run = results["sqlite@1000"]["runs"][0]
    assert run["sent"] == 40
    assert run["sender"]["sent"] == 40
    assert results["sqlite@1000"]["too_many_requests"] == 0
    assert run["too_many_requests_after_sandbox_stall"] == 0
    assert run["sandbox_stalls"] >= 0


def test_a_429_is_the_sandboxs_own_only_during_or_just_after_its_stall() -> None:
    stalls = [[100.0, 0.3]]  # the sandbox's loop came back at 100.0, 0.3 s late
    assert outbound.after_a_stall([99.8, 100.05, 100.19], stalls) == 3
    assert outbound.after_a_stall([99.5, 100.5], stalls) == 0
    assert outbound.after_a_stall([100.05], []) == 0


async def test_idle_reports_both_bots() -> None:
    results: dict[str, Any] = await idle.run(20, 0.5, ["sqlite"])
    assert results["bare_aiogram"]["idle_rss_mib"] > 0
    assert results["sqlite"]["backlog_peak_mib"] >= results["sqlite"]["idle_rss_mib"] * 0.5


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_planner_plans_every_fan_who_agreed(kind: str) -> None:
    results: dict[str, Any] = await planner.run(300, 1, [kind], seed=3)
    agreed = {fan for fan, *_ in planner.consent_rows(300, 3)}
    active = {row[0] for row in planner.fan_rows(300, 3) if row[5] == "active"}
    assert results[kind]["planned"] == len(agreed & active)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_segments_compiler_agrees_with_the_python_loop(kind: str) -> None:
    results: dict[str, Any] = await segments.run(400, 1, [kind], seed=5)
    conditions = results[kind]["conditions"]
    assert set(conditions) == set(segments.CONDITIONS)
    assert all(c["agree"] for c in conditions.values()), conditions
    assert any(c["matching"] > 0 for c in conditions.values())

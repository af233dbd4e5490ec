"""The benchmark runner's row format and discovery (the figures themselves are measured, never asserted)."""

from __future__ import annotations

import math

import pytest

from benchmarks import __main__ as runner
from benchmarks.common import Row, percentile, row, table


def test_row_judges_targets() -> None:
    assert row("x", "ratio", 1.2, "x", at_most=1.5) == Row("x", "ratio", 1.2, "x", "<= 1.5", True)
    assert row("x", "cpu", 25.0, "%", at_most=20.0).ok is False
    assert row("x", "speed", 300.0, "x real time", at_least=200.0).target == ">= 200"
    assert row("x", "band", 5.0, at_least=1.0, at_most=4.0).ok is False
    assert row("x", "plain", 3.0).ok is None
    assert row("x", "missing", math.nan, at_most=1.0).ok is False


def test_rows_survive_the_trip_between_processes() -> None:
    r = row("monitor", "frame", 4.2, "ms", at_most=10.0, note="n")
    assert Row.from_dict(r.as_dict()) == r


def test_percentile() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 95) == pytest.approx(19.5)
    assert math.isnan(percentile([], 50))


def test_tables_show_every_row() -> None:
    rows = [row("monitor", "a|b", 1234.5678, "ms", at_most=1.0), row("monitor", "cpu", 0.125, "%")]
    text = table(rows)
    assert "1,235" in text and "NO" in text and "0.125" in text
    md = table(rows, markdown=True).splitlines()
    assert md[0].startswith("| benchmark |") and len(md) == 4
    assert "a\\|b" in md[2]


def test_discovery_finds_modules_and_knows_which_can_run() -> None:
    names = runner.discover()
    assert "bench_monitor" in names
    assert runner.has_run("bench_monitor")


def test_unknown_benchmark_is_an_argument_error() -> None:
    with pytest.raises(SystemExit) as exc:
        runner.main(["--only", "no_such_thing", "--no-write"])
    assert exc.value.code == 2

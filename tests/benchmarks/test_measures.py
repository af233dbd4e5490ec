"""The bookkeeping inside the latency and soak benchmarks (the figures themselves are measured, never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.bench_latency import match
from benchmarks.bench_soak import FastClock


def test_latency_is_write_to_first_paint_showing_the_value() -> None:
    writes = [(10.000, 95), (10.300, 96), (10.600, 97)]
    paints = [(9.990, "95"),  # before its write: an older line with the same value, not this one
              (10.020, "94"), (10.030, "95"),  # 30 ms
              (10.340, "96"), (10.350, "96"),  # 40 ms (the repaint does not count again)
              ]
    assert match(writes, paints) == pytest.approx([30.0, 40.0])  # 97 was never painted: no latency for it


def test_a_value_painted_after_the_next_line_still_counts_within_a_second() -> None:
    writes = [(0.0, 90), (0.1, 91)]
    assert match(writes, [(0.15, "90"), (0.16, "91")]) == pytest.approx([150.0, 60.0])
    assert match(writes, [(1.5, "90")]) == []  # shown more than a second after the next line: lost


def test_fast_clock_keeps_running_forward_when_its_speed_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = [1000.0]
    monkeypatch.setattr("benchmarks.bench_soak.time.time", lambda: wall[0])
    clock = FastClock(600.0)
    wall[0] += 1.0
    assert clock() == pytest.approx(1600.0)
    clock.set_speed(1.0)
    wall[0] += 2.0
    assert clock() == pytest.approx(1602.0)  # continues from where it was, now at real time
    clock.set_speed(600.0)
    wall[0] += 0.5
    assert clock() == pytest.approx(1902.0)

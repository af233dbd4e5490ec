"""Properties of the delay and hysteresis over arbitrary value sequences (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from tests.alarms.helpers import engine, events, num


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(30, 160).map(float), st.just(float("nan")), st.just(float("inf"))),
                min_size=1, max_size=120))
def test_hr_alarms_alternate_and_only_start_after_the_full_delay(values: list[float]) -> None:
    eng = engine()
    for i, v in enumerate(values):
        eng.feed(num(mdc.HEART_RATE, v, 100.0 + i))
    evs = events(eng)
    by_key: dict[str, list[str]] = {}
    for e in evs:
        by_key.setdefault(e["key"], []).append(e["event"])
    for seq in by_key.values():
        assert seq == ["start", "end"] * (len(seq) // 2) + ["start"] * (len(seq) % 2)
    finite = [(100.0 + i, v) for i, v in enumerate(values) if not math.isnan(v) and v != float("inf")]
    for e in evs:
        if e["event"] != "start":
            continue
        high = e["key"].startswith("high|")
        beyond = (lambda v: v > 120) if high else (lambda v: v < 45)
        # walk back from the alarm over usable values beyond the limit, with no hole longer than stale_s
        run = [(t, v) for t, v in finite if t <= e["time"]]
        assert run and run[-1][0] == e["time"] and beyond(run[-1][1])
        start = run[-1][0]
        for (t_prev, v_prev), (t_next, _) in zip(reversed(run[:-1]), reversed(run), strict=False):
            if not beyond(v_prev) or t_next - t_prev > 10:
                break
            start = t_prev
        assert e["time"] - start >= 10  # the condition persisted for the whole delay

"""The dose and volume an infusion gave, from its entries: what a stop records and its confirmation shows."""

from __future__ import annotations

import pytest

from console.clinical import ProtocolLibrary
from console.session import infusion_given

T0 = 1_800_000_000.0
PLAN = ProtocolLibrary.builtin().get("iv-ketamine-0.5").plan(70.0)  # 35 mg = 35 mL at 52.5 mL/h over 40 min


def e(kind: str, minute: float, **data: object) -> dict[str, object]:
    return {"kind": kind, "at": T0 + minute * 60.0, "data": data}


def test_nothing_runs_before_the_start_and_at_minute_zero() -> None:
    assert infusion_given([], PLAN, T0 + 600).volume_ml == 0.0
    given = infusion_given([e("infusion_start", 0, rate_ml_h=52.5)], PLAN, T0)
    assert (given.volume_ml, given.dose_mg, given.completed, given.minutes_running) == (0.0, 0.0, False, 0.0)


def test_pauses_give_nothing_and_a_resume_may_set_a_new_rate() -> None:
    entries = [e("infusion_start", 0, rate_ml_h=60.0), e("infusion_pause", 10, reason="nausea"),
               e("infusion_resume", 25, rate_ml_h=30.0), e("infusion_stop", 35, completed=False, reason="x")]
    given = infusion_given(entries, PLAN, T0 + 90 * 60)  # long after the stop: the stop is the end
    assert (given.volume_ml, given.dose_mg) == (15.0, 15.0)  # 10 min at 60 + 10 min at 30 mL/h
    assert given.minutes_running == pytest.approx(20.0) and not given.completed


def test_entries_after_now_are_not_counted_and_a_rate_change_while_paused_waits_for_the_resume() -> None:
    entries = [e("infusion_start", 0, rate_ml_h=60.0), e("infusion_pause", 5, reason="BP"),
               e("infusion_rate", 6, rate_ml_h=120.0, reason="BP settled"), e("infusion_resume", 8),
               e("infusion_stop", 60)]
    assert infusion_given(entries, PLAN, T0 + 7 * 60).volume_ml == 5.0  # paused since minute 5
    assert infusion_given(entries, PLAN, T0 + 18 * 60).volume_ml == 25.0  # + 10 min at 120 mL/h


def test_the_planned_volume_caps_the_total_and_counts_as_completed_within_one_percent() -> None:
    start = [e("infusion_start", 0, rate_ml_h=52.5)]
    assert infusion_given(start, PLAN, T0 + 55 * 60).volume_ml == 35.0
    assert infusion_given(start, PLAN, T0 + 39.7 * 60).completed is True   # 34.74 mL: the pump's last seconds
    assert infusion_given(start, PLAN, T0 + 39.0 * 60).completed is False  # a minute early is early

"""End to end with the built-in simulator: a hypertensive infusion alarms when the BP crosses the limit, a
stable session raises nothing from start to discharge."""

from __future__ import annotations

import pytest

from console.alarms import AlarmEngine, AlarmLimits
from devices import (
    mdc,
    simulator,
)
from devices.model import AlarmPriority, Numeric, State
from tests.alarms.helpers import DEFAULTS

START = 1_750_000_000.0
SESSION_S = 100 * 60  # baseline, 40 min infusion, observation to discharge


def run_session(scenario: str, seed: int) -> tuple[AlarmEngine, list[Numeric], simulator.Simulator]:
    """Baseline from the first NIBP, then a 40 min infusion, fed to the engine in 5 s chunks, ticking each."""
    sim = simulator.Simulator(scenario, seed, waves=False, start=START)
    eng = AlarmEngine(AlarmLimits.from_dict(DEFAULTS, f"test-{scenario}"))
    seen: list[Numeric] = []

    def step(seconds: float) -> None:
        for _ in range(int(seconds // 5)):
            samples = sim.advance_sim(5.0, with_link_events=True)
            eng.feed_many(samples)
            seen.extend(s for s in samples if isinstance(s, Numeric))
            eng.tick(START + sim.elapsed)

    step(120)  # the first NIBP completes at 60 s
    first = {n.mdc: n.value for n in seen if n.mdc in (mdc.NIBP_SYS, mdc.NIBP_DIA) and n.value is not None
             and n.usable and not n.state & State.MEASURING}
    eng.set_baseline(first[mdc.NIBP_SYS], first[mdc.NIBP_DIA])
    assert sim.start_infusion(40.0)
    step(SESSION_S - 120)
    return eng, seen, sim


def test_hypertensive_infusion_raises_a_high_bp_alarm_when_the_bp_crosses_the_limit() -> None:
    eng, seen, sim = run_session("hypertensive", seed=3)
    high = [a for a in eng.history() if a.priority == AlarmPriority.HIGH]
    assert high, "no high-priority alarm in a hypertensive infusion"
    first = min(high, key=lambda a: a.started)
    assert first.mdc == mdc.NIBP  # one condition for the whole reading
    # the alarm starts exactly at the first completed measurement over the limit, not later
    crossing = next(n for n in seen if not n.state & State.MEASURING and (
        (n.mdc == mdc.NIBP_SYS and (n.value or 0) >= 180)
        or (n.mdc == mdc.NIBP_DIA and (n.value or 0) >= 110)))
    assert first.started == crossing.host_time
    assert first.value == crossing.value
    # and that is when the patient's true pressure is at the limit (measurement noise is ~1.5 mmHg)
    truth = sim.true_state(first.started - START)
    assert truth["sbp"] >= 180 - 5 or truth["dbp"] >= 110 - 5
    before = sim.true_state(first.started - START - 300)  # one NIBP interval earlier it was still below
    assert before["sbp"] < 180 and before["dbp"] < 110
    # the record got the start with the protocol version
    starts = [e for e in eng.drain_events() if e["event"] == "start" and e["priority"] == "high"]
    assert starts[0]["time"] == first.started and starts[0]["protocol_version"] == "test-hypertensive"


@pytest.mark.parametrize("seed", [0, 1])
def test_stable_session_raises_no_alarm_at_all(seed: int) -> None:
    eng, seen, _ = run_session("stable", seed)
    assert len([n for n in seen if n.mdc == mdc.NIBP_SYS and not n.state & State.MEASURING]) >= 19
    assert eng.history() == []
    assert eng.drain_events() == []


def test_disconnect_scenario_without_link_events_raises_stale_data_within_stale_s() -> None:
    sim = simulator.Simulator("disconnect", 0, waves=False, start=START)
    eng = AlarmEngine(AlarmLimits.from_dict(DEFAULTS, "t"))
    for _ in range(200):  # 1 s steps, ticking like the display timer would
        eng.feed_many(sim.advance_sim(1.0))
        eng.tick(START + sim.elapsed)
    [stale] = eng.history()
    # silent from 120 s (last numeric at 119 s): the INOP is up 10 s later and gone when data returns
    assert (stale.key, stale.priority, stale.technical) == ("stale|simulator", AlarmPriority.MEDIUM, True)
    assert stale.started - START == 129.0
    assert stale.ended is not None and stale.ended - START == 150.0


def test_desaturation_scenario_is_one_spo2_condition_escalated_after_the_delay() -> None:
    sim = simulator.Simulator("desaturation", 0, waves=False, start=START)
    eng = AlarmEngine(AlarmLimits.from_dict(DEFAULTS, "t"))
    seen: list[Numeric] = []
    for _ in range(90):
        samples = sim.advance_sim(5.0)
        seen.extend(s for s in samples if isinstance(s, Numeric) and s.mdc == mdc.SPO2)
        eng.feed_many(samples)
    [spo2] = [a for a in eng.history() if a.mdc == mdc.SPO2]  # low and critical: one condition
    assert spo2.priority == AlarmPriority.HIGH
    evs = [e for e in eng.drain_events() if e["alarm_id"] == spo2.id]
    assert [e["event"] for e in evs] == ["start", "escalate", "end"]
    start, escalate, end = evs
    assert (start["priority"], start["limit"]) == ("medium", 92) and start["value"] < 92
    assert (escalate["priority"], escalate["limit"]) == ("high", 88) and escalate["value"] < 88
    # every displayed SpO2 value in the 10 s before the escalation was already below 88 %
    window = [n.value for n in seen
              if escalate["time"] - 10 <= n.host_time <= escalate["time"] and n.value is not None]
    assert len(window) == 11 and max(window) < 88
    # it ends only once the value is back inside the low limit (92 %) by its margin, not when above 88 %
    assert spo2.ended is not None and spo2.ended - START < 420 and end["value"] >= 94
    last_low = max(n.host_time for n in seen if n.value is not None and n.value < 94 and n.host_time < spo2.ended)
    assert spo2.ended - last_low >= 5

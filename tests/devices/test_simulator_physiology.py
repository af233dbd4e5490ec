"""The simulator's physiology: the ketamine infusion response and the scenarios' timed events."""

from __future__ import annotations

import numpy as np
import pytest

from devices import mdc
from devices.model import Numeric, State, WaveBlock
from devices.simulator import SCENARIOS, Simulator
from devices.simulator.scenarios import (
    DESAT_FALL,
    DESAT_HOLD,
    DESAT_NADIR,
    DESAT_START,
    MOTION_SPAN,
    SENSOR_OFF_SPAN,
    SILENT_SPAN,
)

START = 1_700_000_000.0
MIN = 60.0


def values(samples, code, state=State.NONE):
    """(elapsed time, value) of one numeric, only those in ``state`` (any state for ``None``)."""
    return [(n.device_time - START, n.value) for n in samples
            if isinstance(n, Numeric) and n.mdc == code and (state is None or n.state == state)]


def run_headless(sim: Simulator, seconds: float, step: float = 600.0) -> list:
    out: list = []
    while sim.elapsed < seconds - 1e-9:
        out += sim.advance_sim(min(step, seconds - sim.elapsed))
    return out


# ------------------------------------------------------------------------------------------------ infusion
def test_no_infusion_unless_started_and_bp_stays_at_baseline():
    sim = Simulator(seed=0, start=START, waves=False, nibp_interval=300.0)
    samples = run_headless(sim, 60 * MIN)
    assert sim.infusions == [] and not sim.infusion_running
    sys_ = [v for _, v in values(samples, mdc.NIBP_SYS)]
    assert len(sys_) == 12 and 119 <= min(sys_) and max(sys_) <= 131


@pytest.mark.parametrize("seed", range(5))
def test_infusion_bp_peaks_30_to_40_min_after_its_start(seed):
    sim = Simulator(seed=seed, start=START, waves=False, nibp_interval=150.0)
    before = run_headless(sim, 5 * MIN)
    assert sim.start_infusion(40.0) is True
    assert sim.infusions == [(5 * MIN, 45 * MIN)]
    samples = before + run_headless(sim, 125 * MIN)
    # the model itself, densely sampled
    t = np.arange(0.0, 125 * MIN, 5.0)
    sbp = np.array([sim.true_state(x)["sbp"] for x in t])
    assert 30 * MIN <= t[np.argmax(sbp)] - 5 * MIN <= 40 * MIN
    # what the cuff shows: mean of the NIBP results in each 10-minute bin after the start is highest 30-40 min
    results = [(time - 5 * MIN, v) for time, v in values(samples, mdc.NIBP_SYS) if time > 5 * MIN]
    bins = [np.mean([v for x, v in results if 10 * MIN * k < x <= 10 * MIN * (k + 1)]) for k in range(10)]
    assert int(np.argmax(bins)) == 3


def test_stable_infusion_raises_bp_and_hr_by_the_published_amounts_then_returns_to_baseline():
    sim = Simulator(seed=0, start=START, waves=False, drift=False)
    run_headless(sim, 10 * MIN)
    sim.start_infusion(40.0)
    run_headless(sim, 11 * MIN)
    assert sim.infusion_running
    base = sim.true_state(5 * MIN)
    peak = sim.true_state(10 * MIN + 35 * MIN)
    assert 7 <= peak["sbp"] - base["sbp"] <= 16
    assert 6 <= peak["dbp"] - base["dbp"] <= 11
    assert 5 <= peak["hr"] - base["hr"] <= 10
    stop = 10 * MIN + 40 * MIN
    assert sim.true_state(stop + 60 * MIN)["sbp"] - base["sbp"] < 1.0
    assert sim.true_state(stop + 90 * MIN)["sbp"] - base["sbp"] < 0.2
    assert sim.true_state(stop + 20 * MIN)["sbp"] - base["sbp"] > 2.0  # still on its way down


def test_infusion_heart_rate_rise_shows_in_the_r_r_intervals():
    sim = Simulator(seed=2, start=START, drift=False, auto_infusion_at=0.0, nibp_interval=None)
    early = sim.advance_sim(60.0)
    sim.advance_sim(34 * MIN - 60.0)
    late = sim.advance_sim(60.0)

    def rate(samples):
        beats = [n.value for n in samples if isinstance(n, Numeric) and n.mdc == mdc.HEART_RATE]
        return float(np.mean(beats[10:]))

    assert rate(late) - rate(early) == pytest.approx(7.0, abs=1.5)
    ecg = [b for b in late if isinstance(b, WaveBlock) and b.mdc == mdc.ECG_II]
    y = np.concatenate([b.samples for b in ecg])
    peaks = np.flatnonzero((y > 0.6) & (y >= np.roll(y, 1)) & (y >= np.roll(y, -1)))
    peaks = peaks[np.insert(np.diff(peaks) > 100, 0, True)]
    assert 60.0 * 500.0 / np.diff(peaks).mean() == pytest.approx(sim.true_state(34.5 * MIN)["hr"], abs=1.0)


def test_hypertensive_scenario_reaches_180_over_110_at_the_peak():
    sim = Simulator("hypertensive", seed=0, start=START, waves=False, nibp_interval=300.0)
    samples = run_headless(sim, 2 * MIN)
    sim.start_infusion()
    samples += run_headless(sim, 60 * MIN)
    sys_ = values(samples, mdc.NIBP_SYS)
    dia = values(samples, mdc.NIBP_DIA)
    assert sys_[0][1] < 150 and dia[0][1] < 96  # hypertensive baseline, not yet alarming
    assert max(v for _, v in sys_) >= 180 and max(v for _, v in dia) >= 110
    assert sim.true_state(37 * MIN)["sbp"] >= 180 and sim.true_state(37 * MIN)["dbp"] >= 110


def test_auto_infusion_starts_at_120_s_for_40_min_and_a_manual_start_replaces_it():
    sim = Simulator(seed=0, start=START, waves=False, auto_infusion=True)
    assert sim.infusions == [(120.0, 120.0 + 40 * MIN)]
    sim.advance_sim(119.0)
    assert not sim.infusion_running
    sim.advance_sim(2.0)
    assert sim.infusion_running
    assert sim.start_infusion() is False  # one is running already
    assert sim.stop_infusion() is True
    assert not sim.infusion_running and sim.infusions == [(120.0, 121.0)]
    assert sim.stop_infusion() is False

    manual = Simulator(seed=0, start=START, waves=False, auto_infusion=True)
    manual.advance_sim(30.0)
    assert manual.start_infusion(duration_min=20.0) is True
    assert manual.infusions == [(30.0, 30.0 + 20 * MIN)]
    with pytest.raises(ValueError, match="duration_min"):
        manual.start_infusion(duration_min=0)


def test_stopping_early_makes_the_peak_the_stop():
    sim = Simulator(seed=0, start=START, waves=False, drift=False)
    sim.start_infusion(40.0)
    sim.advance_sim(15 * MIN)
    sim.stop_infusion()
    t = np.arange(0.0, 60 * MIN, 10.0)
    sbp = [sim.true_state(x)["sbp"] for x in t]
    assert t[int(np.argmax(sbp))] == pytest.approx(15 * MIN, abs=10.0)
    assert max(sbp) < 125.0 + 12.0 * 0.5


# ----------------------------------------------------------------------------------------------- scenarios
def test_desaturation_falls_to_85_for_two_minutes_then_recovers():
    sim = Simulator("desaturation", seed=0, start=START, waves=False)
    samples = sim.advance_sim(600.0)
    spo2 = values(samples, mdc.SPO2)
    assert min(v for t, v in spo2 if t < DESAT_START) >= 96
    plateau = [v for t, v in spo2 if DESAT_START + DESAT_FALL <= t < DESAT_START + DESAT_FALL + DESAT_HOLD]
    assert len(plateau) == DESAT_HOLD and max(plateau) <= DESAT_NADIR + 1 and min(plateau) >= DESAT_NADIR - 1
    assert min(v for _, v in spo2) <= 86
    assert min(v for t, v in spo2 if t >= 450.0) >= 96
    assert sim.true_state(DESAT_START + 100.0)["spo2"] == pytest.approx(DESAT_NADIR, abs=0.5)


def test_artifact_scenario_flags_motion_and_sensor_off():
    sim = Simulator("artifact", seed=0, start=START)
    samples = sim.advance_sim(SENSOR_OFF_SPAN[1] + 20.0)
    motion = range(int(MOTION_SPAN[0]), int(MOTION_SPAN[1]))
    off = range(int(SENSOR_OFF_SPAN[0]), int(SENSOR_OFF_SPAN[1]))
    for code in (mdc.SPO2, mdc.PULSE_RATE_OXIM, mdc.HEART_RATE):
        series = {n.device_time - START: n for n in samples if isinstance(n, Numeric) and n.mdc == code}
        for t, n in series.items():
            if t in motion:
                assert n.state == State.ARTIFACT | State.QUESTIONABLE and n.value is not None and not n.usable
            elif t in off and code != mdc.HEART_RATE:
                assert n.state == State.SENSOR_OFF | State.INVALID and n.value is None
            else:
                assert n.state == State.NONE and n.value is not None, (code, t)
    pleth = [b for b in samples if isinstance(b, WaveBlock) and b.mdc == mdc.PLETH]
    inside_off = [b for b in pleth if SENSOR_OFF_SPAN[0] <= b.t0 - START and
                  b.t0 - START + b.duration <= SENSOR_OFF_SPAN[1]]
    assert inside_off and all(b.state == State.SENSOR_OFF | State.INVALID and not b.samples.any()
                              for b in inside_off)
    ecg = [b for b in samples if isinstance(b, WaveBlock) and b.mdc == mdc.ECG_II]
    moving = [b for b in ecg
              if MOTION_SPAN[0] <= b.t0 - START and b.t0 - START + b.duration <= MOTION_SPAN[1]]
    still = [b for b in ecg if b.t0 - START + b.duration <= MOTION_SPAN[0]]
    assert all(b.state == State.ARTIFACT for b in moving) and all(b.state == State.NONE for b in still)
    # the movement really disturbs the trace: far more low-frequency swing than the clean ECG
    swing = np.std([np.median(b.samples) for b in moving])
    calm = np.std([np.median(b.samples) for b in still])
    assert swing > 5 * calm


def test_artifact_events_repeat_every_ten_minutes():
    sim = Simulator("artifact", seed=0, start=START, waves=False)
    samples = sim.advance_sim(800.0)
    off = [t for t, v in values(samples, mdc.SPO2, State.SENSOR_OFF | State.INVALID)]
    assert off == list(range(150, 180)) + list(range(750, 780))


def test_disconnect_scenario_is_silent_for_30_s_then_resumes_with_a_gap():
    sim = Simulator("disconnect", seed=0, start=START)
    before = sim.advance_sim(SILENT_SPAN[0] - 0.5)
    assert sim.responding
    sim.advance_sim(1.0)
    assert not sim.responding
    during = sim.advance_sim(SILENT_SPAN[1] - SILENT_SPAN[0] - 2.0)
    assert during == [] and not sim.responding
    after = sim.advance_sim(20.0)
    assert sim.responding
    hr_after = [t for t, _ in values(after, mdc.HEART_RATE)]
    assert hr_after[0] == SILENT_SPAN[1]
    for code in (mdc.ECG_II, mdc.PLETH, mdc.RESP_WAVE, mdc.CO2_WAVE):
        first, *rest = [b for b in after if isinstance(b, WaveBlock) and b.mdc == code]
        assert first.gap and not any(b.gap for b in rest)
        assert first.t0 - START >= SILENT_SPAN[1]
        last_before = [b for b in before if isinstance(b, WaveBlock) and b.mdc == code][-1]
        assert last_before.t0 - START + last_before.duration <= SILENT_SPAN[0]
        assert not any(b.gap for b in before if isinstance(b, WaveBlock))


def test_disconnect_repeats_and_other_scenarios_always_respond():
    sim = Simulator("disconnect", seed=0, start=START, waves=False)
    hr = [t for t, _ in values(sim.advance_sim(800.0), mdc.HEART_RATE)]
    missing = sorted(set(range(1, 801)) - set(hr))
    assert missing == list(range(120, 150)) + list(range(720, 750))
    for name in SCENARIOS:
        if name != "disconnect":
            other = Simulator(name, seed=0, start=START, waves=False)
            assert len(values(other.advance_sim(800.0), mdc.HEART_RATE, None)) == 800
            assert other.responding


def test_only_the_noise_scenario_asks_emulators_for_garbage_and_its_physiology_is_stable():
    assert [name for name in SCENARIOS if Simulator(name).noise] == ["noise"]
    noisy = Simulator("noise", seed=3, start=START, waves=False).advance_sim(300.0)
    stable = Simulator("stable", seed=3, start=START, waves=False).advance_sim(300.0)
    assert [(n.mdc, n.value, n.state) for n in noisy] == [(n.mdc, n.value, n.state) for n in stable]

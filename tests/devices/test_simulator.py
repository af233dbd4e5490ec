"""The built-in simulator: clocks, determinism, wave rates and morphology, numerics and the NIBP cycle.

Scenario and infusion physiology is in ``test_simulator_physiology.py``, the driver wrapper in
``test_simulator_driver.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.model import Numeric, State, WaveBlock
from devices.simulator import SCENARIOS, Baseline, Simulator
from devices.simulator.waves import BLOCK_SECONDS

START = 1_700_000_000.0
VITALS = (mdc.HEART_RATE, mdc.SPO2, mdc.PULSE_RATE_OXIM, mdc.RESP_RATE, mdc.ETCO2, mdc.TEMP)


def numerics(samples, code, state=None):
    return [s for s in samples if isinstance(s, Numeric) and s.mdc == code
            and (state is None or s.state == state)]


def blocks(samples, code):
    return [s for s in samples if isinstance(s, WaveBlock) and s.mdc == code]


def wave(samples, code):
    """(times relative to START, values) of one channel, concatenated."""
    bl = blocks(samples, code)
    y = np.concatenate([b.samples for b in bl])
    t = np.concatenate([b.t0 - START + np.arange(len(b)) / b.fs for b in bl])
    return t, y


def comparable(sample):
    """Everything about a sample except host_time (which differs between advance and advance_sim)."""
    if isinstance(sample, WaveBlock):
        return ("wave", sample.mdc, sample.label, sample.t0, sample.fs, sample.samples.tobytes(), sample.unit,
                sample.gap, sample.state, sample.source)
    if isinstance(sample, Numeric):
        return ("num", sample.mdc, sample.label, sample.value, sample.unit, sample.state, sample.device_time,
                sample.source)
    return (type(sample).__name__, repr(sample))


def r_peaks(t, y, threshold=0.6):
    """R-peak times: local maxima above ``threshold`` mV, at most one per 200 ms."""
    above = (y > threshold) & (y >= np.roll(y, 1)) & (y >= np.roll(y, -1))
    peaks: list[float] = []
    for ti in t[above]:
        if not peaks or ti - peaks[-1] > 0.2:
            peaks.append(float(ti))
    return np.array(peaks)


# ------------------------------------------------------------------------------------------- construction
def test_unknown_scenario_is_refused_with_the_list_of_known_ones():
    with pytest.raises(ValueError) as info:
        Simulator(scenario="asystole")
    for name in ("stable", "hypertensive", "desaturation", "artifact", "disconnect", "noise"):
        assert name in str(info.value)
    assert list(SCENARIOS) == ["stable", "hypertensive", "desaturation", "artifact", "disconnect", "noise"]


@pytest.mark.parametrize("speed", [0, 0.5, 600.5, 1000, -1, math.nan, math.inf, "fast", None, True])
def test_speed_outside_1_to_600_is_refused_clearly(speed):
    with pytest.raises(ValueError, match="speed"):
        Simulator(speed=speed)


def test_speed_limits_are_accepted_and_the_setter_validates_too():
    assert Simulator(speed=1).speed == 1.0
    sim = Simulator(speed=600)
    assert sim.speed == 600.0
    with pytest.raises(ValueError, match="from 1"):
        sim.speed = 0.9
    assert sim.speed == 600.0


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        Simulator(seed=seed)


def test_bad_baseline_is_refused():
    with pytest.raises(ValueError, match="hr"):
        Baseline(hr=400)
    with pytest.raises(ValueError, match="below systolic"):
        Baseline(sbp=80, dbp=90)


# -------------------------------------------------------------------------------------------------- clocks
def test_advance_maps_host_time_at_speed_and_stamps_both_clocks():
    sim = Simulator(seed=1, speed=10, start=START)
    samples = sim.advance(START + 1.0)  # 1 host second at 10x = 10 simulated seconds
    assert sim.elapsed == pytest.approx(10.0)
    assert sim.sim_time == pytest.approx(START + 10.0)
    hr = numerics(samples, mdc.HEART_RATE)
    assert [n.device_time - START for n in hr] == pytest.approx(list(range(1, 11)))
    assert {s.host_time for s in samples} == {START + 1.0}
    assert {s.source for s in samples} == {"simulator"}
    assert blocks(samples, mdc.ECG_II)[0].t0 == START


def test_first_advance_sets_start_when_not_given():
    sim = Simulator(seed=1)
    assert sim.advance(5000.0) == []
    assert sim.start == 5000.0
    samples = sim.advance(5002.0)
    assert [n.device_time for n in numerics(samples, mdc.SPO2)] == [5001.0, 5002.0]


def test_host_clock_going_back_produces_nothing_and_does_not_crash():
    sim = Simulator(seed=1, start=START)
    sim.advance(START + 5.0)
    assert sim.advance(START + 2.0) == []
    assert sim.elapsed == pytest.approx(5.0)
    later = sim.advance(START + 3.0)  # one host second after the step back: one more simulated second
    assert [n.device_time - START for n in numerics(later, mdc.HEART_RATE)] == [6.0]
    with pytest.raises(ValueError, match="now"):
        sim.advance(math.nan)


def test_advance_sim_steps_simulated_time_and_stamps_host_time_with_sim_time():
    sim = Simulator(seed=1, start=START, waves=False)
    samples = sim.advance_sim(3.0)
    assert sim.elapsed == 3.0 and sim.sim_time == START + 3.0
    assert all(s.host_time == s.device_time for s in samples)
    with pytest.raises(ValueError, match="seconds"):
        sim.advance_sim(-1.0)


def test_advance_continues_from_advance_sim_without_a_jump():
    sim = Simulator(seed=1, start=START, speed=2)
    sim.advance_sim(60.0)
    assert sim.advance(9_999_999_999.0) == []  # first host reading after a headless step: anchor only
    samples = sim.advance(9_999_999_999.0 + 1.5)
    assert [n.device_time - START for n in numerics(samples, mdc.HEART_RATE)] == [61.0, 62.0, 63.0]


# -------------------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("scenario", ["stable", "artifact", "disconnect"])
def test_output_is_identical_however_advance_is_chunked(scenario):
    chunked = Simulator(scenario, seed=3, speed=60, start=START)
    rng = np.random.default_rng(7)
    now, got = START, []
    while chunked.elapsed < 200.0:
        now += float(rng.uniform(0.0005, 0.4))
        got += chunked.advance(now)
    whole = Simulator(scenario, seed=3, start=START).advance_sim(chunked.elapsed)
    assert len(got) == len(whole) > 0
    assert [comparable(s) for s in got] == [comparable(s) for s in whole]


def test_same_seed_same_samples_different_seed_different_samples():
    a = Simulator(seed=11, start=START).advance_sim(30.0)
    b = Simulator(seed=11, start=START).advance_sim(30.0)
    c = Simulator(seed=12, start=START).advance_sim(30.0)
    assert [comparable(s) for s in a] == [comparable(s) for s in b]
    ecg_a, ecg_c = wave(a, mdc.ECG_II)[1], wave(c, mdc.ECG_II)[1]
    assert ecg_a.shape == ecg_c.shape and not np.array_equal(ecg_a, ecg_c)


def test_waves_off_gives_no_waves_and_the_same_numerics():
    with_waves = Simulator(seed=5, start=START).advance_sim(120.0)
    without = Simulator(seed=5, start=START, waves=False).advance_sim(120.0)
    assert not any(isinstance(s, WaveBlock) for s in without)
    assert [comparable(s) for s in without] == [comparable(s) for s in with_waves if isinstance(s, Numeric)]


def test_samples_come_in_simulated_time_order():
    samples = Simulator(seed=2, start=START).advance_sim(70.0)
    ready = [s.t0 + s.duration if isinstance(s, WaveBlock) else s.device_time for s in samples]
    assert ready == sorted(ready)


# --------------------------------------------------------------------------------------------------- waves
def test_sample_rates_units_and_block_lengths():
    samples = Simulator(seed=0, start=START).advance_sim(10.0)
    expected = {mdc.ECG_II: (500.0, "mV", 128), mdc.PLETH: (125.0, "1", 32),
                mdc.RESP_WAVE: (62.5, "1", 16), mdc.CO2_WAVE: (62.5, "mm[Hg]", 16)}
    for code, (fs, unit, n) in expected.items():
        bl = blocks(samples, code)
        assert len(bl) == 39  # whole 256 ms blocks in 10 s
        assert {(b.fs, b.unit, len(b), b.label) for b in bl} == {(fs, unit, n, mdc.label_of(code))}
        assert [b.t0 - START for b in bl] == pytest.approx([k * BLOCK_SECONDS for k in range(39)])
        assert not any(b.gap for b in bl)
        assert all(b.duration == pytest.approx(BLOCK_SECONDS) for b in bl)
        assert all(np.isfinite(b.samples).all() for b in bl)


def test_blocks_follow_on_across_calls_without_gaps():
    sim = Simulator(seed=0, start=START)
    samples = sim.advance_sim(1.0) + sim.advance_sim(0.3) + sim.advance_sim(5.0)
    t0s = [b.t0 - START for b in blocks(samples, mdc.PLETH)]
    assert t0s == pytest.approx([k * BLOCK_SECONDS for k in range(len(t0s))])
    assert len(t0s) == 24


@pytest.mark.parametrize("rate", [60.0, 110.0])
def test_r_peaks_of_the_ecg_recover_the_set_heart_rate(rate):
    sim = Simulator(seed=4, start=START, baseline=Baseline(hr=rate), drift=False)
    samples = sim.advance_sim(60.0)
    peaks = r_peaks(*wave(samples, mdc.ECG_II))
    intervals = np.diff(peaks)
    assert abs(60.0 / intervals.mean() - rate) < 1.0
    # beat-to-beat variability (sinus arrhythmia) is there but small
    assert 0.003 < intervals.std() / intervals.mean() < 0.05
    assert {n.value for n in numerics(samples, mdc.HEART_RATE)[10:]} <= {rate - 1, rate, rate + 1}


def test_ecg_has_p_qrs_t_morphology_around_each_r_peak():
    samples = Simulator(seed=4, start=START, drift=False).advance_sim(20.0)
    t, y = wave(samples, mdc.ECG_II)
    for r in r_peaks(t, y)[1:-1]:
        def window(a, b, r=r):
            return y[(t >= r + a) & (t <= r + b)]
        assert window(-0.01, 0.01).max() > 1.0  # R
        assert window(0.015, 0.05).min() < -0.15  # S
        assert window(-0.05, -0.015).min() < -0.03  # Q
        assert 0.07 < window(-0.22, -0.11).max() < 0.25  # P
        assert 0.2 < window(0.2, 0.4).max() < 0.45  # T


def test_pleth_pulse_follows_each_r_peak_after_the_transit_delay():
    samples = Simulator(seed=4, start=START).advance_sim(30.0)
    r = r_peaks(*wave(samples, mdc.ECG_II))
    t, y = wave(samples, mdc.PLETH)
    slope = np.gradient(y, t)
    for peak in r[(r > 1.0) & (r < 28.0)]:
        sel = (t > peak) & (t < peak + 0.5)
        steepest = t[sel][np.argmax(slope[sel])]
        assert 0.2 < steepest - peak < 0.35  # pulse transit: foot about 0.2 s after R, steepest soon after
        assert y[sel].max() > 0.8


def test_capnogram_plateaus_at_the_reported_etco2_and_breathes_at_the_reported_rate():
    samples = Simulator(seed=6, start=START).advance_sim(120.0)
    t, co2 = wave(samples, mdc.CO2_WAVE)
    rises = t[1:][(co2[1:] > 15.0) & (co2[:-1] <= 15.0)]
    rr_from_wave = 60.0 / np.diff(rises[rises > 60.0]).mean()
    rr_numeric = numerics(samples, mdc.RESP_RATE)[-1].value
    assert abs(rr_from_wave - rr_numeric) <= 1.5
    assert co2[t > 10].min() < 1.0  # inspired CO2 near zero
    etco2 = numerics(samples, mdc.ETCO2)[-1].value
    assert abs(co2[t > 100].max() - etco2) < 2.0
    # impedance respiration crosses zero upwards once per breath, like the CO2 rises
    _, resp = wave(samples, mdc.RESP_WAVE)
    ups = t[1:][(resp[1:] > 0.2) & (resp[:-1] <= 0.2)]
    assert abs(len(ups[ups > 60.0]) - len(rises[rises > 60.0])) <= 1


def test_wave_samples_are_read_only_so_blocks_can_share_memory():
    samples = Simulator(seed=0, start=START).advance_sim(1.0)
    with pytest.raises(ValueError):
        blocks(samples, mdc.ECG_II)[0].samples[0] = 5.0


# ------------------------------------------------------------------------------------------------ numerics
def test_vital_numerics_come_once_per_simulated_second_with_mdc_units():
    samples = Simulator(seed=0, start=START, waves=False).advance_sim(30.0)
    units = {mdc.HEART_RATE: "/min", mdc.SPO2: "%", mdc.PULSE_RATE_OXIM: "/min", mdc.RESP_RATE: "/min",
             mdc.ETCO2: "mm[Hg]", mdc.TEMP: "Cel"}
    for code in VITALS:
        series = numerics(samples, code)
        assert [n.device_time - START for n in series] == list(range(1, 31))
        assert {n.unit for n in series} == {units[code]}
        assert all(n.valid and n.state == State.NONE for n in series)
    first = {n.mdc: n.value for n in samples if isinstance(n, Numeric) and n.device_time == START + 20}
    assert 69 <= first[mdc.HEART_RATE] <= 75 and 97 <= first[mdc.SPO2] <= 99
    assert 12 <= first[mdc.RESP_RATE] <= 16 and 35 <= first[mdc.ETCO2] <= 39
    assert 36.6 <= first[mdc.TEMP] <= 37.0


def test_true_state_gives_every_underlying_value():
    sim = Simulator(seed=0, start=START, drift=False)
    state = sim.true_state(10.0)
    assert state == pytest.approx({"hr": 72.0, "sbp": 125.0, "dbp": 78.0, "map": 78.0 + 47.0 / 3.0,
                                   "spo2": 98.0, "rr": 14.0, "etco2": 37.0, "temp": 36.8})
    assert all(isinstance(v, float) for v in state.values())


def test_mark_demo_flags_every_sample_as_demo():
    samples = Simulator(seed=0, start=START, mark_demo=True).advance_sim(2.0)
    assert samples and all(State.DEMO in s.state for s in samples)
    assert not any(n.valid for n in samples if isinstance(n, Numeric))


# ---------------------------------------------------------------------------------------------------- NIBP
def nibp_events(samples):
    measuring = [n for n in numerics(samples, mdc.NIBP_SYS) if n.state == State.MEASURING]
    results = [(n.mdc, n.value, n.device_time - START) for n in samples
               if isinstance(n, Numeric) and n.mdc in (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)
               and n.state == State.NONE]
    return measuring, results


def test_nibp_cycle_measures_for_30_s_from_30_s_then_every_5_min():
    samples = Simulator(seed=0, start=START, waves=False).advance_sim(400.0)
    measuring, results = nibp_events(samples)
    assert [n.device_time - START for n in measuring] == list(range(30, 60)) + list(range(330, 360))
    first_sys = results[0][1]
    assert [n.value for n in measuring] == [None] * 30 + [first_sys] * 30
    assert [(code, t) for code, _, t in results] == [
        (mdc.NIBP_SYS, 60.0), (mdc.NIBP_DIA, 60.0), (mdc.NIBP_MEAN, 60.0),
        (mdc.NIBP_SYS, 360.0), (mdc.NIBP_DIA, 360.0), (mdc.NIBP_MEAN, 360.0)]
    sys_, dia, mean = (v for _, v, _ in results[:3])
    assert 118 <= sys_ <= 132 and 72 <= dia <= 84 and dia < mean < sys_
    assert all(n.unit == "mm[Hg]" for n in measuring)


def test_measure_nibp_now_starts_a_measurement_at_once():
    sim = Simulator(seed=0, start=START, waves=False, nibp_interval=None, nibp_first_at=None)
    assert not nibp_events(sim.advance_sim(100.5))[0]
    assert sim.measure_nibp_now() is True
    assert sim.nibp_measuring
    assert sim.measure_nibp_now() is False  # already measuring
    measuring, results = nibp_events(sim.advance_sim(60.0))
    assert [n.device_time - START for n in measuring] == list(range(101, 131))
    assert [(code, t) for code, _, t in results] == [
        (mdc.NIBP_SYS, 130.5), (mdc.NIBP_DIA, 130.5), (mdc.NIBP_MEAN, 130.5)]
    assert not sim.nibp_measuring
    assert sim.last_nibp == (results[0][1], results[1][1], results[2][1], START + 130.5)


def test_nibp_interval_and_first_measurement_are_configurable():
    sim = Simulator(seed=0, start=START, waves=False, nibp_interval=120.0, nibp_first_at=10.0,
                    nibp_duration=20.0)
    _, results = nibp_events(sim.advance_sim(300.0))
    assert [t for code, _, t in results if code == mdc.NIBP_SYS] == [30.0, 150.0, 270.0]
    with pytest.raises(ValueError, match="nibp_interval"):
        Simulator(nibp_interval=1.0)


def test_a_host_that_slept_gets_the_last_15_min_with_a_gap_not_hours_at_once():
    sim = Simulator(seed=0, start=START)
    sim.advance(START + 10.0)
    samples = sim.advance(START + 10.0 + 3600.0)  # laptop suspended for an hour at real-time speed
    assert sim.elapsed == pytest.approx(3610.0)
    hr = [n.device_time - START for n in numerics(samples, mdc.HEART_RATE)]
    assert hr == list(range(2711, 3611))
    for code in (mdc.ECG_II, mdc.PLETH):
        first, *rest = blocks(samples, code)
        assert first.gap and first.t0 - START >= 2710.0 and not any(b.gap for b in rest)
    # the NIBP cycle kept its 5-minute phase through the skip
    _measuring, results = nibp_events(samples)
    assert [t for code, _, t in results if code == mdc.NIBP_SYS] == [2760.0, 3060.0, 3360.0]


def test_an_automatic_measurement_due_during_a_manual_one_is_skipped_and_the_cycle_keeps_its_phase():
    sim = Simulator(seed=0, start=START, waves=False)  # automatic at 30, 330, 630 ...
    samples = sim.advance_sim(310.0)
    assert sim.measure_nibp_now()
    samples += sim.advance_sim(400.0)
    _, results = nibp_events(samples)
    assert [t for code, _, t in results if code == mdc.NIBP_SYS] == [60.0, 340.0, 660.0]

    once = Simulator(seed=0, start=START, waves=False, nibp_interval=None)  # one automatic at 30 s only
    once.advance_sim(20.0)
    once.measure_nibp_now()
    _, results = nibp_events(once.advance_sim(400.0))
    assert [t for code, _, t in results if code == mdc.NIBP_SYS] == [50.0]


def test_changing_speed_at_run_time_keeps_the_clock_continuous():
    sim = Simulator(seed=0, start=START, waves=False)
    sim.advance(START + 10.0)
    sim.speed = 60
    samples = sim.advance(START + 11.0)  # one more host second at 60x
    assert sim.elapsed == pytest.approx(70.0)
    assert [n.device_time - START for n in numerics(samples, mdc.HEART_RATE)] == list(range(11, 71))


@settings(max_examples=20, deadline=None)
@given(steps=st.lists(st.floats(min_value=0.0, max_value=4.0, allow_nan=False), min_size=1, max_size=40),
       scenario=st.sampled_from(["stable", "artifact", "disconnect"]))
def test_any_chunking_of_advance_sim_gives_the_same_samples(steps, scenario):
    chunked = Simulator(scenario, seed=9, start=START)
    got = [s for step in steps for s in chunked.advance_sim(step)]
    whole = Simulator(scenario, seed=9, start=START).advance_sim(chunked.elapsed) if chunked.elapsed else []
    assert [comparable(s) for s in got] == [comparable(s) for s in whole]

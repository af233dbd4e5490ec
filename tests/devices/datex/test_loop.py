"""Driver and emulator talking to each other, sans-I/O, over simulated minutes (no threads, no sleeps)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from devices import mdc
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.protocols.datex import DRIVER, make_emulator
from devices.protocols.datex.driver import DatexDriver
from devices.protocols.datex.emulator import DatexEmulator
from devices.protocols.datex.records import CO2, ECG1, PLETH, RESP
from devices.protocols.datex.requests import PhdbRequest, WaveRequest

START = 1_700_000_000.0
STEP = 0.1


def ecg(t: np.ndarray) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * 1.0 * t)


def pleth(t: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(2 * np.pi * 1.2 * t)


def resp(t: np.ndarray) -> np.ndarray:
    return 0.3 * np.sin(2 * np.pi * 0.25 * t)


def co2(t: np.ndarray) -> np.ndarray:
    return 20.0 + 15.0 * np.sin(2 * np.pi * 0.25 * t)


class FakeSimulator:
    """Stands in for devices.simulator: numerics once a second, four waves at rates unlike Datex's."""

    CHANNELS = ((mdc.ECG_II, 250.0, "mV", ecg), (mdc.PLETH, 125.0, "1", pleth),
                (mdc.RESP_WAVE, 62.5, "1", resp), (mdc.CO2_WAVE, 62.5, "mm[Hg]", co2))

    def __init__(self) -> None:
        self.responding = True
        self.noise = False
        self._next_index = {code: 0 for code, *_ in self.CHANNELS}
        self._next_second = 0

    def advance(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        elapsed = now - START
        for code, fs, unit, fn in self.CHANNELS:
            i0, i1 = self._next_index[code], math.floor(elapsed * fs) + 1
            if i1 > i0:
                times = START + np.arange(i0, i1) / fs
                out.append(WaveBlock(code, mdc.label_of(code), START + i0 / fs, fs, fn(times), unit,
                                     host_time=now))
                self._next_index[code] = i1
        while self._next_second <= elapsed:
            s = self._next_second
            t = START + s
            values: list[tuple[int, float | None, State]] = [
                (mdc.HEART_RATE, 72.0, State.NONE), (mdc.SPO2, 97.0, State.NONE),
                (mdc.PULSE_RATE_OXIM, 71.0, State.NONE), (mdc.RESP_RATE, 15.0, State.NONE),
                (mdc.ETCO2, 38.0, State.NONE), (mdc.TEMP, 36.6, State.NONE),
                (mdc.AWAY_RESP_RATE, 14.0, State.NONE)]
            if 10 <= s < 40:
                values.append((mdc.NIBP_SYS, None, State.MEASURING))
            elif s >= 40:
                values += [(mdc.NIBP_SYS, 118.0, State.NONE), (mdc.NIBP_DIA, 76.0, State.NONE),
                           (mdc.NIBP_MEAN, 90.0, State.NONE)]
            out += [Numeric(c, mdc.label_of(c), v, mdc.PARAMETERS[c].unit, st, t, now) for c, v, st in values]
            self._next_second += 1
        return out


def run(driver: DatexDriver, emulator: DatexEmulator, seconds: float, start_step: int = 0,
        events: dict[int, Callable[[], None]] | None = None) -> list[Sample]:
    """Step both sides every 0.1 s; ``events`` maps a step number to a callable run before that step."""
    out: list[Sample] = []
    for i in range(start_step, start_step + round(seconds / STEP)):
        if events and i in events:
            events[i]()
        now = START + i * STEP
        emulator.receive(driver.outgoing(now), now)
        out += driver.feed(emulator.outgoing(now), now)
    return out


def by_label(samples: list[Sample], kind: type[Numeric | WaveBlock]) -> dict[str, list]:
    found: dict[str, list] = {}
    for s in samples:
        if isinstance(s, kind):
            found.setdefault(s.label, []).append(s)
    return found


@pytest.fixture
def minute() -> tuple[DatexDriver, DatexEmulator, FakeSimulator, list[Sample]]:
    sim = FakeSimulator()
    driver = DRIVER(source="chair 1")
    emulator = make_emulator(sim)
    return driver, emulator, sim, run(driver, emulator, 70.0)


def test_requests_reach_the_monitor_and_renew_once_a_minute(minute) -> None:
    driver, emulator, _, _ = minute
    assert emulator.requests == [PhdbRequest(1, 5, 0x0E), WaveRequest(True, (ECG1, PLETH, CO2, RESP)),
                                 PhdbRequest(1, 5, 0x0E)]
    sent = [(round(f.host_time - START, 1), f.note) for f in driver.frame_log if f.direction == "out"]
    assert sent == [(0.0, "displayed values every 5 s"), (0.0, "waveforms ECG1, Pleth, CO2, Resp"),
                    (60.0, "displayed values every 5 s")]  # waveforms flow, so they are not asked again


def test_displayed_values_arrive_every_interval(minute) -> None:
    driver, _, _, out = minute
    assert driver.stats.extra["displayed_records"] == 14  # at 0, 5, ..., 65 s
    numerics = by_label(out, Numeric)
    hr = numerics["HR"]
    assert {(n.value, n.mdc, n.state) for n in hr} == {(72.0, mdc.HEART_RATE, State.NONE)}
    assert [n.device_time - START for n in hr] == [5.0 * k for k in range(14)]
    last = {label: items[-1] for label, items in numerics.items()}
    assert {k: last[k].value for k in ("SpO2", "PR", "RR", "T1", "etCO2", "etCO2 %", "awRR")} == {
        "SpO2": 97.0, "PR": 71.0, "RR": 15.0, "T1": 36.6, "etCO2": 38.0, "etCO2 %": 5.0, "awRR": 14.0}
    assert all(n.source == "chair 1" for n in hr)


def test_nibp_measuring_then_result(minute) -> None:
    _, _, _, out = minute
    nibp = [(n.device_time - START, n.value, n.state) for n in by_label(out, Numeric)["NBP sys"]]
    assert nibp[:2] == [(0.0, None, State.INVALID), (5.0, None, State.INVALID)]
    assert all(v is None and st == State.INVALID | State.MEASURING for t, v, st in nibp if 15 <= t < 40)
    assert all((v, st) == (118.0, State.NONE) for t, v, st in nibp if t >= 45)


def test_waveforms_arrive_at_datex_rates_contiguous_and_faithful(minute) -> None:
    driver, _, _, out = minute
    waves = by_label(out, WaveBlock)
    assert set(waves) == {"ECG1 II", "Pleth", "CO2", "Resp"}
    expect = {"ECG1 II": (300, mdc.ECG_II, "mV", ecg, 0.002), "Pleth": (100, mdc.PLETH, "%", pleth, 0.011),
              "CO2": (25, mdc.CO2_WAVE, "mm[Hg]", co2, 0.08), "Resp": (25, mdc.RESP_WAVE, "Ohm", resp, 0.011)}
    n_records = driver.stats.extra["wave_records"]
    assert n_records == 69
    for label, (fs, code, unit, fn, tol) in expect.items():
        blocks = waves[label]
        assert [(b.fs, b.mdc, b.unit) for b in blocks] == [(fs, code, unit)] * n_records
        assert [b.gap for b in blocks] == [True] + [False] * (n_records - 1)
        assert blocks[0].t0 == START
        ends = np.array([b.t0 + b.duration for b in blocks[:-1]])
        assert np.allclose([b.t0 for b in blocks[1:]], ends)
        samples = np.concatenate([b.samples for b in blocks])
        assert len(samples) == fs * n_records
        t = START + np.arange(len(samples)) / fs
        np.testing.assert_allclose(samples, fn(t), atol=tol, err_msg=label)
    assert sum(waves[k][0].fs for k in waves) <= 600


def test_silence_triggers_rerequests_and_data_resumes_with_a_gap() -> None:
    sim = FakeSimulator()
    driver, emulator = DRIVER(), make_emulator(sim)

    def mute() -> None:
        sim.responding = False

    def unmute() -> None:
        sim.responding = True

    out = run(driver, emulator, 90.0, events={300: mute, 500: unmute})  # silent from 30 s to 50 s
    events = [(round(e.host_time - START, 1), e.state) for e in out if isinstance(e, LinkEvent)]
    assert [s for _, s in events] == [LinkState.ASSOCIATED, LinkState.SILENT, LinkState.ASSOCIATED]
    # the last record before the silence came at 29 s (a waveform record): silent 10 s later
    assert events[1][0] == 39.1 and 50.0 <= events[2][0] < 51.0
    sent = [(round(f.host_time - START, 1), f.note.split()[0])
            for f in driver.frame_log if f.direction == "out"]
    wave_requests = [t for t, what in sent if what == "waveforms"]
    display_requests = [t for t, what in sent if what == "displayed"]
    # waveforms re-requested 5 s after the last one (29 s) and every 5 s after, until they flow again
    assert wave_requests[:2] == [0.0, 34.1]
    assert all(5.0 < b - a < 5.5 for a, b in itertools.pairwise(wave_requests[1:]))
    assert 50.0 < wave_requests[-1] < 56.0 and len(wave_requests) >= 5
    # displayed values (last at 25 s) re-requested after 2 × interval + 5 s without them; the periodic
    # renewal starts counting again from there
    assert display_requests == [0.0, 40.1]
    # the monitor gave up on waveforms during the silence and took the request that followed it
    assert emulator.requests.count(WaveRequest(True, (ECG1, PLETH, CO2, RESP))) == 2
    ecg = by_label(out, WaveBlock)["ECG1 II"]
    resumed = [b for b in ecg if b.t0 >= START + 30.0]
    assert resumed and resumed[0].gap and resumed[0].t0 >= START + 50.0
    assert not any(b.gap for b in resumed[1:])
    hr = [n for n in by_label(out, Numeric)["HR"] if n.device_time > START + 50.0]
    assert hr and all(n.value == 72.0 for n in hr)


def test_noise_between_frames_costs_resyncs_not_data() -> None:
    clean_sim, noisy_sim = FakeSimulator(), FakeSimulator()
    noisy_sim.noise = True
    clean, noisy = DRIVER(), DRIVER()
    clean_out = run(clean, make_emulator(clean_sim), 60.0)
    noisy_out = run(noisy, make_emulator(noisy_sim), 60.0)
    assert clean.stats.resyncs == 0 and clean.stats.frames_bad == 0
    assert noisy.stats.resyncs > 10 and noisy.stats.frames_bad >= noisy.stats.resyncs - 1
    assert noisy.stats.frames_ok == clean.stats.frames_ok == 12 + 59
    assert [(s.label, s.value, s.state) for s in noisy_out if isinstance(s, Numeric)] == \
           [(s.label, s.value, s.state) for s in clean_out if isinstance(s, Numeric)]
    np.testing.assert_array_equal(
        np.concatenate([b.samples for b in noisy_out if isinstance(b, WaveBlock)]),
        np.concatenate([b.samples for b in clean_out if isinstance(b, WaveBlock)]))


def test_close_stops_the_monitor_and_nothing_more_is_asked() -> None:
    sim = FakeSimulator()
    driver, emulator = DRIVER(), make_emulator(sim)
    run(driver, emulator, 12.0)
    now = START + 12.0
    goodbye = driver.close(now)
    emulator.receive(goodbye, now)
    assert emulator.requests[-2:] == [WaveRequest(False), PhdbRequest(1, 0, 0)]
    assert emulator.waves == () and emulator.display_interval == 0
    assert emulator.outgoing(now + 30.0) == b""
    assert driver.outgoing(now + 100.0) == b""


def test_with_the_real_simulator() -> None:
    from devices import simulator
    sim = simulator.Simulator(seed=3, start=START)
    driver = DRIVER()
    out = run(driver, make_emulator(sim), 30.0)
    assert driver.stats.frames_bad == 0 and driver.stats.extra["displayed_records"] == 6
    hr = [n.value for n in by_label(out, Numeric)["HR"] if n.value is not None]
    assert hr and all(30.0 <= v <= 200.0 for v in hr)
    waves = by_label(out, WaveBlock)
    assert {k: waves[k][0].fs for k in waves} == {"ECG1 II": 300, "Pleth": 100, "CO2": 25, "Resp": 25}

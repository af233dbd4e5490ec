"""Driver against emulator, sans-I/O: no threads, no sleeps, ``now`` stepped by 0.05 s.

The emulator is fed by a tiny fake simulator with exactly known values, so decoded numbers can be compared
exactly (wave values are chosen on the emulator's quantisation steps).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TypeVar, overload

import numpy as np
import pytest

from devices import mdc
from devices.model import LinkEvent, LinkState, Numeric, State, WaveBlock
from devices.protocols.intellivue import DRIVER, make_emulator, messages
from devices.protocols.intellivue.driver import IntelliVueDriver
from devices.protocols.intellivue.emulator import IntelliVueEmulator
from devices.protocols.intellivue.framing import encode_frame

UTC = dt.UTC
T0 = 1_750_000_000.0
STEP = 0.05
BLOCK = 0.256
WAVES = ((mdc.ECG_II, 500.0, 128, "mV"), (mdc.PLETH, 125.0, 32, "1"), (mdc.RESP_WAVE, 62.5, 16, "1"),
         (mdc.CO2_WAVE, 62.5, 16, "mm[Hg]"))


def ecg(t: np.ndarray) -> np.ndarray:
    return 0.005 * np.round(200 * np.sin(2 * math.pi * 1.2 * t))  # on the 5 uV steps


def pleth(t: np.ndarray) -> np.ndarray:
    return 0.001 * np.round(500 + 400 * np.sin(2 * math.pi * 1.2 * t))


def resp(t: np.ndarray) -> np.ndarray:
    return 0.001 * np.round(300 * np.sin(2 * math.pi * 0.25 * t))


def co2(t: np.ndarray) -> np.ndarray:
    return np.where((t % 4.0) < 2.0, 0.0, 30.0)  # raw 400 / 2200 with the real monitor's CO2 scale


FUNCTIONS = {mdc.ECG_II: ecg, mdc.PLETH: pleth, mdc.RESP_WAVE: resp, mdc.CO2_WAVE: co2}


class FakeSimulator:
    """The three members an emulator needs: ``advance(now)``, ``responding`` and ``noise``.

    Emits 256 ms wave blocks and, every second, HR 72, SpO2 97, pulse 72, RR 14, etCO2 35, temperature
    36.85; NIBP measures from 5 s to 10 s and then reads 120/80 (93).
    """

    def __init__(self, start: float = T0) -> None:
        self.start = start
        self.responding = True
        self.noise = False
        self._block = 0
        self._tick = 1

    def advance(self, now: float) -> list:
        out: list = []
        while self.start + (self._block + 1) * BLOCK <= now + 1e-9:
            t0 = self.start + self._block * BLOCK
            for code, fs, n, unit in WAVES:
                times = self._block * BLOCK + np.arange(n) / fs
                samples = FUNCTIONS[code](times)
                out.append(WaveBlock(code, mdc.label_of(code), t0, fs, samples, unit, host_time=now))
            self._block += 1
        while self.start + self._tick <= now + 1e-9:
            t = self.start + self._tick
            for code, value in ((mdc.HEART_RATE, 72.0), (mdc.SPO2, 97.0), (mdc.PULSE_RATE_OXIM, 72.0),
                                (mdc.RESP_RATE, 14.0), (mdc.ETCO2, 35.0), (mdc.TEMP, 36.85)):
                unit = mdc.PARAMETERS[code].unit
                out.append(Numeric(code, mdc.label_of(code), value, unit, State.NONE, t, now))
            if 5 <= self._tick < 10:
                out.append(Numeric(mdc.NIBP_SYS, "NBP sys", None, "mm[Hg]", State.MEASURING, t, now))
            elif self._tick == 10:
                for code, value in ((mdc.NIBP_SYS, 120.0), (mdc.NIBP_DIA, 80.0), (mdc.NIBP_MEAN, 93.0)):
                    out.append(Numeric(code, mdc.label_of(code), value, "mm[Hg]", State.NONE, t, now))
            self._tick += 1
        return out


_Sim = TypeVar("_Sim")


@overload
def make_pair() -> tuple[IntelliVueDriver, IntelliVueEmulator, FakeSimulator]: ...
@overload
def make_pair(sim: _Sim) -> tuple[IntelliVueDriver, IntelliVueEmulator, _Sim]: ...
def make_pair(sim: object = None) -> tuple[IntelliVueDriver, IntelliVueEmulator, object]:
    sim = sim or FakeSimulator()
    emulator = make_emulator(sim)
    emulator.tz = UTC
    driver = DRIVER(source="bed 1")
    driver.device_tz = UTC
    return driver, emulator, sim


def run(driver: IntelliVueDriver, emulator: IntelliVueEmulator, start: float, seconds: float,
        host_link_up: Callable[[float], bool] = lambda t: True,
        each_step: Callable[[float], None] | None = None) -> list:
    """Step both sides; ``host_link_up(now)`` False drops what the host sends (a cut TX wire)."""
    out: list = []
    for i in range(round(seconds / STEP)):
        now = start + i * STEP
        if each_step is not None:
            each_step(now)
        sent = driver.outgoing(now)
        if host_link_up(now):
            emulator.receive(sent, now)
        out += driver.feed(emulator.outgoing(now), now)
    return out


def of(samples: list, kind: type[Numeric | WaveBlock], code: int | None = None) -> list:
    return [s for s in samples if isinstance(s, kind) and (code is None or s.mdc == code)]


def events(samples: list) -> list[LinkState]:
    return [s.state for s in samples if isinstance(s, LinkEvent)]


@pytest.fixture(scope="module")
def minute() -> tuple:
    driver, emulator, _sim = make_pair()
    out = run(driver, emulator, T0, 60.0)
    return driver, emulator, out


def test_minute_association_and_polls(minute: tuple) -> None:
    driver, emulator, out = minute
    assert events(out) == [LinkState.ASSOCIATED]
    assert isinstance(out[0], LinkEvent)
    assert emulator.counts["associations"] == 1
    assert emulator.counts["mds_create_results"] == 1  # the driver answered the MDS Create
    assert emulator.counts["priority_sets"] == 1
    # each extended poll sent once and renewed once before its 60 s period ran out
    assert emulator.counts["polls_0x0006"] == emulator.counts["polls_0x0009"] == 2
    assert emulator.counts.get("timeouts", 0) == 0
    assert emulator.counts["single_polls"] >= 10  # keep-alives inside the 10 s association timeout
    assert driver.monitor_model == ("Philips", "M8000")
    assert driver.stats.frames_bad == 0 and driver.stats.resyncs == 0


def test_minute_numerics(minute: tuple) -> None:
    _, _, out = minute
    hr = of(out, Numeric, mdc.HEART_RATE)
    # one per second once polling runs, plus the immediate confirmation of the poll renewal at 40 s
    assert 59 <= len(hr) <= 61
    assert {(n.value, n.unit, n.label, n.state) for n in hr} == {(72.0, "/min", "HR", State.NONE)}
    assert all(n.valid and n.source == "bed 1" for n in hr)
    gaps = np.diff([n.device_time for n in hr])
    assert np.sum(np.abs(gaps - 1.0) > 0.06) <= 2  # the renewal's reply splits one second in two
    assert np.all(gaps <= 1.06)
    assert {n.value for n in of(out, Numeric, mdc.TEMP)} == {36.85}
    assert {(n.value, n.unit) for n in of(out, Numeric, mdc.RESP_RATE)} == {(14.0, "/min")}
    assert {(n.value, n.unit) for n in of(out, Numeric, mdc.ETCO2)} == {(35.0, "mm[Hg]")}
    # NIBP: a compound numeric, one Numeric per component, with its life cycle
    sys_ = of(out, Numeric, mdc.NIBP_SYS)
    assert sys_[0].value is None and sys_[0].state == State.UNAVAILABLE
    assert any(State.MEASURING in n.state for n in sys_)
    after = [n for n in out if isinstance(n, Numeric) and n.mdc in (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)
             and (n.device_time or 0.0) > T0 + 12]
    assert {(n.label, n.value, n.state) for n in after} == {
        ("NBP sys", 120.0, State.NONE), ("NBP dia", 80.0, State.NONE), ("NBP mean", 93.0, State.NONE)}


def test_minute_waves(minute: tuple) -> None:
    _, _, out = minute
    for code, fs, n, unit in WAVES:
        blocks = of(out, WaveBlock, code)
        assert 228 <= len(blocks) <= 234, mdc.label_of(code)  # 256 ms each over the minute
        assert {(len(b), b.fs, b.unit) for b in blocks} == {(n, fs, unit)}
        assert not any(b.gap for b in blocks)
        assert np.allclose(np.diff([b.t0 for b in blocks]), BLOCK, atol=2e-4)
        for b in blocks:
            # the monitor clock maps back onto the simulator's within one 1/8 ms tick
            k = round((b.t0 - T0) / BLOCK)
            assert abs(b.t0 - (T0 + k * BLOCK)) < 2e-4
            assert np.allclose(b.samples, FUNCTIONS[code](k * BLOCK + np.arange(n) / fs), atol=1e-9)
    ecg_ = of(out, WaveBlock, mdc.ECG_II)
    assert {b.label for b in ecg_} == {"II"}  # the monitor's label string
    assert set(np.concatenate([b.samples for b in of(out, WaveBlock, mdc.CO2_WAVE)])) == {0.0, 30.0}


def test_host_silence_makes_the_monitor_abort_then_reassociate() -> None:
    driver, emulator, _ = make_pair()
    cut = (T0 + 20.0, T0 + 34.0)
    out = run(driver, emulator, T0, 55.0, host_link_up=lambda t: not cut[0] <= t < cut[1])
    assert emulator.counts["timeouts"] == 1
    assert events(out) == [LinkState.ASSOCIATED, LinkState.LOST, LinkState.ASSOCIATED]
    lost = next(s for s in out if isinstance(s, LinkEvent) and s.state == LinkState.LOST)
    assert "aborted" in lost.message
    # the 10 s association timeout counts from the host's last message, at most 3.4 s (a keep-alive
    # interval) before the cut
    assert cut[0] + 10.0 - 3.4 <= lost.host_time <= cut[0] + 10.1
    # data flows again after the re-association, and the hole in the waves is marked, not padded
    assert [n for n in of(out, Numeric, mdc.HEART_RATE) if n.host_time > cut[1] + 5]
    ecg_ = of(out, WaveBlock, mdc.ECG_II)
    assert [b.gap for b in ecg_].count(True) == 1
    resumed = next(b for b in ecg_ if b.gap)
    previous = ecg_[ecg_.index(resumed) - 1]
    assert resumed.t0 - previous.t0 > 5


def test_monitor_silence_is_detected_and_the_driver_reassociates() -> None:
    driver, emulator, sim = make_pair()

    def toggle(now: float) -> None:
        sim.responding = not T0 + 20.0 <= now < T0 + 36.0

    out = run(driver, emulator, T0, 60.0, each_step=toggle)
    assert events(out) == [LinkState.ASSOCIATED, LinkState.SILENT, LinkState.ASSOCIATED]
    silent = next(s for s in out if isinstance(s, LinkEvent) and s.state == LinkState.SILENT)
    assert T0 + 29.7 <= silent.host_time <= T0 + 30.1  # silence_timeout: 10 s after the last reply
    assert driver.stats.extra["association_requests"] >= 3  # retried every 5 s while the monitor was mute
    assert [n for n in of(out, Numeric, mdc.HEART_RATE) if n.host_time > T0 + 45]
    ecg_ = of(out, WaveBlock, mdc.ECG_II)
    assert [b.gap for b in ecg_].count(True) == 1


def test_noise_between_frames_is_skipped_and_nothing_is_lost() -> None:
    clean_driver, clean_emulator, _ = make_pair()
    clean = run(clean_driver, clean_emulator, T0, 20.0)
    driver, emulator, sim = make_pair()
    sim.noise = True
    noisy = run(driver, emulator, T0, 20.0)
    assert driver.stats.resyncs > 20
    assert driver.stats.frames_ok == clean_driver.stats.frames_ok
    assert events(noisy) == [LinkState.ASSOCIATED]
    for code in (mdc.HEART_RATE, mdc.SPO2):
        assert [n.value for n in of(noisy, Numeric, code)] == [n.value for n in of(clean, Numeric, code)]
    noisy_ecg, clean_ecg = of(noisy, WaveBlock, mdc.ECG_II), of(clean, WaveBlock, mdc.ECG_II)
    assert len(noisy_ecg) == len(clean_ecg) > 60
    assert not any(b.gap for b in noisy_ecg)
    assert np.array_equal(np.concatenate([b.samples for b in noisy_ecg]),
                          np.concatenate([b.samples for b in clean_ecg]))


def test_close_releases_the_association() -> None:
    driver, emulator, _ = make_pair()
    out = run(driver, emulator, T0, 10.0)
    emulator.receive(driver.close(T0 + 10.0), T0 + 10.0)
    assert emulator.counts["releases"] == 1
    out += driver.feed(emulator.outgoing(T0 + 10.05), T0 + 10.05)  # the release response
    assert events(out) == [LinkState.ASSOCIATED]
    assert driver.outgoing(T0 + 20.0) == b""  # released: no new association until reset()
    driver.reset()
    assert driver.outgoing(T0 + 21.0).startswith(b"\xc0\x11\x01")


def test_refusal_is_reported_once_and_retried_every_5_s() -> None:
    driver = DRIVER()
    assert driver.outgoing(0.0)
    out = driver.feed(encode_frame(messages.REFUSE), 0.5)
    assert events(out) == [LinkState.LOST]
    assert isinstance(out[0], LinkEvent) and "refused" in out[0].message
    assert driver.outgoing(1.0) == b"" and driver.outgoing(5.0) == b""
    assert driver.outgoing(5.6)  # retry
    assert events(driver.feed(encode_frame(messages.REFUSE), 6.0)) == []
    assert driver.stats.extra["refusals"] == 2


def test_polls_start_even_without_mds_create() -> None:
    driver = DRIVER()
    driver.outgoing(0.0)
    assert events(driver.feed(encode_frame(messages.association_response()), 0.1)) == [LinkState.ASSOCIATED]
    assert driver.outgoing(1.0) == b""  # waiting for the MDS Create
    sent = b"".join(driver.outgoing(3.2 + i * 0.2) for i in range(3))
    assert sent.count(b"\xf1\x3b") == 2  # both extended polls


def test_real_simulator_round_trip() -> None:
    from devices import simulator
    sim = simulator.Simulator(start=T0, seed=3)
    driver, emulator, _ = make_pair(sim)
    out = run(driver, emulator, T0, 12.0)
    direct = simulator.Simulator(start=T0, seed=3).advance(T0 + 12.0)
    hr_sent = {round(n.device_time): n.value for n in of(direct, Numeric, mdc.HEART_RATE)}
    hr_got = of(out, Numeric, mdc.HEART_RATE)
    assert len(hr_got) >= 10
    assert all(n.value in hr_sent.values() for n in hr_got)
    ecg_sent = {round(b.t0 * 1000): b.samples for b in of(direct, WaveBlock, mdc.ECG_II)}
    for block in of(out, WaveBlock, mdc.ECG_II):
        expected = ecg_sent[round(round((block.t0 - T0) / BLOCK) * BLOCK * 1000 + T0 * 1000)]
        assert np.allclose(block.samples, expected, atol=0.0025 + 1e-9)  # half a 5 uV step

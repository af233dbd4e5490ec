"""The Masimo emulator against the driver, sans-I/O: a scripted simulator (exact values) and the real one."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from devices import mdc
from devices.model import DeviceAlarm, Numeric, State
from devices.protocols.masimo import MasimoDriver, make_emulator
from devices.simulator import Simulator


@dataclass
class ScriptedSimulator:
    """Stands in for devices.simulator.Simulator: returns the values the test sets."""

    spo2: float | None = 97.0
    pr: float | None = 72.0
    state: State = State.NONE
    speed: float = 1.0
    responding: bool = True
    noise: bool = False
    seed: int = 3
    calls: list[float] = field(default_factory=list)

    def advance(self, now: float) -> list[Numeric]:
        self.calls.append(now)
        return [Numeric(mdc.SPO2, "SpO2", self.spo2, "%", self.state),
                Numeric(mdc.PULSE_RATE_OXIM, "PR", self.pr, "/min", self.state)]


def run(sim: ScriptedSimulator | Simulator, seconds: float, step: float = 0.1, t0: float = 1_700_000_000.0,
        driver: MasimoDriver | None = None) -> tuple[MasimoDriver, list]:
    emulator = make_emulator(sim)
    driver = driver or MasimoDriver()
    samples: list = []
    for i in range(int(seconds / step)):
        now = t0 + i * step
        samples += driver.feed(emulator.outgoing(now), now)
    return driver, samples


def values(samples: list, label: str) -> list[float | None]:
    return [s.value for s in samples if isinstance(s, Numeric) and s.label == label]


def test_one_line_per_second_with_the_simulated_values() -> None:
    driver, samples = run(ScriptedSimulator(spo2=96.4, pr=71.6), seconds=5)
    assert values(samples, "SPO2") == [96.0] * 5 and values(samples, "BPM") == [72.0] * 5
    assert values(samples, "PI") == [None] * 5  # the simulator computes no PI: dashes, not a made-up number
    spo2 = [s for s in samples if isinstance(s, Numeric) and s.label == "SPO2"]
    assert all(n.valid for n in spo2)
    assert [n.device_time for n in spo2] == [1_700_000_000.0 + i for i in range(5)]
    assert driver.stats.frames_bad == 0


def test_speed_gives_more_lines_each_one_simulated_second_apart() -> None:
    _, samples = run(ScriptedSimulator(speed=10.0), seconds=2)
    times = [s.device_time or 0.0 for s in samples if isinstance(s, Numeric) and s.label == "SPO2"]
    assert len(times) == 20
    assert all(abs((b - a) - 1.0) < 1e-6 for a, b in itertools.pairwise(times))


def test_sensor_off_prints_dashes_and_the_exc_sensor_off_bit() -> None:
    sim = ScriptedSimulator(spo2=None, pr=None, state=State.SENSOR_OFF | State.INVALID)
    emulator = make_emulator(sim)
    emulator.outgoing(0.0)
    line = emulator.line(0.0)
    assert "SPO2=---%" in line and "BPM=---" in line and line.endswith("EXC=000020")
    _, samples = run(sim, seconds=2)
    assert values(samples, "SPO2") == [None, None]
    assert any(isinstance(a, DeviceAlarm) and a.code == "masimo.sensor_off" and a.active for a in samples)


def test_desaturation_sets_the_spo2_low_alarm_bits() -> None:
    _, samples = run(ScriptedSimulator(spo2=84.0), seconds=1.5)
    [alarm] = [a for a in samples if isinstance(a, DeviceAlarm)]
    assert (alarm.code, alarm.active, alarm.technical) == ("masimo.spo2_low", True, False)


def test_nothing_while_the_device_is_not_responding() -> None:
    sim = ScriptedSimulator(responding=False)
    emulator = make_emulator(sim)
    assert b"".join(emulator.outgoing(100.0 + i * 0.5) for i in range(10)) == b""
    assert sim.calls  # the simulated patient kept living meanwhile


def test_noise_puts_garbage_between_lines_and_every_line_still_decodes() -> None:
    driver, samples = run(ScriptedSimulator(noise=True), seconds=30)
    assert values(samples, "SPO2") == [97.0] * driver.stats.frames_ok
    assert driver.stats.frames_ok >= 20  # garbage holding a line end can cost a line, rarely
    assert driver.stats.resyncs + driver.stats.frames_bad > 0


def test_host_bytes_are_ignored() -> None:
    emulator = make_emulator(ScriptedSimulator())
    emulator.receive(b"\x00anything", 1.0)
    assert emulator.outgoing(1.0).endswith(b"\r\n")


def test_real_simulator_disconnect_scenario_goes_silent_and_comes_back() -> None:
    sim = Simulator("disconnect", seed=0, speed=20.0, waves=False)
    driver, samples = run(sim, seconds=30, step=0.05)  # 600 simulated seconds
    spo2 = [s for s in samples if isinstance(s, Numeric) and s.label == "SPO2"]
    gaps = [(b.device_time or 0.0) - (a.device_time or 0.0) for a, b in itertools.pairwise(spo2)]
    assert max(gaps) >= 25.0  # the scenario's silence shows as a hole in the device clock
    assert sorted(gaps)[len(gaps) // 2] == 1.0
    assert driver.stats.frames_bad == 0

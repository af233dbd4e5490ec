"""End to end over real links: every driver against its emulator, through a pty pair and through socket:// on
loopback, with DeviceLink (the app's acquisition loop) in a thread, as in the app.

Covered per protocol and transport: values arrive and decode; the device falls silent and comes back; line
noise; the port vanishes and returns (reconnect within 5 s of its return, the first wave block after it marked
as a gap). Every test stops and joins its threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import pytest

from devices import mdc, registry
from devices.acquisition import DeviceLink
from devices.emulation import EmulationServer, PtyEndpoint, TcpEndpoint
from devices.model import LinkEvent, LinkState, Numeric, Sample, WaveBlock

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

PROTOCOLS = [p for p in registry.available() if p != "simulator"]
TRANSPORTS = ["pty", "socket"]
#: generous upper bound for anything to happen; the tests finish as soon as it has
PATIENCE = 8.0
#: driver options that keep the tests short: Datex asks for displayed values every 5 s by default; CARESCAPE
#: monitors honour 1 s (the B650 captures show 1-s records)
DRIVER_OPTIONS: dict[str, dict[str, Any]] = {"datex": {"interval": 1}}


class SwitchableSimulator:
    """The real simulator with a switch for a short silence (the ``disconnect`` scenario's 30 s silence,
    compressed so the test stays short). Everything else is the simulator's."""

    def __init__(self, simulator: Any) -> None:
        self._simulator = simulator
        self.silenced = False

    @property
    def responding(self) -> bool:
        return self._simulator.responding and not self.silenced

    def __getattr__(self, name: str) -> Any:
        return getattr(self._simulator, name)


class Rig:
    """Emulator served on a real link + DeviceLink reading it in a thread; samples collected for asserts."""

    def __init__(self, protocol: str, transport: str, tmp_path: Path, scenario: str = "stable") -> None:
        from devices.simulator import Simulator

        try:
            info = registry.get(protocol)
        except ImportError as exc:
            pytest.skip(f"protocol {protocol} not available: {exc}")
        if transport == "pty" and os.name != "posix":
            pytest.skip("pseudo-terminals need a POSIX system")
        assert info.make_emulator is not None
        self.simulator = SwitchableSimulator(Simulator(scenario, seed=0, speed=1.0))
        endpoint = PtyEndpoint(tmp_path / f"tty-{protocol}") if transport == "pty" else TcpEndpoint()
        # the emulators only call the simulator's public methods, which SwitchableSimulator forwards
        self.server = EmulationServer(info.make_emulator(self.simulator), endpoint,  # type: ignore[arg-type]
                                      name=protocol)
        self.driver = info.driver(source=protocol, **DRIVER_OPTIONS.get(protocol, {}))
        self.samples: list[Sample] = []
        self._cond = threading.Condition()
        self.server.open()
        self.link = DeviceLink(self.driver, self.server.url, sink=self._sink, name=protocol)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.link.run, args=(self._stop,), name=f"e2e-{protocol}",
                                        daemon=True)

    def _sink(self, samples: list[Sample]) -> None:
        with self._cond:
            self.samples.extend(samples)
            self._cond.notify_all()

    def __enter__(self) -> Self:
        self.server.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10.0)
        self.server.stop()
        assert not self._thread.is_alive()

    def wait_for(self, predicate: Callable[[list[Sample]], bool], timeout: float = PATIENCE) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.samples), timeout)

    def mark(self) -> int:
        with self._cond:
            return len(self.samples)

    def since(self, index: int) -> list[Sample]:
        with self._cond:
            return list(self.samples[index:])


def spo2_values(samples: list[Sample]) -> list[Numeric]:
    return [s for s in samples if isinstance(s, Numeric) and s.mdc == mdc.SPO2 and s.valid]


def has_spo2(count: int, start: int = 0) -> Callable[[list[Sample]], bool]:
    return lambda samples: len(spo2_values(samples[start:])) >= count


def states(samples: list[Sample]) -> list[LinkState]:
    return [s.state for s in samples if isinstance(s, LinkEvent)]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_values_arrive_and_decode(protocol: str, transport: str, tmp_path: Path) -> None:
    with Rig(protocol, transport, tmp_path) as rig:
        assert rig.wait_for(has_spo2(3)), f"no SpO2 in {PATIENCE} s; events {states(rig.samples)}"
    values = spo2_values(rig.samples)
    assert all(n.value is not None and 90 <= n.value <= 100 for n in values)  # the stable patient (~97-98 %)
    assert rig.driver.stats.frames_bad == 0
    assert LinkState.CONNECTED in states(rig.samples) and LinkState.ASSOCIATED in states(rig.samples)
    assert states(rig.samples)[-1] is LinkState.STOPPED
    assert rig.link.counters.disconnects == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_device_falls_silent_and_comes_back(protocol: str, transport: str, tmp_path: Path) -> None:
    with Rig(protocol, transport, tmp_path) as rig:
        # the drivers' 5-10 s, shortened with the silence itself (an instance value shadows the class's)
        rig.driver.silence_timeout = 1.0  # type: ignore[misc]
        assert rig.wait_for(has_spo2(2))
        rig.simulator.silenced = True
        start = rig.mark()
        reported = rig.wait_for(lambda s: bool({LinkState.SILENT, LinkState.LOST} & set(states(s[start:]))))
        assert reported, f"silence not reported; events {states(rig.since(start))}"
        rig.simulator.silenced = False
        back = rig.mark()
        assert rig.wait_for(has_spo2(2, back)), f"no data after the silence; events {states(rig.since(back))}"
    assert LinkState.ASSOCIATED in states(rig.since(back)) or spo2_values(rig.since(back))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_line_noise_costs_frames_not_the_link(protocol: str, transport: str, tmp_path: Path) -> None:
    with Rig(protocol, transport, tmp_path, scenario="noise") as rig:
        assert rig.wait_for(has_spo2(4)), f"no SpO2 through the noise; stats {rig.driver.stats}"
    assert all(n.value is not None and 90 <= n.value <= 100 for n in spo2_values(rig.samples))
    stats = rig.driver.stats
    assert stats.frames_bad + stats.resyncs > 0, "the noise scenario's garbage went unnoticed"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_port_vanishes_and_comes_back(protocol: str, transport: str, tmp_path: Path) -> None:
    with Rig(protocol, transport, tmp_path) as rig:
        assert rig.wait_for(has_spo2(2))
        waves_before = any(isinstance(s, WaveBlock) for s in rig.samples)
        rig.server.vanish()
        gone = rig.mark()
        assert rig.wait_for(lambda s: LinkState.LOST in states(s[gone:]))
        lost = next(e for e in rig.since(gone) if isinstance(e, LinkEvent) and e.state is LinkState.LOST)
        assert str(rig.server.url) in lost.message
        time.sleep(1.0)  # stays away for a while: the link keeps retrying
        rig.server.restore()
        returned = time.time()
        back = rig.mark()
        assert rig.wait_for(has_spo2(2, back)), f"no data after the port returned: {states(rig.since(back))}"
        if waves_before:
            assert rig.wait_for(lambda s: any(isinstance(w, WaveBlock) for w in s[back:]))
    after = rig.since(back)
    connected = [e for e in after if isinstance(e, LinkEvent) and e.state is LinkState.CONNECTED]
    assert connected and connected[0].host_time - returned < 5.0
    assert rig.link.counters.disconnects >= 1 and rig.link.counters.connects >= 2
    if waves_before:  # the first block of each channel after the hole says so: gaps are marked, never padded
        first: dict[int, WaveBlock] = {}
        for s in after:
            if isinstance(s, WaveBlock):
                first.setdefault(s.mdc, s)
        assert first and all(block.gap for block in first.values()), \
            {code: block.gap for code, block in first.items()}


#: captures replayed over the link: (protocol, capture, speed, frames in it)
REPLAYS = [
    ("masimo", "masimo/rad8-ascii1-yahnatan.txt", 4.0, 5),
    ("datex", "datex/pycollect-b650-db02.raw", 50.0, 213),
    ("intellivue", "philips/docbox-mp70-demo-timestamped.log", 40.0, 869),
]


@pytest.mark.captures
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("protocol", "name", "speed", "frames"), REPLAYS)
def test_replayed_capture_arrives_whole(protocol: str, name: str, speed: float, frames: int, transport: str,
                                        tmp_path: Path) -> None:
    from devices.emulation import CaptureReplay
    from tests.conftest import capture

    if transport == "pty" and os.name != "posix":
        pytest.skip("pseudo-terminals need a POSIX system")
    info = registry.get(protocol)
    replay = CaptureReplay.from_file(capture(name), settings=info.driver.default_settings, speed=speed)
    endpoint = PtyEndpoint(tmp_path / "tty") if transport == "pty" else TcpEndpoint()
    server = EmulationServer(replay, endpoint, wait_for_host=True)
    driver = info.driver(source=protocol)
    connected = threading.Event()

    def sink(samples: list[Sample]) -> None:
        if any(isinstance(s, LinkEvent) and s.state is LinkState.CONNECTED for s in samples):
            connected.set()

    link = DeviceLink(driver, server.open(), sink=sink)
    stop = threading.Event()
    thread = threading.Thread(target=link.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert connected.wait(PATIENCE)  # a pty cannot tell when the host opens it: start after it did
        server.start()
        deadline = time.monotonic() + replay.duration + PATIENCE
        # wait for the whole capture, not just the frames: a capture may end in bytes of an unfinished frame
        while (driver.stats.frames_ok < frames or not replay.finished
               or link.counters.bytes_in < replay.bytes_sent) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10.0)
        server.stop()
    assert driver.stats.frames_ok == frames and driver.stats.frames_bad == 0
    assert link.counters.bytes_in == replay.bytes_sent

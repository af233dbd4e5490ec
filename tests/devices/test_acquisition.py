"""DeviceLink driven by hand (step by step, fake clock, fake port, fake driver): connection, loss, backoff,
reconnection and goodbye, with no threads and no hardware."""

from __future__ import annotations

import threading

import pytest
import serial

from devices.acquisition import BACKOFF_STEPS, DeviceLink
from devices.driver import Driver
from devices.model import LinkEvent, LinkState, Numeric, Sample
from devices.transport import PortSettings, TransportError


class FakeDriver(Driver):
    """Echoes every chunk as one Numeric (value = its length), asks to send b"REQ" once, says b"BYE"."""

    name = "fake"
    title = "Fake"
    default_settings = PortSettings(9600)

    def __init__(self, source: str = "") -> None:
        super().__init__(source)
        self.fed: list[tuple[bytes, float]] = []
        self.resets = 0
        self._requested = False

    def feed(self, data: bytes, now: float) -> list[Sample]:
        if not data:
            return []
        self.fed.append((data, now))
        return [Numeric(0, "LEN", float(len(data)), "", host_time=now)]

    def outgoing(self, now: float) -> bytes:
        if self._requested:
            return b""
        self._requested = True
        return b"REQ"

    def reset(self) -> None:
        self.resets += 1
        self._requested = False

    def close(self, now: float) -> bytes:
        return b"BYE"


class FakePort:
    """A port whose reads come from a script; an exception in the script is raised by that read."""

    def __init__(self, script: list[bytes | Exception] | None = None) -> None:
        self.script = list(script or [])
        self.written = bytearray()
        self.closed = False
        self.timeout = 0.05  # pyserial's read timeout, which DeviceLink sets to 0 to drain a socket

    @property
    def in_waiting(self) -> int:
        head = self.script[0] if self.script else b""
        return len(head) if isinstance(head, bytes) else 0

    def read(self, n: int) -> bytes:
        if not self.script:
            return b""
        head = self.script.pop(0)
        if isinstance(head, Exception):
            raise head
        return head

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Opener:
    """Fails while ``failing``, else hands out the next prepared port; records the time of every attempt."""

    def __init__(self, clock: Clock, ports: list[FakePort], failing: bool = False) -> None:
        self.clock, self.ports, self.failing = clock, ports, failing
        self.attempts: list[float] = []

    def __call__(self, url: str, settings: PortSettings) -> FakePort:
        self.attempts.append(self.clock())
        if self.failing:
            raise TransportError(f"port {url} not found: no such device. Check that the USB-serial adapter "
                                 "is plugged in and the port name in the device profile is right.")
        return self.ports.pop(0)


def make_link(clock: Clock, opener: Opener) -> tuple[DeviceLink, FakeDriver, list[Sample], list[tuple]]:
    driver = FakeDriver()
    sink: list[Sample] = []
    tapped: list[tuple] = []
    link = DeviceLink(driver, "/dev/ttyFAKE", sink=sink.extend, clock=clock, opener=opener,
                      tap=lambda d, t, b: tapped.append((d, t, b)))
    return link, driver, sink, tapped


def events(samples: list[Sample]) -> list[tuple[LinkState, str]]:
    return [(s.state, s.message) for s in samples if isinstance(s, LinkEvent)]


def test_bytes_flow_to_the_driver_and_requests_to_the_port() -> None:
    clock = Clock()
    port = FakePort([b"abc", b"", b"defgh"])
    link, driver, sink, tapped = make_link(clock, Opener(clock, [port]))
    for _ in range(3):
        link.step()
        clock.t += 0.05
    assert [d for d, _ in driver.fed] == [b"abc", b"defgh"]
    assert [s.value for s in sink if isinstance(s, Numeric)] == [3.0, 5.0]
    assert bytes(port.written) == b"REQ"
    assert events(sink)[0][0] is LinkState.CONNECTED and "9600 8N1" in events(sink)[0][1]
    assert link.counters.bytes_in == 8 and link.counters.bytes_out == 3 and link.counters.connects == 1
    assert ("out", 1000.0, b"REQ") in tapped and ("in", 1000.0, b"abc") in tapped


def test_open_failure_reports_lost_once_in_plain_words_and_retries_with_backoff() -> None:
    clock = Clock(0.0)
    opener = Opener(clock, [FakePort()], failing=True)
    link, _driver, sink, _ = make_link(clock, opener)
    while clock.t < 8.0:
        wait = link.step()
        clock.t += max(wait, 0.01)
    lost = [e for e in events(sink) if e[0] is LinkState.LOST]
    assert len(lost) == 1  # the same failure again is not news; the log is not flooded
    assert "not found" in lost[0][1] and "plugged in" in lost[0][1]
    assert link.state is LinkState.LOST and "not found" in link.last_error
    # attempts spaced by the backoff steps, capped at the last step
    gaps = [round(b - a, 2) for a, b in zip(opener.attempts, opener.attempts[1:])]
    expected = list(BACKOFF_STEPS) + [BACKOFF_STEPS[-1]] * (len(gaps) - len(BACKOFF_STEPS))
    assert gaps == pytest.approx(expected, abs=0.02)

    # the port comes back: connected on the next attempt, backoff starts over
    opener.failing = False
    deadline = clock.t + BACKOFF_STEPS[-1] + 0.1
    while clock.t < deadline and link.counters.connects == 0:
        clock.t += max(link.step(), 0.01)
    assert link.counters.connects == 1 and events(sink)[-1][0] is LinkState.CONNECTED


def test_port_error_mid_read_reports_lost_resets_the_driver_and_reconnects() -> None:
    clock = Clock(0.0)
    first = FakePort([b"one", serial.SerialException("read failed: device disconnected")])
    second = FakePort([b"two"])
    opener = Opener(clock, [first, second])
    link, driver, sink, _ = make_link(clock, opener)
    link.step()  # connect + read "one"
    clock.t = 0.1
    link.step()  # the read fails
    assert first.closed
    state, message = events(sink)[-1]
    assert state is LinkState.LOST and "stopped working" in message and "device disconnected" in message
    assert driver.resets == 2  # once at connect, once on loss: no half frame survives the gap
    assert link.counters.disconnects == 1
    clock.t = 0.2
    link.step()  # too early for the first backoff step: no attempt
    assert len(opener.attempts) == 1
    clock.t = 0.1 + BACKOFF_STEPS[0]
    link.step()  # reconnect and read "two"
    assert [d for d, _ in driver.fed] == [b"one", b"two"]
    assert link.counters.connects == 2 and events(sink)[-1][0] is LinkState.CONNECTED
    assert bytes(second.written) == b"REQ"  # the driver starts over (e.g. a new association request)


def test_shutdown_sends_the_drivers_goodbye_and_closes_the_port() -> None:
    clock = Clock()
    port = FakePort([b"x"])
    link, _, sink, _ = make_link(clock, Opener(clock, [port]))
    link.step()
    link.shutdown()
    assert bytes(port.written) == b"REQBYE" and port.closed
    assert events(sink)[-1][0] is LinkState.STOPPED and link.state is LinkState.STOPPED


def test_run_stops_when_asked_and_says_goodbye() -> None:
    import time

    port = FakePort([b"x"] * 5)
    clock = Clock()
    connected = threading.Event()

    def sink(samples: list[Sample]) -> None:
        if any(isinstance(s, LinkEvent) and s.state is LinkState.CONNECTED for s in samples):
            connected.set()

    link = DeviceLink(FakeDriver(), "/dev/ttyFAKE", sink=sink, clock=time.time, opener=Opener(clock, [port]))
    stop = threading.Event()
    thread = threading.Thread(target=link.run, args=(stop,))
    thread.start()
    assert connected.wait(5.0)
    stop.set()
    thread.join(5.0)
    assert not thread.is_alive()
    assert port.closed and bytes(port.written).endswith(b"BYE")


def test_simulated_device_needs_no_port() -> None:
    clock = Clock()
    driver = FakeDriver()
    sink: list[Sample] = []
    link = DeviceLink(driver, None, sink=sink.extend, clock=clock, opener=Opener(clock, [], failing=True))
    assert link.step() == link.interval
    assert events(sink) == [(LinkState.CONNECTED, "simulated device started")]


class SocketLikePort(FakePort):
    """pyserial's socket:// reports at most one byte waiting, whatever is queued."""

    @property
    def in_waiting(self) -> int:
        return 1 if self.script else 0

    def read(self, n: int) -> bytes:
        head = self.script[0] if self.script else b""
        if isinstance(head, bytes) and len(head) > n:
            self.script[0] = head[n:]
            return head[:n]
        return super().read(n)


def test_socket_ports_are_read_in_chunks_not_byte_by_byte() -> None:
    clock = Clock()
    port = SocketLikePort([b"x" * 5000])
    driver = FakeDriver()
    link = DeviceLink(driver, "socket://127.0.0.1:4001", clock=clock, opener=Opener(clock, [port]))
    link.step()
    assert [len(d) for d, _ in driver.fed] == [5000]
    assert port.timeout == 0.05  # the blocking timeout is back for the next quiet wait

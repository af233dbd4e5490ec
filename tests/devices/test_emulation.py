"""devices.emulation: capture pacing (sans-I/O, exact), and serving over a real pty and a loopback socket."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import serial

from devices.emulation import (
    MAX_PENDING,
    CaptureReplay,
    EmulationServer,
    PtyEndpoint,
    TcpEndpoint,
    endpoint_for,
    looks_like_docbox,
    read_capture,
)
from devices.transport import PortSettings

needs_pty = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals need a POSIX system")


# --- capture replay, sans-I/O -----------------------------------------------------------------------------


def test_raw_replay_is_paced_at_the_byte_rate() -> None:
    replay = CaptureReplay(bytes(range(100)), rate=10.0)
    assert replay.outgoing(50.0) == b""  # the clock starts at the first call
    assert replay.outgoing(50.45) == bytes(range(4))
    assert replay.outgoing(51.0) == bytes(range(4, 10))
    assert replay.outgoing(59.99) == bytes(range(10, 99))
    assert not replay.finished
    assert replay.outgoing(70.0) == bytes([99]) and replay.finished
    assert replay.outgoing(80.0) == b""
    assert replay.duration == 10.0


def test_raw_replay_speed_and_loop() -> None:
    replay = CaptureReplay(b"abcd", rate=2.0, speed=2.0, loop=True)
    replay.outgoing(0.0)
    assert replay.outgoing(1.0) == b"abcd"  # 2 s of line time at speed 2
    assert replay.outgoing(2.5) == b"abcdab"
    assert not replay.finished


def test_record_replay_keeps_the_original_spacing() -> None:
    records = [(1000.0, b"A"), (1000.25, b"B"), (1002.0, b"C")]
    replay = CaptureReplay(records=records, speed=2.0)
    assert replay.outgoing(10.0) == b"A"
    assert replay.outgoing(10.1) == b""
    assert replay.outgoing(10.125) == b"B"
    assert replay.outgoing(10.9) == b"" and not replay.finished
    assert replay.outgoing(11.0) == b"C" and replay.finished
    assert replay.duration == 1.0


def test_replay_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CaptureReplay(b"x", rate=0)
    with pytest.raises(ValueError):
        CaptureReplay()


def test_docbox_is_recognised_by_content(tmp_path: Path) -> None:
    assert looks_like_docbox(b"2014/05/19T10:11:12,345\xc0\x11\x01")
    assert not looks_like_docbox(b"\xc0\x11\x01\x00")
    assert not looks_like_docbox(b"02/22/16 22:47:45 SN=0000056661")
    raw = tmp_path / "x.raw"
    raw.write_bytes(b"\xc0abc\xc1")
    assert read_capture(raw) == ("raw", b"\xc0abc\xc1")
    replay = CaptureReplay.from_file(raw, settings=PortSettings(9600))
    assert replay.rate == PortSettings(9600).bytes_per_second


def test_missing_capture_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        CaptureReplay.from_file(tmp_path / "nope.raw")


@pytest.mark.parametrize(("listen", "host", "port"), [
    ("socket://127.0.0.1:4001", "127.0.0.1", 4001),
    ("127.0.0.1:0", "127.0.0.1", 0),
    ("socket://localhost:7", "localhost", 7),
])
def test_listen_urls(listen: str, host: str, port: int) -> None:
    endpoint = endpoint_for(listen)
    assert isinstance(endpoint, TcpEndpoint) and (endpoint.host, endpoint.port) == (host, port)


@pytest.mark.parametrize("listen", ["/dev/ttyS0", "socket://127.0.0.1", "socket://127.0.0.1:99999"])
def test_bad_listen_urls_say_what_to_give(listen: str) -> None:
    with pytest.raises(ValueError, match="127.0.0.1"):
        endpoint_for(listen)


def test_exactly_one_of_listen_and_pty() -> None:
    with pytest.raises(ValueError):
        endpoint_for(None, pty=False)
    with pytest.raises(ValueError):
        endpoint_for("socket://127.0.0.1:0", pty=True)


# --- serving over real links ------------------------------------------------------------------------------


class Echo:
    """A device that sends a greeting once, then answers every host byte with its upper case."""

    def __init__(self) -> None:
        self.received = bytearray()
        self._out = bytearray(b"HELLO\n")

    def receive(self, data: bytes, now: float) -> None:
        self.received += data
        self._out += data.upper()

    def outgoing(self, now: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out


def read_until(port: serial.SerialBase, expected: bytes, limit: float = 5.0) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + limit
    while expected not in got and time.monotonic() < deadline:
        got += port.read(max(1, port.in_waiting))
    return bytes(got)


@needs_pty
def test_pty_serves_both_directions_in_raw_mode(tmp_path: Path) -> None:
    link = tmp_path / "ttyEMU"
    device = Echo()
    with EmulationServer(device, PtyEndpoint(link)) as server:
        assert server.url == str(link) and os.readlink(link).startswith("/dev/pts/")
        with serial.serial_for_url(str(link), timeout=0.05) as port:
            # CR, LF and 0x7F/0x03 pass untouched: a cooked tty would translate or eat them
            port.write(b"ab\r\n\x03\x7f")
            assert read_until(port, b"AB\r\n\x03\x7f").endswith(b"AB\r\n\x03\x7f")
    assert bytes(device.received) == b"ab\r\n\x03\x7f"
    assert not link.exists()  # the server removes its symlink when it stops


@needs_pty
def test_pty_vanishes_and_comes_back_under_the_same_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyEMU"
    device = Echo()
    with EmulationServer(device, PtyEndpoint(link)) as server:
        port = serial.serial_for_url(str(link), timeout=0.05)
        read_until(port, b"HELLO")
        first = os.readlink(link)
        server.vanish()
        assert not link.exists()
        with pytest.raises(serial.SerialException):  # the host sees the device vanish
            for _ in range(50):
                port.read(1)
        port.close()
        with pytest.raises(serial.SerialException):
            serial.serial_for_url(str(link))
        server.restore()
        assert os.readlink(link).startswith("/dev/pts/") and first
        with serial.serial_for_url(str(link), timeout=0.05) as port:
            port.write(b"again")
            assert b"AGAIN" in read_until(port, b"AGAIN")


def test_socket_serves_a_host_and_the_next_one_after_it_leaves() -> None:
    device = Echo()
    endpoint = TcpEndpoint("127.0.0.1", 0)
    with EmulationServer(device, endpoint) as server:
        assert server.url.startswith("socket://127.0.0.1:") and not server.url.endswith(":0")
        with serial.serial_for_url(server.url, timeout=0.05) as port:
            port.write(b"one")  # (the greeting went out before any host connected: into the void)
            assert b"ONE" in read_until(port, b"ONE")
        with serial.serial_for_url(server.url, timeout=0.05) as port:  # a host reconnecting is served
            port.write(b"two")
            assert b"TWO" in read_until(port, b"TWO")
        assert endpoint.connections == 2


def test_socket_vanishes_and_comes_back_on_the_same_port() -> None:
    device = Echo()
    with EmulationServer(device, TcpEndpoint()) as server:
        url = server.url
        port = serial.serial_for_url(url, timeout=0.05)
        port.write(b"hi")
        assert b"HI" in read_until(port, b"HI")
        server.vanish()
        with pytest.raises(serial.SerialException):
            for _ in range(100):
                port.read(1)
        port.close()
        with pytest.raises(serial.SerialException):
            serial.serial_for_url(url)
        server.restore()
        assert server.url == url
        with serial.serial_for_url(url, timeout=0.05) as port:
            port.write(b"back")
            assert b"BACK" in read_until(port, b"BACK")


def test_replay_waits_for_a_host_before_playing() -> None:
    replay = CaptureReplay(b"0123456789" * 10, rate=100000.0)
    with EmulationServer(replay, TcpEndpoint(), wait_for_host=True) as server:
        time.sleep(0.1)  # no host yet: nothing may be played into the void
        assert replay.bytes_sent == 0
        with serial.serial_for_url(server.url, timeout=0.05) as port:
            assert read_until(port, b"0123456789" * 10) == b"0123456789" * 10  # from the first byte


def test_bytes_nobody_reads_are_bounded() -> None:
    endpoint = TcpEndpoint()
    endpoint.open()
    try:
        endpoint.write(b"x" * 10)  # no host connected: dropped, nothing kept
        assert len(endpoint._pending.data) == 0
        from devices.emulation import _Pending

        pending = _Pending()
        pending.add(b"y" * (MAX_PENDING + 100))
        assert len(pending.data) == MAX_PENDING and pending.dropped == 100
    finally:
        endpoint.close()


class Broken:
    def receive(self, data: bytes, now: float) -> None:
        pass

    def outgoing(self, now: float) -> bytes:
        raise RuntimeError("emulator bug")


def test_a_failing_source_stops_the_server_and_says_why() -> None:
    server = EmulationServer(Broken(), TcpEndpoint()).start()
    try:
        assert server._thread is not None
        server._thread.join(5.0)  # ends on its own
        assert not server.running
        assert server.error == "RuntimeError: emulator bug"
    finally:
        server.stop()

"""console.technician.advice: what a technician is told for the typical failures of each protocol."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from console.technician.advice import advise
from console.technician.model import LinkSnapshot
from devices.model import LinkState
from devices.transport import PortSettings, TransportError, open_port

BASE = LinkSnapshot(name="chair 1", protocol="intellivue", url="/dev/ttyUSB0", settings=PortSettings(115200),
                    state=LinkState.CONNECTED, bytes_in=0, bytes_out=0, connects=1, disconnects=0,
                    frames_ok=0, frames_bad=0, resyncs=0, port_error="", decode_error="")


def snap(**changes) -> LinkSnapshot:
    return replace(BASE, **changes)


def test_intellivue_without_answer_points_at_cable_and_fix_115200() -> None:
    a = advise(snap(bytes_out=520, extra={"association_requests": 3}), elapsed=16)
    assert a.level == "error"
    assert "No answer to the IntelliVue association request (3 sent)" in a.problem
    assert "check the cable" in a.fix.lower() and "Fix 115200" in a.fix


def test_a_fresh_port_waits_before_calling_no_answer() -> None:
    a = advise(snap(bytes_out=100), elapsed=1.0)
    assert a.level == "info" and "waiting" in a.problem


def test_datex_silence_points_at_19200_8e1_rtscts_and_the_interface() -> None:
    s = snap(protocol="datex", settings=PortSettings(19200, 8, "E", 1, rtscts=True), bytes_out=53)
    a = advise(s, elapsed=30)
    assert a.level == "error" and "Nothing arrives from the Datex monitor" in a.problem
    assert "19200 8E1 with RTS/CTS" in a.fix and "Computer Interface" in a.fix


def test_masimo_garbage_points_at_9600_8n1_and_ascii_1() -> None:
    s = snap(protocol="masimo", settings=PortSettings(19200), bytes_in=900, frames_bad=31)
    a = advise(s, elapsed=10)
    assert a.level == "error" and "900 bytes arrived but none decoded" in a.problem
    assert "9600 8N1" in a.fix and "ASCII 1" in a.fix and "19200 8N1" in a.fix


def test_intellivue_garbage_points_at_the_speed() -> None:
    a = advise(snap(bytes_in=4000, frames_bad=12), elapsed=10)
    assert "speed is most likely wrong" in a.fix


def test_port_not_found_from_the_real_transport_message() -> None:
    with pytest.raises(TransportError) as info:
        open_port("/dev/chairside-no-such-port", PortSettings())
    s = snap(url="/dev/chairside-no-such-port", connects=0, state=LinkState.LOST, port_error=str(info.value))
    a = advise(s, elapsed=3)
    assert a.level == "error" and a.problem == "Port /dev/chairside-no-such-port not found."
    assert "USB-serial adapter is plugged in" in a.fix


def test_terminal_server_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"socket://127.0.0.1:{port}"
    with pytest.raises(TransportError) as info:
        open_port(url, PortSettings())
    a = advise(snap(url=url, connects=0, state=LinkState.LOST, port_error=str(info.value)), elapsed=3)
    assert a.problem == f"Cannot reach the terminal server at {url}."


def test_permission_denied_mentions_dialout() -> None:
    error = "no permission to open /dev/ttyS0: [Errno 13] Permission denied: '/dev/ttyS0'. On Linux add ..."
    a = advise(snap(url="/dev/ttyS0", connects=0, state=LinkState.LOST, port_error=error), elapsed=1)
    assert a.problem == "No permission to open /dev/ttyS0." and "dialout" in a.fix


def test_vanished_port_while_in_use() -> None:
    s = snap(state=LinkState.LOST, connects=1, disconnects=1, frames_ok=50, bytes_in=9000,
             port_error="port /dev/ttyUSB0 stopped working: device reports readiness to read but "
                        "returned no data")
    a = advise(s, elapsed=60)
    assert a.level == "warning" and "went away" in a.problem and "reconnects on its own" in a.fix


def test_healthy_link_is_ok_and_noisy_or_dropping_ones_warn() -> None:
    ok = advise(snap(state=LinkState.ASSOCIATED, bytes_in=9000, frames_ok=200, frames_bad=2), elapsed=60)
    assert ok.level == "ok" and ok.problem == "Receiving data: 200 frames decoded, 2 bad."
    noisy = advise(snap(state=LinkState.ASSOCIATED, bytes_in=9000, frames_ok=200, frames_bad=40), elapsed=60)
    assert noisy.level == "warning" and "40 of 240 frames were bad" in noisy.problem
    assert "115200 8N1" in noisy.fix
    dropped = advise(snap(state=LinkState.ASSOCIATED, bytes_in=9000, frames_ok=200, disconnects=2),
                     elapsed=60)
    assert dropped.level == "warning" and "dropped 2 time(s)" in dropped.problem


def test_silent_intellivue_mentions_another_computer() -> None:
    a = advise(snap(state=LinkState.SILENT, bytes_in=9000, frames_ok=200), elapsed=60)
    assert a.level == "warning" and "another computer" in a.fix


def test_simulator_needs_no_port() -> None:
    a = advise(snap(protocol="simulator", url=None, frames_ok=10, state=LinkState.ASSOCIATED), elapsed=5)
    assert a.level == "ok" and "simulator" in a.problem


def test_intellivue_refusal_says_another_computer_holds_the_monitor() -> None:
    s = snap(state=LinkState.LOST, bytes_in=40, frames_ok=2, extra={"refusals": 2, "association_requests": 2})
    a = advise(s, elapsed=12)
    assert a.level == "error" and a.problem == "The IntelliVue monitor refused the association."
    assert "Another computer" in a.fix


def test_a_link_the_device_ended_is_not_called_healthy() -> None:
    a = advise(snap(state=LinkState.LOST, bytes_in=9000, frames_ok=200), elapsed=60)
    assert a.level == "warning" and "ended the link" in a.problem

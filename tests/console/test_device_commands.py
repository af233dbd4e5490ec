"""The technician's device commands: chairside decode, probe, emulate, replay (and probe --protocol auto)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from console.cli import main
from devices import registry
from devices.emulation import EmulationServer, TcpEndpoint
from tests.conftest import PROJECT_ROOT, capture

RAD8 = "masimo/rad8-ascii1-yahnatan.txt"


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- decode -----------------------------------------------------------------------------------------------


@pytest.mark.captures
def test_decode_jsonl_has_the_documented_shape_and_exact_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--protocol", "masimo", str(capture(RAD8)), "--format", "jsonl"]) == 0
    objs = jsonl(capsys.readouterr().out)
    first = objs[0]
    assert set(first) == {"kind", "mdc", "label", "value", "unit", "valid", "state", "device_time",
                          "host_time"}
    assert {k: first[k] for k in ("kind", "mdc", "label", "value", "unit", "valid", "state")} == {
        "kind": "numeric", "mdc": 150456, "label": "SPO2", "value": 98.0, "unit": "%", "valid": True,
        "state": []}
    # the line's clock is local wall-clock time; written out in UTC
    local = time.mktime((2016, 2, 22, 22, 47, 45, 0, 0, -1))
    expected = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(local))
    assert first["device_time"] == expected
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["host_time"])
    pi = [o["value"] for o in objs if o.get("label") == "PI"]
    assert pi == [3.6, 3.95, 4.25, 3.19, 2.41]
    dashed = [o for o in objs if o.get("label") == "SPCO"]
    assert all(o["value"] is None and o["valid"] is False and o["state"] == ["unavailable"] for o in dashed)
    assert objs[-1] == {"kind": "summary", "frames_ok": 5, "frames_bad": 0, "bytes": 635, "resyncs": 0}


@pytest.mark.captures
def test_decode_table_has_one_row_per_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--protocol", "masimo", str(capture(RAD8))]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["SPO2"][1:8] == ["150456", "%", "5", "5", "98", "98", "98"]
    assert rows["BPM"][3:8] == ["5", "5", "97", "96", "97"]
    assert rows["PI"][3:8] == ["5", "5", "2.41", "2.41", "4.25"]
    assert "frames ok 5, bad 0, resyncs 0" in out


@pytest.mark.captures
def test_decode_recognises_a_docbox_log_and_keeps_its_timestamps(capsys: pytest.CaptureFixture[str]) -> None:
    path = capture("philips/docbox-mp70-demo-timestamped.log")
    code = main(["decode", "--protocol", "intellivue", str(path), "--format", "jsonl"])
    objs = jsonl(capsys.readouterr().out)
    assert code == 0
    assert objs[-1]["kind"] == "summary" and objs[-1]["frames_ok"] == 869 and objs[-1]["frames_bad"] == 0
    first_stamp = path.read_bytes()[:23].decode()  # YYYY/MM/DDTHH:MM:SS,mmm, UTC
    hosts = sorted(o["host_time"] for o in objs if "host_time" in o)
    iso_first = first_stamp.replace("/", "-").replace(",", ".") + "Z"
    assert hosts[0] >= iso_first and hosts[0][:13] == iso_first[:13]  # the log's own clock, not today
    spo2 = [o for o in objs if o["kind"] == "numeric" and o["mdc"] == 150456]
    assert spo2 and all(o["value"] == 95 and "demo" in o["state"] and o["valid"] is False for o in spo2)


@pytest.mark.captures
def test_decode_waves_with_samples(capsys: pytest.CaptureFixture[str]) -> None:
    path = capture("datex/pycollect-b650-db02.raw")
    assert main(["decode", "--protocol", "datex", str(path), "--format", "jsonl", "--samples"]) == 0
    waves = [o for o in jsonl(capsys.readouterr().out) if o["kind"] == "wave"]
    assert waves and all(len(o["samples"]) == o["n"] and o["fs"] == 100.0 for o in waves)
    assert set(waves[0]) == {"kind", "mdc", "label", "fs", "n", "t0", "unit", "gap", "samples"}


@pytest.mark.captures
def test_decode_with_the_wrong_protocol_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--protocol", "masimo", str(capture("datex/pycollect-b650-db02.raw"))]) == 1
    assert "right protocol" in capsys.readouterr().err


def test_decode_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--protocol", "nonin", str(tmp_path / "x.raw")]) == 2
    err = capsys.readouterr().err
    assert "unknown protocol 'nonin'" in err and "masimo" in err
    assert main(["decode", "--protocol", "masimo", str(tmp_path / "missing.raw")]) == 2
    assert "cannot read capture" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["decode", str(tmp_path / "x.raw")])  # no --protocol
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["decode", "--protocol", "masimo", "x", "--format", "csv"])
    assert exc.value.code == 2


# --- probe ------------------------------------------------------------------------------------------------


@pytest.fixture
def masimo_on_socket() -> Iterator[str]:
    from devices.simulator import Simulator

    emulator = registry.get("masimo").make_emulator(Simulator("stable", seed=0, speed=5.0))
    with EmulationServer(emulator, TcpEndpoint()) as server:
        yield server.url


class Garbage:
    """A 'monitor' talking in an unknown tongue."""

    def receive(self, data: bytes, now: float) -> None:
        pass

    def outgoing(self, now: float) -> bytes:
        return bytes(range(7, 250, 3))


def test_probe_shows_values_and_exits_0(masimo_on_socket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--protocol", "masimo", "--port", masimo_on_socket, "--seconds", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "[link] connected" in out and "[link] associated" in out
    spo2 = next(line.split() for line in out.splitlines() if line.startswith("SPO2"))
    assert 90 <= float(spo2[5]) <= 100  # the "last" column
    assert "Data arrived" in out and "frames decoded (0 bad)" in out


def test_probe_jsonl(masimo_on_socket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--protocol", "masimo", "--port", masimo_on_socket, "--seconds", "1.5",
                 "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    objs = jsonl(captured.out)
    assert {o["kind"] for o in objs} >= {"link", "numeric", "summary"}
    assert objs[-1]["kind"] == "summary" and objs[-1]["frames_ok"] >= 1 and objs[-1]["connects"] == 1
    assert "Data arrived" in captured.err


def test_probe_with_nothing_listening_explains_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = TcpEndpoint()
    endpoint.open()
    url = endpoint.url
    endpoint.close()  # a port number nobody listens on
    assert main(["probe", "--protocol", "masimo", "--port", url, "--seconds", "0.5"]) == 1
    out = capsys.readouterr().out
    assert "could not be opened" in out and "terminal server" in out


def test_probe_with_undecodable_bytes_points_at_line_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with EmulationServer(Garbage(), TcpEndpoint()) as server:
        assert main(["probe", "--protocol", "masimo", "--port", server.url, "--seconds", "1",
                     "--baud", "19200"]) == 1
    out = capsys.readouterr().out
    assert "arrived but none decoded" in out
    assert "this probe used 19200 8N1; the monitor's default is 9600 8N1" in out


def test_probe_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:  # refused while parsing, in one line
        main(["probe", "--protocol", "masimo", "--port", "socket://127.0.0.1:9", "--baud", "0"])
    assert refused.value.code == 2 and "--baud: must be at least 1" in capsys.readouterr().err
    assert main(["probe", "--protocol", "philips", "--port", "COM3"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["probe", "--protocol", "masimo", "--port", "COM3", "--parity", "X"])
    assert exc.value.code == 2


def test_probe_auto_finds_the_oximeter(masimo_on_socket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--protocol", "auto", "--port", masimo_on_socket, "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "Best match: Masimo" in out and "(--protocol masimo)" in out
    assert "masimo at 9600 8N1: ANSWERED" in out


def test_autodetect_reports_what_answered(masimo_on_socket: str) -> None:
    from devices.autodetect import autodetect

    results = autodetect(masimo_on_socket, protocols=["datex", "masimo"], seconds_per_try=1.0)
    best = results[0]
    assert best.protocol == "masimo" and best.answered and best.frames_bad == 0
    assert any(v.startswith("SPO2 ") for v in best.first_values)
    assert [r.protocol for r in results if r.answered] == ["masimo"]  # tried once: it answered at 9600
    assert {r.protocol for r in results[1:]} == {"datex"}


# --- emulate and replay as real processes ----------------------------------------------------------------


def chairside(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "console", *args], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r" on (\S+)$", line.strip())
    assert match, f"no port in {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
    return match.group(1)


def read_lines(url: str, count: int, limit: float = 8.0) -> list[bytes]:
    lines: list[bytes] = []
    deadline = time.monotonic() + limit
    with serial.serial_for_url(url, timeout=0.1) as port:
        buf = b""
        while len(lines) < count and time.monotonic() < deadline:
            buf += port.read(256)
            *done, buf = buf.split(b"\r\n")
            lines += [d for d in done if d]
    return lines


@pytest.mark.e2e
def test_emulate_serves_a_monitor_until_its_time_is_up() -> None:
    proc = chairside("emulate", "--protocol", "masimo", "--listen", "socket://127.0.0.1:0", "--speed", "10",
                     "--seconds", "4")
    try:
        url = first_url(proc)
        assert url.startswith("socket://127.0.0.1:") and not url.endswith(":0")
        lines = read_lines(url, 3)
        assert len(lines) == 3 and all(b" SPO2=0" in line and b"EXC=000800" in line for line in lines)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "sent" in out


@pytest.mark.e2e
@pytest.mark.captures
def test_replay_plays_a_capture_to_the_host_and_ends() -> None:
    path = capture(RAD8)
    proc = chairside("replay", str(path), "--protocol", "masimo", "--listen", "socket://127.0.0.1:0",
                     "--speed", "4")
    try:
        url = first_url(proc)
        lines = read_lines(url, 5)
        out, err = proc.communicate(timeout=20)  # ends by itself once the capture is played
    finally:
        proc.kill()
    assert lines == path.read_bytes().split(b"\r\n")[:5]
    assert proc.returncode == 0, err


@pytest.mark.parametrize("argv", [
    ["emulate", "--protocol", "simulator", "--pty"],
    ["emulate", "--protocol", "masimo", "--pty", "--scenario", "asystole"],
    ["emulate", "--protocol", "masimo", "--listen", "http://example.org"],
    ["replay", "/nonexistent/capture.raw", "--protocol", "masimo", "--pty"],
    ["replay", "/nonexistent/capture.raw", "--protocol", "nope", "--pty"],
])
def test_emulate_and_replay_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("chairside: error: ")


def test_a_speed_of_zero_is_refused_while_parsing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["emulate", "--protocol", "masimo", "--pty", "--speed", "0"])
    assert refused.value.code == 2 and "--speed: must be a positive number" in capsys.readouterr().err


def test_emulate_needs_exactly_one_place_to_serve() -> None:
    for argv in (["emulate", "--protocol", "masimo"],
                 ["emulate", "--protocol", "masimo", "--pty", "--listen", "socket://127.0.0.1:0"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2

"""``chairside chair --headless``: a chair without a window records vitals and alarms and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from console.cli import main
from console.record import open_database
from devices import mdc

ROOT = Path(__file__).resolve().parents[2]


def _chair(*argv: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("CHAIRSIDE_DB", None)
    return subprocess.Popen([sys.executable, "-m", "console", "chair", "--headless", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_until(proc: subprocess.Popen[str], wanted: str, limit_s: float = 180.0) -> list[str]:
    """Lines printed until one contains ``wanted`` (a watchdog ends a chair that never gets there)."""
    watchdog = threading.Timer(limit_s, proc.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if wanted in line:
                return lines
    finally:
        watchdog.cancel()
        watchdog.join()
    pytest.fail(f"the chair never printed {wanted!r}: {lines} {proc.stderr.read() if proc.stderr else ''}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_headless_demo_chair_records_vitals_and_alarms_and_stops_cleanly(tmp_path, stop_signal) -> None:
    url = f"sqlite:///{tmp_path / 'chair.db'}"
    proc = _chair("--chair", "Room 3", "--db", url, "--demo", "--scenario", "desaturation", "--speed", "60")
    try:
        # the scenario's desaturation, simulated 3 min in: one SpO2 condition, escalated to high below 88 %
        lines = _read_until(proc, "high SpO2")
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines += out.splitlines()
    assert proc.returncode == 0, err
    assert lines[-1].endswith("chair Room 3: stopped")
    assert any("link Simulator: associated" in line for line in lines)
    odd = [line for line in lines if line.count("chair Room 3:") != 1]
    assert not odd, odd  # one line per state change, each naming the chair once
    db = open_database(url)
    try:
        svc = db.service(db.system_user())
        [session] = svc.sessions()
        assert session.chair == "Room 3" and session.demo
        spo2_rows = db.numerics(session.id, mdc.SPO2)
        # stored SpO2 spans the desaturation (rows carry the host time of their batch, so at 60x several
        # simulated seconds can share one stamp: the row count is not the simulated seconds)
        assert len(spo2_rows) >= 10 and spo2_rows.value.min() < 88
        alarms = [e.data for e in svc.entries(session.id) if e.kind == "alarm"]
        spo2 = [a for a in alarms if a["mdc"] == mdc.SPO2 and a["event"] in ("start", "escalate")]
        assert [a["event"] for a in spo2 if a["event"] == "start"] == ["start"]  # low and critical: one alarm
        assert {a["priority"] for a in spo2} >= {"high"} and len({a["alarm_id"] for a in spo2}) == 1
        assert all(a["demo"] for a in spo2)
    finally:
        db.close()
    # nothing left behind but the record: the outbox journal is gone once everything was written
    assert sorted(p.name for p in tmp_path.iterdir() if "outbox" in p.name) == []


@pytest.mark.parametrize("argv, words", [
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db"], "either --demo or"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--demo", "--scenario", "bogus"], "unknown scenario"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--demo", "--speed", "0.5"], "--speed must be"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--demo", "--device", "datex:/dev/ttyS0"],
     "either --demo or"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--device", "nonesuch:/dev/ttyS0"], "unknown protocol"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--device", "datex"], "PROTOCOL:URL"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--device", "datex:/dev/x", "--speed", "2"],
     "go with --demo"),
    (["--db", "sqlite:///{tmp}/x.db", "--demo"], "--chair NAME is required"),
    (["--chair", "1", "--demo"], "--db URL is required"),
    (["--chair", "1", "--db", "sqlite:///{tmp}/x.db", "--demo", "--speed", "fast"], "invalid float"),
])
def test_bad_arguments_exit_2_with_one_line_and_create_nothing(tmp_path, capsys, argv, words) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = main(["chair", "--headless", *argv])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and words in err, err
    assert list(tmp_path.iterdir()) == []


def test_without_headless_the_command_says_where_the_window_is(tmp_path, capsys) -> None:
    assert main(["chair", "--chair", "1", "--db", f"sqlite:///{tmp_path}/x.db", "--demo"]) == 2
    assert "plain 'chairside'" in capsys.readouterr().err


def test_a_demo_chair_never_writes_into_a_real_record(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'real.db'}"
    db = open_database(url)
    try:
        db.service(db.system_user("test")).add_user("carla", "Carla C", "clinician", "correct horse battery")
    finally:
        db.close()
    before = (tmp_path / "real.db").read_bytes()
    assert main(["chair", "--headless", "--chair", "1", "--db", url, "--demo"]) == 2
    assert "real (non-demo)" in capsys.readouterr().err
    assert (tmp_path / "real.db").read_bytes() == before


def test_a_headless_chair_with_an_absent_monitor_reports_it_lost_and_records_nothing(tmp_path) -> None:
    """A real-device chair whose monitor does not answer: the link goes lost (one line, not one per retry),
    the disconnection is an alarm in the log, no session is invented, and SIGTERM still ends it cleanly."""
    import socket

    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'chair.db'}"
    proc = _chair("--chair", "Bay 1", "--db", url, "--device", f"datex:socket://127.0.0.1:{port}")
    try:
        lines = _read_until(proc, "alarm start")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines += out.splitlines()
    assert proc.returncode == 0, err
    assert any("no session open" in line for line in lines)
    lost = [line for line in lines if ": lost (" in line]
    assert len(lost) == 1, lines  # retries failing for the same reason are not news
    assert lines[-1].endswith("chair Bay 1: stopped")
    db = open_database(url)
    try:
        assert db.service(db.system_user()).sessions() == []
    finally:
        db.close()

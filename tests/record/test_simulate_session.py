"""``chairside simulate-session``: a complete, signed DEMO session with vitals, following the protocol."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from console.cli import main
from console.record import PermissionDenied, open_database
from devices import mdc
from tests.record.conftest import make_user


def test_simulated_session_is_complete_signed_and_demo(sqlite_url, capsys, tmp_path):
    code = main(["simulate-session", "--minutes", "6", "--scenario", "stable", "--speed", "max",
                 "--db", sqlite_url, "--seed", "7"])
    out, err = capsys.readouterr()
    assert code == 0
    session_id = int(out.strip().splitlines()[-1])
    assert "recorded a 6-minute simulated session" in err
    db = open_database(sqlite_url)
    try:
        svc = db.service(db.system_user())
        info = svc.session(session_id)
        assert info.demo and info.status == "signed" and info.protocol_id == "iv-ketamine-0.5"
        assert info.details["simulation"] == {"scenario": "stable", "seed": 7, "minutes": 6.0, "speed": "max"}
        assert info.details["dose"]["mg_per_kg"] == 0.5
        entries = svc.entries(session_id)
        kinds = [e.kind for e in entries]
        for k in ("precheck", "questionnaire", "infusion_start", "side_effect", "intervention", "note",
                  "infusion_stop", "discharge"):
            assert k in kinds, k
        assert kinds[-1] == "signature" and kinds.index("infusion_start") < kinds.index("infusion_stop")
        points = {(e.data["scale"], e.data["point"]) for e in entries if e.kind == "observation"}
        assert points == {(s, p) for s in ("moaas", "cadss6") for p in ("baseline", "40", "end", "discharge")}
        assert "check_overdue" not in kinds  # the script follows the protocol's schedule
        assert not any(e.late for e in entries)
        assert all(e.username == "simulation" for e in entries if e.kind != "checkpoint")
        assert db.verify(session_id).ok
        hr = db.numerics(session_id, mdc.HEART_RATE)
        assert 355 <= len(hr) <= 360  # 1 Hz over 6 minutes
        ecg = db.waves(session_id, mdc.ECG_II)
        # every sample the simulator produced (it emits 128-sample blocks), no gap
        assert 6 * 60 * 500 - 128 < ecg.samples.size <= 6 * 60 * 500 and ecg.gaps.size == 0
        # entries and vitals share the simulated timeline
        assert hr.host_time[0] <= entries[1].at.timestamp() <= hr.host_time[-1]
    finally:
        db.close()
    export = tmp_path / "sim.json"
    assert main(["export", str(session_id), "--db", sqlite_url, "--out", str(export)]) == 0
    record = json.loads(export.read_text(encoding="utf-8"))
    assert record["banner"].startswith("DEMO")
    assert record["vitals_summary"]["wave_seconds"][str(mdc.ECG_II)] == pytest.approx(360, abs=0.3)


def test_bad_arguments_are_refused_plainly(sqlite_url, capsys):
    assert main(["simulate-session", "--minutes", "2", "--db", sqlite_url]) == 2
    assert "5 to 1440 minutes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate-session", "--speed", "fast", "--db", sqlite_url])
    assert main(["simulate-session", "--minutes", "6", "--scenario", "nope", "--db", sqlite_url]) == 2
    assert "nope" in capsys.readouterr().err


def test_a_simulated_clock_is_for_demo_accounts_only(sqlite_url):
    open_database(sqlite_url).close()
    fake = datetime.now(UTC) - timedelta(days=3)
    db = open_database(sqlite_url, clock=lambda: fake)
    try:
        demo = db.service(db.demo_login())  # first: a database with real users refuses demo accounts
        real = db.service(make_user(db, "carla", "clinician"))
        with pytest.raises(PermissionDenied, match="simulated clock"):
            real.create_patient("PT-1")
        s = demo.start_session(demo.create_patient("D-1").id, "iv", "1", "chair")
        assert s.started_at == fake
        assert demo.add_entry(s.id, "note", {"text": "x"}).entered_at == fake
    finally:
        db.close()


def test_a_hypertensive_session_records_its_high_bp_alarms(sqlite_url, capsys):
    """The simulated session runs the chair runtime: the infusion's BP peak raises a high-priority alarm, and
    the stored, signed session has it like a real one (with its end, written by the same writer)."""
    code = main(["simulate-session", "--minutes", "60", "--scenario", "hypertensive", "--db", sqlite_url,
                 "--seed", "3", "--quiet"])
    out, _err = capsys.readouterr()
    assert code == 0
    session_id = int(out.strip().splitlines()[-1])
    db = open_database(sqlite_url)
    try:
        entries = db.service(db.system_user()).entries(session_id)
        alarms = [e for e in entries if e.kind == "alarm"]
        starts = [e.data for e in alarms if e.data["event"] == "start"]
        high_bp = [d for d in starts if d["priority"] == "high" and d["mdc"] == mdc.NIBP]
        assert high_bp, [(d["priority"], d["message"]) for d in starts]
        assert all(d["demo"] for d in starts)  # alarms from simulated data are marked demo
        assert all(e.username == "simulation" and not e.late for e in alarms)
        start_at = {e.data["alarm_id"]: e.at for e in alarms if e.data["event"] == "start"}
        infusion = next(e.at for e in entries if e.kind == "infusion_start")
        assert min(start_at.values()) > infusion  # the rise follows the infusion, as in the scenario
        assert entries[-1].kind == "signature" and db.verify(session_id).ok
    finally:
        db.close()


def test_a_stable_session_raises_no_physiological_alarm(sqlite_url, capsys):
    assert main(["simulate-session", "--minutes", "6", "--db", sqlite_url, "--quiet"]) == 0
    session_id = int(capsys.readouterr().out.strip().splitlines()[-1])
    db = open_database(sqlite_url)
    try:
        alarms = [e for e in db.service(db.system_user()).entries(session_id) if e.kind == "alarm"]
        assert [a.data["message"] for a in alarms if a.data["category"] != "technical"] == []
    finally:
        db.close()


def test_an_unknown_scenario_exits_2_with_one_line_and_leaves_nothing(tmp_path, capsys):
    path = tmp_path / "demo.db"
    assert main(["simulate-session", "--scenario", "bogus", "--db", f"sqlite:///{path}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bogus" in err and "hypertensive" in err
    assert list(tmp_path.iterdir()) == []  # no database, no journal, no backup


def test_an_unknown_scenario_creates_no_patient_in_an_existing_demo_database(sqlite_url, capsys):
    assert main(["simulate-session", "--minutes", "6", "--db", sqlite_url, "--quiet"]) == 0
    capsys.readouterr()
    db = open_database(sqlite_url)
    try:
        before = len(db.service(db.demo_login()).patients())
    finally:
        db.close()
    assert main(["simulate-session", "--scenario", "bogus", "--db", sqlite_url]) == 2
    db = open_database(sqlite_url)
    try:
        assert len(db.service(db.demo_login()).patients()) == before
    finally:
        db.close()


def test_a_simulation_never_writes_into_a_real_record(sqlite_url, capsys):
    db = open_database(sqlite_url)
    try:
        carla = make_user(db, "carla", "clinician")
    finally:
        db.close()
    assert main(["simulate-session", "--minutes", "6", "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "real (non-demo)" in err and err.count("\n") == 1
    db = open_database(sqlite_url)
    try:
        svc = db.service(carla)
        assert svc.patients() == [] and svc.sessions() == []
    finally:
        db.close()

"""The one SpO2 condition through the chair runtime: what the record keeps and what the board shows.

The engine tests (test_one_condition.py) prove the logic; here the same desaturation goes the way it goes at a
real chair: samples into :class:`~console.runtime.ChairRuntime`, alarm entries through its writer into the
session's record, the runtime's snapshot to the central board's status.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest

from console.board import Phase
from console.board.feed import chair_status
from console.record import open_database
from console.runtime import ChairRuntime, ManualClock
from devices import mdc
from devices.model import AlarmPriority, Numeric, State


@pytest.fixture
def chair(tmp_path) -> Iterator[tuple[ChairRuntime, object, ManualClock]]:
    db = open_database(f"sqlite:///{tmp_path / 'record.db'}", busy_timeout_ms=100)
    clock = ManualClock(float(int(time.time())))
    rt = ChairRuntime(db, chair="7", clock=clock, journal_path=tmp_path / "outbox.jsonl")
    rt.start(alarm_thread=False)  # ticked by hand: every evaluation is deterministic
    try:
        yield rt, db, clock
    finally:
        assert rt.shutdown(), "a runtime thread did not stop"
        db.close()


def spo2(rt: ChairRuntime, values: Sequence[float], t0: float) -> float:
    """One SpO2 value a second from ``t0``, each evaluated as the alarm thread would; the last time."""
    t = t0
    for i, v in enumerate(values):
        t = t0 + i
        rt.ingest([Numeric(mdc.SPO2, "SpO2", v, "%", State.NONE, t, t)])
        rt.tick(t)
    return t


def test_a_desaturation_is_one_record_alarm_and_one_board_alarm(chair) -> None:
    rt, db, clock = chair
    user = db.demo_login()
    svc = db.service(user)
    patient = svc.create_patient("P-001", weight_kg=70)
    session = svc.start_session(patient.id, "iv-ketamine-0.5", "1", rt.chair, devices=["Simulator"])
    rt.open_session(session.id, user)
    assert rt.drain()
    t0 = clock.now()
    t = spo2(rt, [90] * 11 + [84] * 11, t0)  # below 92 for 10 s, then below 88 for 10 s
    clock.set(t)
    snap = rt.snapshot()
    [alarm] = snap.alarms
    assert (alarm.mdc, alarm.priority) == (mdc.SPO2, AlarmPriority.HIGH)
    status = chair_status(snap, phase=Phase.INFUSING, patient="P-001")
    assert [(a.priority, a.mdc) for a in status.alarms] == [("high", mdc.SPO2)]  # one line on the board
    assert rt.alarms.acknowledge(alarm.id, "nurse.kim", t) is True
    assert rt.alarms.audible_priority(t) == AlarmPriority.NONE
    t = spo2(rt, [97] * 6, t + 1)
    assert rt.drain()
    entries = [e.data for e in svc.entries(session.id) if e.kind == "alarm"]
    assert [(e["event"], e["alarm_id"]) for e in entries] == [
        ("start", alarm.id), ("escalate", alarm.id), ("ack", alarm.id), ("end", alarm.id)]
    start, escalate, ack, end = entries
    # each entry keeps the value and the limit it is about
    assert (start["priority"], start["value"], start["limit"]) == ("medium", 90, 92)
    assert (escalate["priority"], escalate["value"], escalate["limit"]) == ("high", 84, 88)
    assert ack["user"] == "nurse.kim" and ack["priority"] == "high"
    assert (end["value"], end["worst_value"], end["time"]) == (97, 84, t)
    assert rt.snapshot().alarms == []  # acknowledged and ended: nothing latched


def test_simulate_session_records_a_desaturation_as_one_escalated_alarm(tmp_path, capsys) -> None:
    """``chairside simulate-session`` runs the same chair runtime: its record of the scenario's desaturation
    is one SpO2 alarm (start medium, escalate high, end) in a signed session that verifies."""
    from console.cli import main

    url = f"sqlite:///{tmp_path / 'sim.db'}"
    code = main(["simulate-session", "--minutes", "15", "--scenario", "desaturation", "--db", url,
                 "--seed", "0", "--quiet"])
    out, _err = capsys.readouterr()
    assert code == 0
    session_id = int(out.strip().splitlines()[-1])
    db = open_database(url)
    try:
        entries = db.service(db.system_user()).entries(session_id)
        spo2 = [e.data for e in entries if e.kind == "alarm" and e.data.get("mdc") == mdc.SPO2]
        assert [(d["event"], d["priority"]) for d in spo2] == [
            ("start", "medium"), ("escalate", "high"), ("end", "high")]
        assert len({d["alarm_id"] for d in spo2}) == 1
        start, escalate, end = spo2
        assert start["limit"] == 92 and start["value"] < 92 and start["demo"]
        assert escalate["limit"] == 88 and escalate["value"] < 88
        assert end["value"] >= 94 and end["worst_value"] <= escalate["value"]
        assert entries[-1].kind == "signature" and db.verify(session_id).ok
    finally:
        db.close()

"""The chair runtime without Qt: samples reach buffers and record, alarms belong to the chair, one writer."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from console.record.errors import InvalidEntry, PermissionDenied
from console.record.outbox import PendingEntry
from console.runtime import ChairRuntime, ScaledClock
from devices import mdc
from devices.model import AlarmPriority, Numeric, State
from tests.runtime.conftest import bp, open_session, wait_for


def test_the_runtime_imports_no_qt() -> None:
    code = ("import sys, console.runtime, console.commands.chair; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'widgets'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_samples_reach_the_live_buffers_and_the_recorder(db, runtime, clock) -> None:
    session, _user, _svc = open_session(db, runtime)
    t = clock.now()
    runtime.ingest([Numeric(mdc.HEART_RATE, "HR", 70.0 + i, "/min", State.NONE, t + i, t + i) for i in range(5)])
    record = runtime.live.numerics.get(mdc.HEART_RATE)
    assert record is not None and record.value == 74.0
    assert runtime.snapshot().numerics[mdc.HEART_RATE].value == 74.0
    assert runtime.recorder is not None and runtime.recorder.flush(timeout=30)
    stored = db.numerics(session.id, mdc.HEART_RATE)
    assert list(stored.value) == [70.0, 71.0, 72.0, 73.0, 74.0]


def test_alarms_fire_with_nobody_logged_in_and_are_not_recorded_without_a_session(db, runtime, clock,
                                                                                   lines) -> None:
    runtime.ingest(bp(196, 118, clock.now()))
    runtime.tick()
    snap = runtime.snapshot()
    assert snap.session_id is None
    assert [a.priority for a in snap.alarms] == [AlarmPriority.HIGH]  # one reading, one condition
    assert snap.audible == AlarmPriority.HIGH
    assert any("alarm start: high" in line for line in lines)
    assert runtime.drain() and runtime.outbox.pending == []


def test_alarm_entries_are_stored_for_the_session_with_the_acknowledging_user(db, runtime, clock) -> None:
    session, user, svc = open_session(db, runtime)
    runtime.ingest(bp(186, 116, clock.now()))
    runtime.tick()
    top = runtime.alarms.top()
    assert top is not None and top.priority == AlarmPriority.HIGH
    clock.advance(3)
    assert runtime.alarms.acknowledge(top.id, "Nurse Ann Ray", clock.now())
    assert runtime.drain()
    alarms = [e for e in svc.entries(session.id) if e.kind == "alarm"]
    starts = [e for e in alarms if e.data["event"] == "start"]
    [start] = starts  # systolic and diastolic of one reading are one condition
    assert start.data["mdc"] == mdc.NIBP and start.data["priority"] == "high"
    [ack] = [e for e in alarms if e.data["event"] == "ack"]
    assert ack.data["user"] == "Nurse Ann Ray" and ack.data["alarm_id"] == top.id
    assert all(e.username == user.username for e in alarms)  # written for the session's clinician
    assert ack.at.timestamp() == pytest.approx(clock.now())


def test_the_writer_keeps_the_order_entries_were_submitted_in(db, runtime) -> None:
    session, _user, svc = open_session(db, runtime)
    futures = [runtime.submit_entry(session.id, "note", {"text": f"note {i}"}) for i in range(40)]
    assert runtime.drain()
    results = [f.result(timeout=0) for f in futures]
    assert all(not isinstance(r, PendingEntry) for r in results)
    notes = [e.data["text"] for e in svc.entries(session.id) if e.kind == "note"]
    assert notes == [f"note {i}" for i in range(40)]


def test_bad_entries_and_roles_are_refused_at_once_and_nothing_is_queued(db, runtime) -> None:
    session, _user, _svc = open_session(db, runtime)
    with pytest.raises(InvalidEntry):
        runtime.submit_entry(session.id, "no-such-kind", {"x": 1})
    admin = db.system_user("test")
    with pytest.raises(PermissionDenied):
        runtime.submit_entry(session.id, "note", {"text": "x"}, user=admin)
    runtime.close_session()
    with pytest.raises(ValueError, match="no session is open"):
        runtime.submit_entry(session.id, "note", {"text": "x"})
    assert runtime.drain() and runtime.writer.backlog == 0 and runtime.outbox.pending == []


def test_a_locked_database_delays_the_writes_never_the_caller(db, db_path, runtime, clock) -> None:
    """With another program holding the SQLite file, an alarm fires and an entry is submitted: both calls
    return at once, and both entries land once the lock is released."""
    session, _user, svc = open_session(db, runtime)
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        runtime.ingest(bp(190, 100, clock.now()))
        runtime.tick()  # the alarm fires; its entry is queued, not written here
        future = runtime.submit_entry(session.id, "note", {"text": "patient asks for a blanket"})
        assert runtime.alarms.top() is not None
        # the writer met the lock: the entries wait in the outbox (journalled), nothing was lost or refused
        assert wait_for(lambda: future.done())
        assert isinstance(future.result(), PendingEntry)
        assert {p.kind for p in runtime.outbox.pending} == {"alarm", "note"}
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert wait_for(lambda: not runtime.outbox.pending)
    kinds = [e.kind for e in svc.entries(session.id)]
    assert kinds.count("alarm") == 1 and kinds.count("note") == 1
    assert kinds.index("alarm") < kinds.index("note")  # the order they happened in


def test_link_states_are_pulled_and_logged_once_per_change(db, tmp_path, lines) -> None:
    from devices.simulator import Simulator
    from devices.simulator.driver import SimulatorDriver

    clock = ScaledClock(60.0)
    rt = ChairRuntime(db, chair="3", clock=clock, on_change=lines.append, journal_path=tmp_path / "o.jsonl")
    sim = Simulator("hypertensive", 0, start=clock.now() - 600, mark_demo=True, source="Simulator")
    rt.add_device(SimulatorDriver(source="Simulator", simulator=sim), None, name="Simulator")
    rt.start()
    try:
        assert wait_for(lambda: rt.link_states()[1]["Simulator"].state in ("connected", "associated"))
        assert wait_for(lambda: rt.live.numerics.get(mdc.HEART_RATE) is not None)
    finally:
        assert rt.shutdown()
    assert not rt.devices[0].is_running()
    link_lines = [line for line in lines if "link Simulator" in line]
    assert link_lines and len(link_lines) == len(set(link_lines))
    assert not [t for t in threading.enumerate() if t.name.startswith(("acquisition:", "chair-"))]


def test_shutdown_writes_what_is_pending_and_joins_every_thread(db, clock, tmp_path) -> None:
    rt = ChairRuntime(db, chair="9", clock=clock, journal_path=tmp_path / "o.jsonl")
    rt.start()
    session, _user, svc = open_session(db, rt)
    rt.ingest(bp(200, 120, clock.now()))  # evaluated by the alarm thread or, at the latest, by shutdown
    rt.submit_entry(session.id, "note", {"text": "last words"})
    assert rt.shutdown()
    assert rt.shutdown()  # twice is harmless
    kinds = [e.kind for e in svc.entries(session.id)]
    assert "note" in kinds and kinds.count("alarm") == 1
    assert not [t for t in threading.enumerate() if t.name.startswith(("acquisition:", "chair-", "vitals-"))]
    with pytest.raises(RuntimeError):
        rt.writer.submit(lambda: None)


def test_the_snapshot_is_plain_json_for_logs_and_boards(db, runtime, clock) -> None:
    import json

    session, _user, _svc = open_session(db, runtime)
    for _ in range(30):  # a low SpO2 each second, past the persistence delay: the alarm is confirmed
        clock.advance(1)
        runtime.ingest([Numeric(mdc.SPO2, "SpO2", 84.0, "%", State.DEMO, clock.now(), clock.now())])
        runtime.tick()
    data = json.loads(json.dumps(runtime.snapshot().as_dict()))
    assert data["chair"] == "7" and data["session_id"] == session.id
    assert data["numerics"][str(mdc.SPO2)] == {"value": 84.0, "unit": "%", "age_s": 0.0}
    assert data["alarms"] and data["alarms"][0]["priority"] == "high" and data["alarms"][0]["mdc"] == mdc.SPO2
    assert data["audible"] == "high"
    assert data["recording"].startswith(f"Recording session {session.id}")


def test_clocks_run_at_their_speed_and_never_backwards() -> None:
    from console.runtime import ManualClock, as_clock
    from console.runtime.clock import WallClock

    fast = ScaledClock(600.0, start=1000.0)
    stop = threading.Event()
    before = fast.now()
    fast.wait(stop, 60.0)  # a simulated minute is a tenth of a real second
    assert fast.now() - before >= 59.0
    manual = ManualClock(50.0)
    manual.set(40.0)  # never backwards: what was stamped stays in order
    assert manual.now() == 50.0
    manual.advance(5)
    assert manual.now() == 55.0
    with pytest.raises(ValueError):
        manual.advance(-1)
    with pytest.raises(ValueError):
        ScaledClock(0)
    assert isinstance(as_clock(__import__("time").time), WallClock)
    assert as_clock(lambda: 7.0).now() == 7.0 and as_clock(manual) is manual

"""What the chair runtime owes the record besides entries: checkpoints once a minute (off the caller's thread,
through a locked database), vitals a crashed chair left in its journal, and gap notes for lost vitals."""

from __future__ import annotations

import json
import sqlite3
import time

from console.record.vitals_journal import Batch, VitalsJournal, journal_path, orphaned_journals
from console.runtime import ChairRuntime
from devices import mdc
from devices.model import Numeric, State
from tests.runtime.conftest import open_session, wait_for


def checkpoints(svc, session_id: int) -> list[dict]:
    return [e.data for e in svc.entries(session_id) if e.kind == "checkpoint"]


def test_the_open_sessions_vitals_come_under_the_chain_while_it_runs(db, clock, tmp_path) -> None:
    rt = ChairRuntime(db, chair="4", clock=clock, journal_path=tmp_path / "o.jsonl", checkpoint_interval=0.1)
    rt.start(alarm_thread=False)
    try:
        session, _user, svc = open_session(db, rt)
        t = clock.now()
        rt.ingest([Numeric(mdc.HEART_RATE, "HR", 60.0 + i, "/min", State.NONE, t + i, t + i) for i in range(30)])
        assert rt.recorder.flush(timeout=30)
        assert wait_for(lambda: any(sum(tb["rows"] for tb in c["tables"].values()) for c in
                                    checkpoints(svc, session.id)))
        time.sleep(0.5)
        # only when new rows arrived: an idle chair does not fill the chain with empty checkpoints
        assert len(checkpoints(svc, session.id)) == 1
        assert db.verify(session.id).ok
    finally:
        assert rt.shutdown()


def test_a_locked_database_postpones_checkpoints_and_nothing_else_stops(db, db_path, clock, tmp_path) -> None:
    rt = ChairRuntime(db, chair="5", clock=clock, journal_path=tmp_path / "o.jsonl", checkpoint_interval=0.1,
                      outbox_retry_interval=0.1)
    rt.start(alarm_thread=False)
    try:
        session, _user, svc = open_session(db, rt)
        t = clock.now()
        rt.ingest([Numeric(mdc.SPO2, "SpO2", 97.0, "%", State.NONE, t + i, t + i) for i in range(20)])
        lock = sqlite3.connect(db_path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            rt.recorder.flush(timeout=0.5)
            time.sleep(0.5)  # several checkpoint attempts meet the lock
            future = rt.submit_entry(session.id, "note", {"text": "still writing"})
            assert wait_for(lambda: future.done())  # the writer thread is alive and answering
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert wait_for(lambda: any(c["tables"].get("vital_numeric_blocks", {}).get("rows") for c in
                                    checkpoints(svc, session.id)))
        assert rt.outbox is not None
        assert wait_for(lambda: not rt.outbox.pending)
    finally:
        assert rt.shutdown()
    assert db.verify(session.id).ok


def test_vitals_a_crashed_chair_left_in_its_journal_are_written_at_start(db, db_path, clock, tmp_path) -> None:
    user = db.demo_login()
    svc = db.service(user)
    patient = svc.create_patient("P-002", weight_kg=70)
    session = svc.start_session(patient.id, "iv-ketamine-0.5", "1", "6", devices=["Simulator"])
    url = str(db.engine.url)
    rows = [{"session_id": session.id, "mdc": int(mdc.HEART_RATE), "label": "HR", "value": 70.0 + i,
             "unit": "/min", "state": 0, "device_time": None, "host_time": 1_790_000_000.0 + i} for i in range(10)]
    journal = VitalsJournal(journal_path(url, session.id, "deadchair"))
    journal.append(Batch(numerics=rows))
    journal.close()
    assert len(orphaned_journals(url, session.id)) == 1
    said: list[str] = []
    rt = ChairRuntime(db, chair="6", clock=clock, journal_path=tmp_path / "o.jsonl", on_change=said.append)
    rt.start(alarm_thread=False)
    try:
        # poll the record, not the journal: orphaned_journals() takes the journal's lock for a moment, and a
        # replay that found it locked then (as if a live recorder held it) waits for its next round
        assert wait_for(lambda: len(db.numerics(session.id, mdc.HEART_RATE).value) == 10, 60), said
    finally:
        assert rt.shutdown()
    assert list(db.numerics(session.id, mdc.HEART_RATE).value) == [70.0 + i for i in range(10)]
    assert orphaned_journals(url, session.id) == []  # replayed and removed


def test_lost_vitals_are_said_in_the_record_as_a_note_of_the_sessions_clinician(db, clock, tmp_path) -> None:
    rt = ChairRuntime(db, chair="8", clock=clock, journal_path=tmp_path / "o.jsonl")
    rt.start(alarm_thread=False)
    try:
        session, user, svc = open_session(db, rt)
        assert rt.recorder is not None
        outbox = rt.recorder._outbox
        note = outbox.add_entry(session.id, "note", {"text": "Vitals not recorded between ..."})
    finally:
        assert rt.shutdown()
    stored = [e for e in svc.entries(session.id) if e.kind == "note"]
    assert [e.id for e in stored] == [note.id] and stored[0].username == user.username
    assert json.loads(json.dumps(stored[0].data)) == {"text": "Vitals not recorded between ..."}

"""No silent loss of vitals: a storage outage of hours goes to the on-disk journal (memory stays bounded), every
row reaches the record exactly once and in order when storage is back, also after the recorder's process was
killed mid-outage; a damaged journal tail and a crash between commit and acknowledgement lose and double
nothing. (A full disk, where rows really are lost, counted and noted in the session: tests/faults/
test_storage.py.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from console.record import models as m
from console.record import open_database
from console.record.engine import sqlite_path
from console.record.vitals import MEMORY_ROWS_BOUND, replay_orphaned_journals
from console.record.vitals_journal import Batch, VitalsJournal, journal_path, orphaned_journals
from devices import mdc
from devices.model import AlarmPriority, DeviceAlarm, Numeric, WaveBlock

from .conftest import make_user

T0 = 1_790_000_000.0
FS = 250.0


class ExclusiveLock:
    """Another connection holding the SQLite write lock (as another program would)."""

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        assert path is not None
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def minute(k: int) -> list[Any]:
    """Minute ``k`` of a synthetic monitor: HR and SpO2 at 1 Hz, ECG at 250/s in 0.5 s blocks, and a device
    alarm at the start of every tenth minute."""
    out: list[Any] = []
    for s in range(60):
        t = T0 + 60 * k + s
        out.append(Numeric(mdc.HEART_RATE, "HR", float(60 + (60 * k + s) % 40), "/min", host_time=t))
        out.append(Numeric(mdc.SPO2, "SpO2", 97.0, "%", host_time=t))
        for half in (0.0, 0.5):
            n0 = int((60 * k + s + half) * FS)
            x = np.sin(np.arange(n0, n0 + int(FS / 2)) / 20.0)
            out.append(WaveBlock(mdc.ECG_II, "ECG II", t + half, FS, x, "mV", host_time=t + half))
    if k % 10 == 0:
        out.append(DeviceAlarm("HR_HIGH", "HR high", AlarmPriority.MEDIUM, True, mdc=mdc.HEART_RATE,
                               host_time=T0 + 60 * k))
    return out


@pytest.fixture
def locked_db(sqlite_url: str) -> Any:
    db = open_database(sqlite_url, busy_timeout_ms=50)
    svc = db.service(make_user(db, "carla", "clinician"))
    s = svc.start_session(svc.create_patient("PT-1").id, "iv", "1", "chair 1")
    yield db, svc, s
    db.close()


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_an_outage_of_hours_spills_to_disk_and_every_row_arrives_once(sqlite_url: str, locked_db: Any) -> None:
    db, _, s = locked_db
    minutes = 180  # three hours of vitals while another program holds the database
    rec = db.vitals_recorder(s.id, flush_interval=0.05, max_retry_pause=0.1)
    lock = ExclusiveLock(sqlite_url)
    try:
        rec.submit(minute(0))
        assert rec.flush(timeout=10) is False
        rss_start = _rss_kib()
        for k in range(1, minutes):
            rec.submit(minute(k))
            if k % 15 == 0:
                assert rec.flush(timeout=30) is False  # each failed write moves the rows to the journal
                st = rec.status()
                assert st.memory_rows <= MEMORY_ROWS_BOUND and st.lost_rows == 0
                assert "busy" in st.last_error and "nothing was lost" in st.message
        assert rec.flush(timeout=30) is False
        st = rec.status()
        rss_growth_mib = (_rss_kib() - rss_start) / 1024
        # the old recorder kept every row in memory: 3 hours cost it more than 100 MiB here
        assert rss_growth_mib < 60, f"memory grew {rss_growth_mib:.0f} MiB during the outage"
        assert st.memory_rows == 0 and st.numerics_written == 0 and st.lost_rows == 0
        # every HR and SpO2 value (stored ten to a block), an ECG chunk per 10 s, the alarms
        assert st.journal_rows == st.pending_rows == minutes * (60 * 2 + 6) + minutes // 10
        assert st.journal_seconds >= minutes * 60 - 2 and st.journal_bytes > 300_000  # 3 h of ECG, HR, SpO2
        assert f"{st.journal_rows} rows ({st.journal_seconds:.0f} s of vitals" in st.message
        journals = list(Path(str(sqlite_path(sqlite_url))).parent.glob("*.journal"))
        assert len(journals) == 1
    finally:
        lock.release()
    assert rec.flush(timeout=120) is True
    final = rec.close()
    assert final.pending_rows == 0 and final.lost_rows == 0 and final.journal_rows == 0
    assert not list(Path(str(sqlite_path(sqlite_url))).parent.glob("*.journal"))
    seconds = minutes * 60
    hr = db.numerics(s.id, mdc.HEART_RATE)
    assert len(hr) == seconds and np.array_equal(hr.host_time, T0 + np.arange(seconds))  # once, no hole
    assert np.array_equal(hr.value, 60.0 + np.arange(seconds) % 40)
    assert len(db.numerics(s.id, mdc.SPO2)) == seconds
    wave = db.waves(s.id, mdc.ECG_II)
    assert wave.samples.shape[0] == seconds * FS and wave.gaps.size == 0 and wave.t0 == T0
    assert np.allclose(wave.samples, np.sin(np.arange(int(seconds * FS)) / 20.0), atol=0.002)
    with db.engine.connect() as conn:
        chunks = conn.execute(select(func.count(), func.count(func.distinct(m.VitalWave.t0)))
                              .where(m.VitalWave.session_id == s.id)).one()
        events = conn.execute(select(func.count()).select_from(m.VitalEvent)
                              .where(m.VitalEvent.session_id == s.id)).scalar()
        ids = conn.execute(select(m.VitalNumericBlock.id).where(m.VitalNumericBlock.session_id == s.id,
                                                                m.VitalNumericBlock.mdc == mdc.HEART_RATE)
                           .order_by(m.VitalNumericBlock.t0)).scalars().all()
    assert ids == sorted(ids) and len(ids) == seconds // 10  # written in the order they were measured
    assert tuple(chunks) == (seconds // 10, seconds // 10) and events == minutes // 10
    assert final.numerics_written == 2 * seconds and final.wave_chunks_written == seconds // 10


CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tests.record.test_vitals_journal import minute
from console.record import open_database
db = open_database({url!r}, busy_timeout_ms=50)
rec = db.vitals_recorder({sid}, flush_interval=0.05, max_retry_pause=0.1)
for k in range(20):
    rec.submit(minute(k))
assert rec.flush(timeout=30) is False
st = rec.status()
print(st.journal_rows, st.memory_rows, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no atexit: a console killed mid-outage
"""


def test_a_recorder_killed_mid_outage_leaves_a_journal_the_next_one_writes(sqlite_url: str,
                                                                           locked_db: Any) -> None:
    db, _, s = locked_db
    lock = ExclusiveLock(sqlite_url)
    try:
        root = str(Path(__file__).resolve().parents[2])
        child = subprocess.run([sys.executable, "-c", CHILD.format(root=root, url=sqlite_url, sid=s.id)],
                               capture_output=True, text=True, timeout=120, check=False,
                               env={**os.environ, "PYTHONPATH": root})
        assert child.returncode == -signal.SIGKILL, child.stderr
        journal_rows, memory_rows = map(int, child.stdout.split())
        assert memory_rows == 0 and journal_rows == 20 * (60 * 2 + 6) + 2
        assert len(orphaned_journals(sqlite_url, s.id)) == 1  # nobody holds its lock any more
        rec = db.vitals_recorder(s.id, flush_interval=0.05, max_retry_pause=0.1)
        assert rec.status().journal_rows == journal_rows  # adopted, still waiting for the lock to go
        rec.submit(minute(20))  # the new recorder's own rows queue behind the dead one's
        assert rec.flush(timeout=30) is False
    finally:
        lock.release()
    assert rec.flush(timeout=60) is True
    assert rec.close().lost_rows == 0
    hr = db.numerics(s.id, mdc.HEART_RATE)
    assert np.array_equal(hr.host_time, T0 + np.arange(21 * 60))
    assert db.waves(s.id, mdc.ECG_II).samples.shape[0] == 21 * 60 * FS
    assert orphaned_journals(sqlite_url, s.id) == []


def test_a_journal_batch_already_committed_before_a_crash_is_not_written_twice(sqlite_url: str,
                                                                                locked_db: Any) -> None:
    db, _, s = locked_db
    rows = [{"session_id": s.id, "mdc": int(mdc.HEART_RATE), "label": "HR", "value": 70.0 + i, "unit": "/min",
             "state": 0, "device_time": None, "host_time": T0 + i} for i in range(10)]
    later = [dict(r, host_time=T0 + 10 + i, value=80.0 + i) for i, r in enumerate(rows)]
    journal = VitalsJournal(journal_path(sqlite_url, s.id, "dead"))
    journal.append(Batch(numerics=rows))
    journal.append(Batch(numerics=later))
    journal.close()
    with db.write_engine.begin() as conn:  # the first batch's commit went through, its 'done' never did
        conn.execute(insert(m.VitalNumeric), rows)
    rec = db.vitals_recorder(s.id)
    assert rec.flush(timeout=30) is True
    rec.close()
    assert list(db.numerics(s.id).value) == [70.0 + i for i in range(10)] + [80.0 + i for i in range(10)]


def test_a_damaged_journal_tail_is_cut_and_the_intact_batches_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    j = VitalsJournal(path)
    good = [{"session_id": 1, "mdc": 1, "label": "HR", "value": 60.0, "unit": "/min", "state": 0,
             "device_time": None, "host_time": T0 + i} for i in range(3)]
    j.append(Batch(numerics=good))
    j.append(Batch(numerics=[dict(good[0], host_time=T0 + 9)]))
    j.close()
    with path.open("r+b") as f:  # a crash in the middle of writing the second batch
        f.truncate(path.stat().st_size - 3)
    again = VitalsJournal(path)
    assert again.pending_batches == 1 and again.pending_rows == 3
    item = again.oldest()
    assert item is not None and item[1].numerics == good
    again.append(Batch(numerics=[dict(good[0], host_time=T0 + 20)]))  # appends after the intact part
    again.mark_done(item[0])
    again.close()
    third = VitalsJournal(path)
    assert third.pending_rows == 1 and third.pending_span == (T0 + 20, T0 + 20)
    third.close()
    path.write_bytes(b"not a journal at all")
    fourth = VitalsJournal(path)
    assert fourth.pending_rows == 0 and path.stat().st_size == 0  # not a journal: started afresh
    fourth.close()


def test_a_live_recorders_journal_is_not_adopted_by_another(sqlite_url: str, locked_db: Any) -> None:
    db, _, s = locked_db
    rec = db.vitals_recorder(s.id, flush_interval=0.05, max_retry_pause=0.1)
    lock = ExclusiveLock(sqlite_url)
    try:
        rec.submit(minute(0))
        assert rec.flush(timeout=10) is False and rec.status().journal_rows > 0
        assert orphaned_journals(sqlite_url, s.id) == []  # its owner is alive and holds the lock
    finally:
        lock.release()
    assert rec.flush(timeout=30) is True
    rec.close()


def test_journals_of_sessions_never_resumed_are_written_by_the_replay(sqlite_url: str, locked_db: Any) -> None:
    db, svc, s = locked_db
    other = svc.start_session(svc.create_patient("PT-2").id, "iv", "1", "chair 2")
    for sid, value in ((s.id, 70.0), (other.id, 90.0)):
        journal = VitalsJournal(journal_path(sqlite_url, sid, f"gone{sid}"))
        journal.append(Batch(numerics=[{"session_id": sid, "mdc": int(mdc.HEART_RATE), "label": "HR",
                                        "value": value, "unit": "/min", "state": 0, "device_time": None,
                                        "host_time": T0 + i} for i in range(5)]))
        journal.close()
    status = replay_orphaned_journals(db)
    assert status is not None and status.numerics_written == 10 and status.pending_rows == 0
    assert list(db.numerics(s.id).value) == [70.0] * 5 and list(db.numerics(other.id).value) == [90.0] * 5
    assert orphaned_journals(sqlite_url) == [] and replay_orphaned_journals(db) is None


def test_closing_during_an_outage_keeps_the_rows_on_disk_and_says_so_truthfully(sqlite_url: str,
                                                                               locked_db: Any) -> None:
    db, _, s = locked_db
    rec = db.vitals_recorder(s.id, flush_interval=0.05, max_retry_pause=0.1)
    lock = ExclusiveLock(sqlite_url)
    try:
        for k in range(30):
            rec.submit(minute(k))
        closed = rec.close()  # the console closes while the database is still locked
        assert closed.lost_rows == 0 and closed.memory_rows == 0 and closed.numerics_written == 0
        assert closed.journal_rows == 30 * (60 * 2 + 6) + 3 and "nothing was lost" in closed.message
        assert "Nothing was lost: unsaved entries" not in closed.last_error  # not the entry outbox's promise
    finally:
        lock.release()
    again = db.vitals_recorder(s.id)
    assert again.flush(timeout=60) is True
    again.close()
    assert np.array_equal(db.numerics(s.id, mdc.HEART_RATE).host_time, T0 + np.arange(30 * 60))
    assert db.waves(s.id, mdc.ECG_II).samples.shape[0] == 30 * 60 * FS


def test_journal_batches_keep_numeric_blocks_and_read_those_of_older_versions() -> None:
    import json
    import zlib

    block = {"session_id": 1, "mdc": int(mdc.HEART_RATE), "label": "HR", "unit": "/min", "t0": T0, "t1": T0 + 9,
             "n": 10, "codec": 16, "data": bytes(range(256))}
    batch = Batch(blocks=[block])
    back = Batch.decode(batch.encode())
    assert back.blocks == [block] and len(back) == 10 and back.span() == (T0, T0 + 9)
    # a journal written before numerics were stored in blocks has no "blocks" key: its rows still come back
    row = {"session_id": 1, "mdc": int(mdc.HEART_RATE), "label": "HR", "value": 70.0, "unit": "/min", "state": 0,
           "device_time": None, "host_time": T0}
    old = zlib.compress(json.dumps({"numerics": [row], "waves": [], "events": []}).encode(), 1)
    assert Batch.decode(old) == Batch(numerics=[row])

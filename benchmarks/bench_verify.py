"""Verify and checkpoints: the time ``verify`` takes and what the checkpoint entries cost on disk.

Run from the project root: ``python -m benchmarks --only verify`` (``--quick`` for a short run).

* Checkpoint storage overhead: a 2-hour session (simulator ``stable`` with waves: ECG 500/s, pleth, resp,
  CO2, numerics) is recorded into a fresh SQLite file with a checkpoint appended after every simulated minute
  (as the chair runtime does) and signed. A copy without the checkpoint entries (guards dropped, entries
  deleted, both files VACUUMed) gives the bytes the checkpoints cost, as % of the file. Target <= 2 %.
  A checkpoint names only the tables that received rows and the audit head only when it moved (format 2,
  ``console/record/checkpoints.py``); one chair alone leaves the audit trail quiet, so a second recording has
  another console write an audit row every minute (a busy clinic: every checkpoint then carries the head).
* Verify of that 2-hour session with waves: wall time (and CPU time) of ``Database.verify(session)``, the
  second run (the first warms the page cache), (file integrity check,
  guards, audit chain, header, entries, every bulk row re-hashed against its checkpoint). Target <= 1 s.
* Verify of 1,000 sessions: a file with 1,000 signed sessions (10 entries each, no vitals), whole-database
  ``Database.verify()``.
``--quick``: 20 simulated minutes and 100 sessions. Every file gets a fresh trust folder (site key, registry,
witness) next to it, so verify's witness check reads only this run's lines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Row, row, table

if TYPE_CHECKING:
    from console.record.database import Database

os.environ.setdefault("CHAIRSIDE_FAST_HASH", "1")  # logins are not what is measured here

BENCH = "verify"


def _open(url: str) -> Database:
    """The benchmark's database with a trust folder of its own next to the file: verify reads and checks every
    witness line, and the default folder in the user data dir keeps growing with every run on the machine."""
    from console.record import open_database

    return open_database(url, trust_dir=Path(url.removeprefix("sqlite:///")).parent / "trust")


def _record(url: str, seconds: float, busy: bool = False) -> int:
    """A signed session with ``seconds`` of vitals and a checkpoint per simulated minute; its id. ``busy``:
    another console writes an audit row each minute, so every checkpoint records a new audit head."""
    from sqlalchemy.orm import Session as OrmSession

    from console.record.checkpoints import append_checkpoint
    from console.record.service import audit
    from devices.simulator import Simulator

    db = _open(url)
    try:
        svc = db.service(db.demo_login())
        s = svc.start_session(svc.create_patient(f"BENCH-{time.time_ns()}").id, "iv-ketamine-0.5", "1", "bench")
        rec = db.vitals_recorder(s.id)
        sim = Simulator("stable", 1, waves=True, start=time.time() - seconds - 5)
        done = 0.0
        while done < seconds:
            rec.submit(sim.advance_sim(60.0))
            if not rec.flush(120.0):
                raise RuntimeError(f"recorder did not keep up: {rec.status()}")
            if busy:
                with OrmSession(db.write_engine) as o, o.begin():
                    audit(o, None, "login", target="chair 2", username="another-clinician")
            append_checkpoint(db, s.id)
            done += 60.0
        status = rec.close()
        if status.pending_rows or status.last_error:
            raise RuntimeError(f"recorder did not write everything: {status}")
        svc.sign(s.id, "demo")
        return s.id
    finally:
        db.close()


def _vacuumed_size(path: Path) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in WAL mode VACUUM's result is in the WAL first
    finally:
        conn.close()
    return path.stat().st_size


def _checkpoint_overhead(path: Path) -> tuple[float, int, int]:
    """(% of the file the checkpoint entries take, their count, bytes)."""
    bare = path.with_name("without-checkpoints.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, bare)
    with sqlite3.connect(bare) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        n = conn.execute("DELETE FROM entries WHERE kind = 'checkpoint'").rowcount
    full, without = _vacuumed_size(path), _vacuumed_size(bare)
    return 100.0 * (full - without) / full, n, full - without


def _timed_verify(url: str, session_id: int | None) -> tuple[float, float, str]:
    """(wall s, CPU s of this process, summary) of one verify run (the second: the first warms the cache)."""
    db = _open(url)
    try:
        db.verify(session_id)
        start, cpu = time.perf_counter(), time.process_time()
        result = db.verify(session_id)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        if not result.ok:
            raise RuntimeError(result.summary())
        return took, cpu, result.summary()
    finally:
        db.close()


def _many_sessions(url: str, n: int) -> None:
    db = _open(url)
    try:
        svc = db.service(db.demo_login())
        patient = svc.create_patient("MANY-1")
        for i in range(n):
            s = svc.start_session(patient.id, "iv-ketamine-0.5", "1", f"chair {i % 8}",
                                  details={"dose_mg": 36.25})
            for k in range(9):
                svc.add_entry(s.id, "note", {"text": f"note {k}"})
            svc.sign(s.id, "demo")
    finally:
        db.close()


def run(quick: bool) -> list[Row]:
    seconds = 1200.0 if quick else 7200.0
    sessions = 100 if quick else 1000
    rows: list[Row] = []
    # tmpfs where there is one: the build of 1,000 sessions is thousands of fsyncs, not what is measured
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="chairside-bench-", dir=base) as tmp:
        path = Path(tmp) / "session.sqlite3"
        url = f"sqlite:///{path}"
        sid = _record(url, seconds)
        took, cpu, summary = _timed_verify(url, sid)
        minutes = seconds / 60
        rows.append(row(BENCH, f"verify one {minutes:g}-min session with waves (SQLite)", took, "s",
                        at_most=1.0 * seconds / 7200.0 if quick else 1.0,
                        note=f"CPU {cpu:.2f} s; {summary.split(',')[1].strip()}; "
                             f"file {path.stat().st_size / 1e6:.1f} MB"))
        pct, n, size = _checkpoint_overhead(path)
        rows.append(row(BENCH, "checkpoint entries: storage overhead", pct, "%", at_most=2.0,
                        note=f"{n} checkpoints, {size / 1e3:.0f} kB of a {minutes:g}-min session with waves"))
        busy = Path(tmp) / "busy.sqlite3"
        _record(f"sqlite:///{busy}", seconds, busy=True)
        pct, n, size = _checkpoint_overhead(busy)
        rows.append(row(BENCH, "checkpoint entries: storage overhead, busy clinic", pct, "%", at_most=2.0,
                        note=f"{n} checkpoints, {size / 1e3:.0f} kB; the audit head moves every minute"))
        many = f"sqlite:///{Path(tmp) / 'many.sqlite3'}"
        _many_sessions(many, sessions)
        took, cpu, summary = _timed_verify(many, None)
        rows.append(row(BENCH, f"verify {sessions} sessions (SQLite, 10 entries each)", took, "s",
                        note=f"CPU {cpu:.2f} s; " + summary.removeprefix("intact: ")))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 simulated minutes, 100 sessions")
    args = parser.parse_args()
    rows = run(args.quick)
    print(table(rows))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

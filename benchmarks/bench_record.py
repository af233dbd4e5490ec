"""Session record: bytes on disk per hour of vitals with waves, writer-thread CPU, entry commit time, and the
wall time of a 120-minute ``simulate-session`` at max speed.

Run from the project root: ``/work/venv/bin/python benchmarks/bench_record.py [--quick]`` (or through
``python -m benchmarks --only record``).

* Bytes per hour: the simulator (``stable``, ECG 500/s, pleth 125/s, resp 62.5/s, CO2 62.5/s, six 1 Hz
  numerics plus NIBP) feeds a :class:`VitalsRecorder` for one simulated hour into a fresh SQLite file; the
  file is checkpointed (WAL folded in) and its size divided by the hours recorded. The same recorded session
  is exported as a VitalDB ``.vital`` file (``console.exports.vital``) and the record is compared with it:
  target record <= 1.0 x ``.vital``, on SQLite and on PostgreSQL. The clinic-year estimate is 8 chairs x 8 h
  x 250 days = 16,000 chair-hours at the measured bytes per hour.
* Writer CPU: ``time.thread_time()`` of the writer thread over that hour of data (it is fed far faster than
  real time, so this is the CPU one real hour costs), as seconds and as % of one core over a real hour.
* Entry commit: mean time of ``add_entry`` (SQLite, ``synchronous=FULL``, so one fsync each) over 200 entries.
* simulate-session: ``simulate_session(minutes=120)`` end to end (simulator, recorder, entries, sign-off).
  Target < 60 s.
* Memory while storage is down: the same simulated vitals for 10 hours (``--quick``: 1 hour) while another
  connection holds the SQLite database locked; the growth of the process's resident memory (VmRSS) from the
  first to the last hour, the journal's size, and whether every row arrived once the lock went. The recorder
  holds at most ``MEMORY_ROWS_BOUND`` rows; before the journal the same run grew by 385 MiB.
With ``CHAIRSIDE_TEST_PG_URL`` set, the hour of vitals is also written to PostgreSQL; after ``VACUUM`` the
``pg_total_relation_size`` (heap, TOAST and indexes) of the vitals tables is the record's size there (the
write-ahead log is separate: it is recycled after checkpoints and sized by ``max_wal_size``, not by the
record). ``--quick`` records 10 minutes instead of an hour and simulates a 20-minute session.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Row, row, table

os.environ.setdefault("CHAIRSIDE_FAST_HASH", "1")  # logins are not what is measured here

BENCH = "record"
#: the tables that hold a session's vitals (both numeric layouts)
VITALS_TABLES = ("vital_numerics", "vital_numeric_blocks", "vital_waves", "vital_events")
#: 8 chairs x 8 hours x 250 days
CLINIC_YEAR_HOURS = 8 * 8 * 250


def _vital_bytes(url: str, session_id: int, folder: Path) -> int:
    """Size of the VitalDB ``.vital`` export of the recorded session (the yardstick for the record)."""
    from console.exports import export_session
    from console.record import open_database

    out = folder / f"session-{session_id}-{time.time_ns()}.vital"
    db = open_database(url)
    try:
        export_session(db, session_id, "vital", out)
        return out.stat().st_size
    finally:
        db.close()
        out.unlink(missing_ok=True)


def _versus_vital(backend: str, record_mb_h: float, vital_mb_h: float) -> list[Row]:
    return [row(BENCH, f"record bytes/hour vs .vital ({backend})", record_mb_h / vital_mb_h, "x",
                at_most=1.0,
                note=f"{record_mb_h:.2f} MB/h record vs {vital_mb_h:.2f} MB/h .vital of the same session"),
            row(BENCH, f"clinic-year record estimate ({backend})", record_mb_h * CLINIC_YEAR_HOURS / 1000,
                "GB", note="8 chairs x 8 h x 250 days = 16,000 chair-hours of vitals with waves")]


def _record_vitals(url: str, seconds: float) -> tuple[float, float, int]:
    """Record ``seconds`` of simulated vitals; returns (writer CPU s, wall s, session id)."""
    from console.record import open_database
    from devices.simulator import Simulator

    db = open_database(url)
    try:
        svc = db.service(db.demo_login())
        patient = svc.create_patient(f"BENCH-{time.time_ns()}")
        s = svc.start_session(patient.id, "iv-ketamine-0.5", "1", "bench")
        rec = db.vitals_recorder(s.id)
        sim = Simulator("stable", 1, waves=True, start=time.time() - seconds)
        start = time.perf_counter()
        done = 0.0
        while done < seconds:
            step = min(60.0, seconds - done)
            rec.submit(sim.advance_sim(step))
            done += step
        status = rec.close()
        wall = time.perf_counter() - start
        if status.pending_rows or status.last_error:
            raise RuntimeError(f"recorder did not write everything: {status}")
        return status.cpu_seconds, wall, s.id
    finally:
        db.close()


def _rss_mib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, kB on Linux


def _outage_memory(folder: Path, seconds: float) -> tuple[float, int, int, bool]:
    """Record ``seconds`` of simulated vitals into a locked SQLite database, then release it; returns (RSS
    growth MiB after the first hour, journal bytes at the end of the outage, rows written, all arrived)."""
    from console.record import open_database
    from devices.simulator import Simulator

    path = folder / "outage.sqlite3"
    db = open_database(f"sqlite:///{path}", busy_timeout_ms=50)
    try:
        svc = db.service(db.demo_login())
        s = svc.start_session(svc.create_patient(f"OUT-{time.time_ns()}").id, "iv-ketamine-0.5", "1", "bench")
        rec = db.vitals_recorder(s.id)  # the default retry pauses, as at a chair
        sim = Simulator("stable", 1, waves=True, start=time.time() - seconds)
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        done, base = 0.0, None
        try:
            while done < seconds:
                rec.submit(sim.advance_sim(60.0))
                done += 60.0
                if done % 600 == 0:
                    rec.flush(timeout=60)  # a write attempt: fails, the rows go to the journal
                if base is None and done >= min(3600.0, seconds / 2):
                    base = _rss_mib()
            rec.flush(timeout=60)
            growth = _rss_mib() - (base or 0.0)
            during = rec.status()
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        ok = rec.flush(timeout=600)
        final = rec.close()
        arrived = ok and final.pending_rows == 0 and final.lost_rows == 0 and (
            final.numerics_written + final.wave_chunks_written + final.events_written >= during.journal_rows)
        return growth, during.journal_bytes, during.journal_rows, arrived
    finally:
        db.close()


def _sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))


def _entry_commit_ms(url: str, n: int) -> float:
    from console.record import open_database

    db = open_database(url)
    try:
        svc = db.service(db.demo_login())
        s = svc.start_session(svc.create_patient(f"E-{time.time_ns()}").id, "iv", "1", "bench")
        start = time.perf_counter()
        for i in range(n):
            svc.add_entry(s.id, "note", {"text": f"note {i}"})
        return (time.perf_counter() - start) / n * 1000
    finally:
        db.close()


def run(quick: bool) -> list[Row]:
    seconds = 600.0 if quick else 3600.0
    sim_minutes = 20.0 if quick else 120.0
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        path = Path(tmp) / "vitals.sqlite3"
        cpu, wall, sid = _record_vitals(f"sqlite:///{path}", seconds)
        hours = seconds / 3600.0
        size = _sqlite_size(path)
        vital_mb_h = _vital_bytes(f"sqlite:///{path}", sid, Path(tmp)) / hours / 1e6
        rows.append(row(BENCH, "SQLite bytes per hour of vitals with waves", size / hours / 1e6, "MB/h",
                        at_most=6.0, note=f"{seconds / 60:g} simulated min, whole file incl. schema"))
        rows.append(row(BENCH, ".vital export of the same session, bytes per hour", vital_mb_h, "MB/h",
                        note="console.exports.vital (vitaldb)"))
        rows += _versus_vital("SQLite", size / hours / 1e6, vital_mb_h)
        rows.append(row(BENCH, "writer thread CPU per hour of vitals", cpu / hours, "s CPU/h",
                        note=f"= {cpu / hours / 36:.2f} % of one core in real time; "
                             f"fed in {wall:.1f} s wall"))
        rows.append(row(BENCH, "add_entry commit (SQLite, synchronous=FULL)",
                        _entry_commit_ms(f"sqlite:///{Path(tmp) / 'entries.sqlite3'}", 50 if quick else 200),
                        "ms/entry"))

        from console.record.vitals import MEMORY_ROWS_BOUND

        outage = 3600.0 if quick else 36000.0
        growth, journal_bytes, journal_rows, arrived = _outage_memory(Path(tmp), outage)
        rows.append(row(BENCH, "memory growth while storage is down", growth, "MiB", at_most=32.0,
                        note=f"{outage / 3600:g} h locked, RSS from hour 1 (or half way) to the end; bound "
                             f"{MEMORY_ROWS_BOUND} rows in memory; journal {journal_bytes / 1e6:.0f} MB, "
                             f"{journal_rows} rows, {'all written once unlocked' if arrived else 'NOT ALL WRITTEN'}"))

        pg = os.environ.get("CHAIRSIDE_TEST_PG_URL")
        if pg:
            rows += _postgres_rows(pg, seconds, Path(tmp))

        from console.record.simulation import simulate_session

        result = simulate_session(f"sqlite:///{Path(tmp) / 'sim.sqlite3'}", minutes=sim_minutes, seed=1)
        rows.append(row(BENCH, f"simulate-session {sim_minutes:g} min at max speed", result.wall_seconds, "s",
                        at_most=60.0 * sim_minutes / 120.0,
                        note=f"{result.entries} entries, {result.recorder.wave_chunks_written} wave chunks, "
                             f"writer CPU {result.recorder.cpu_seconds:.1f} s"))
    return rows


def _postgres_rows(admin_url: str, seconds: float, folder: Path) -> list[Row]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"chairside_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        cpu, _, sid = _record_vitals(url, seconds)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for table_name in VITALS_TABLES:
                    conn.execute(text(f"VACUUM {table_name}"))
                size = conn.execute(text(
                    "SELECT sum(pg_total_relation_size(c::regclass)) FROM unnest(CAST(:t AS text[])) AS c"),
                    {"t": list(VITALS_TABLES)}).scalar()
                assert size is not None, "the vitals tables are missing"
        finally:
            engine.dispose()
        hours = seconds / 3600.0
        record_mb_h = float(size or 0) / hours / 1e6
        vital_mb_h = _vital_bytes(url, sid, folder) / hours / 1e6
        return [row(BENCH, "PostgreSQL bytes per hour of vitals (tables+TOAST+indexes)", record_mb_h, "MB/h",
                    note=f"pg_total_relation_size of {', '.join(VITALS_TABLES)} after VACUUM; WAL not included"),
                *_versus_vital("PostgreSQL", record_mb_h, vital_mb_h),
                row(BENCH, "writer thread CPU per hour of vitals (PostgreSQL)", cpu / hours, "s CPU/h")]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 minutes of vitals, a 20-minute simulation")
    args = parser.parse_args()
    rows = run(args.quick)
    print(table(rows))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

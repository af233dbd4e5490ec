"""Session record: bytes on disk per hour of vitals with waves, writer-thread CPU, entry commit time, and the
wall time of a 120-minute ``simulate-session`` at max speed.

Run from the project root: ``/work/venv/bin/python benchmarks/bench_record.py [--quick]`` (or through
``python -m benchmarks --only record``).

* Bytes per hour: the simulator (``stable``, ECG 500/s, pleth 125/s, resp 62.5/s, CO2 62.5/s, six 1 Hz
  numerics plus NIBP) feeds a :class:`VitalsRecorder` for one simulated hour into a fresh SQLite file; the
  file is checkpointed (WAL folded in) and its size divided by the hours recorded. Target <= 6 MB/hour.
* Writer CPU: ``time.thread_time()`` of the writer thread over that hour of data (it is fed far faster than
  real time, so this is the CPU one real hour costs), as seconds and as % of one core over a real hour.
* Entry commit: mean time of ``add_entry`` (SQLite, ``synchronous=FULL``, so one fsync each) over 200 entries.
* simulate-session: ``simulate_session(minutes=120)`` end to end (simulator, recorder, entries, sign-off).
  Target < 60 s.
With ``CHAIRSIDE_TEST_PG_URL`` set, the hour of vitals is also written to PostgreSQL and its table sizes
reported. ``--quick`` records 10 minutes instead of an hour and simulates a 20-minute session.
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
        cpu, wall, _ = _record_vitals(f"sqlite:///{path}", seconds)
        hours = seconds / 3600.0
        size = _sqlite_size(path)
        rows.append(row(BENCH, "SQLite bytes per hour of vitals with waves", size / hours / 1e6, "MB/h",
                        at_most=6.0, note=f"{seconds / 60:g} simulated min, whole file incl. schema"))
        rows.append(row(BENCH, "writer thread CPU per hour of vitals", cpu / hours, "s CPU/h",
                        note=f"= {cpu / hours / 36:.2f} % of one core in real time; "
                             f"fed in {wall:.1f} s wall"))
        rows.append(row(BENCH, "add_entry commit (SQLite, synchronous=FULL)",
                        _entry_commit_ms(f"sqlite:///{Path(tmp) / 'entries.sqlite3'}", 50 if quick else 200),
                        "ms/entry"))

        pg = os.environ.get("CHAIRSIDE_TEST_PG_URL")
        if pg:
            rows += _postgres_rows(pg, seconds)

        from console.record.simulation import simulate_session

        result = simulate_session(f"sqlite:///{Path(tmp) / 'sim.sqlite3'}", minutes=sim_minutes, seed=1)
        rows.append(row(BENCH, f"simulate-session {sim_minutes:g} min at max speed", result.wall_seconds, "s",
                        at_most=60.0 * sim_minutes / 120.0,
                        note=f"{result.entries} entries, {result.recorder.wave_chunks_written} wave chunks, "
                             f"writer CPU {result.recorder.cpu_seconds:.1f} s"))
    return rows


def _postgres_rows(admin_url: str, seconds: float) -> list[Row]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"chairside_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        cpu, _, _ = _record_vitals(url, seconds)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                size = conn.execute(text(
                    "SELECT sum(pg_total_relation_size(c)) FROM "
                    "unnest(ARRAY['vital_numerics', 'vital_waves', 'vital_events']) AS c")).scalar()
                assert size is not None, "the vitals tables are missing"
        finally:
            engine.dispose()
        hours = seconds / 3600.0
        return [row(BENCH, "PostgreSQL bytes per hour of vitals (tables+indexes)", float(size) / hours / 1e6,
                    "MB/h", note="pg_total_relation_size of the vitals tables"),
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

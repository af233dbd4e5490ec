"""Loading a recorded session's full trend numerics: from the record database vs from the exported .vital.

A simulated session (``chairside simulate-session``'s engine, waves included, SQLite in a temporary folder;
2 hours, 30 minutes with ``--quick``) is recorded once and exported with ``chairside export --format vital``.
Then, alternating in the same run so both see the same machine load:

* **database**: open the database, ``Database.numerics(session_id)`` (every numeric row of the session as
  numpy arrays) and close;
* **anchor**: ``vitaldb.VitalFile(path, track_names=<the numeric tracks>)`` on the exported file, the way
  VitalDB users load trends.

Figures are medians over the repeats. The ratio database/anchor says whether reviewing from the record is in
the same league as the reference format (target: at most 3 times the anchor). The export times of the .vital
file and the PDF report of the same session are reported too. Run: ``python -m benchmarks --only review
[--quick]`` or this file's ``run`` directly.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import Row, median, row

BENCH = "review"


def _record(folder: Path, minutes: float) -> tuple[str, int]:
    from console.record import passwords
    from console.record.simulation import simulate_session

    passwords.use_fast_hashing(True)
    url = f"sqlite:///{folder / 'review-bench.sqlite3'}"
    return url, simulate_session(url, minutes=minutes, scenario="stable", seed=11).session_id


def _load_db(url: str, session_id: int) -> tuple[float, int]:
    from console.record import open_database

    t = time.perf_counter()
    with open_database(url) as db:
        n = len(db.numerics(session_id))
    return time.perf_counter() - t, n


def _load_vital(path: Path, tracks: list[str]) -> tuple[float, int]:
    from console.exports.vital import read_vital

    t = time.perf_counter()
    vf = read_vital(path, tracks)
    n = sum(len(vf.trks[name].recs) for name in tracks if name in vf.trks)
    return time.perf_counter() - t, n


def run(quick: bool) -> list[Row]:
    from console.exports import export_session
    from console.exports.vital import DEVICE, EVENT_TRACK, read_vital
    from console.record import open_database

    minutes = 30.0 if quick else 120.0
    repeats = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="chairside-bench-review-") as tmp:
        folder = Path(tmp)
        url, sid = _record(folder, minutes)
        vital = folder / "session.vital"
        with open_database(url) as db:
            t = time.perf_counter()
            export_session(db, sid, "vital", vital)
            t_vital_export = time.perf_counter() - t
            t = time.perf_counter()
            export_session(db, sid, "pdf", folder / "session.pdf")
            t_pdf_export = time.perf_counter() - t
        all_tracks = read_vital(vital).trks
        events = f"{DEVICE}/{EVENT_TRACK}"
        tracks = [name for name, trk in all_tracks.items() if trk.type == 2 and name != events]
        db_times, vital_times = [], []
        n_db = n_vital = 0
        _load_db(url, sid)  # warm the OS file cache for both before timing
        _load_vital(vital, tracks)
        for _ in range(repeats):
            dt, n_db = _load_db(url, sid)
            db_times.append(dt)
            vt, n_vital = _load_vital(vital, tracks)
            vital_times.append(vt)
    db_ms, vital_ms = median(db_times) * 1000, median(vital_times) * 1000
    label = f"{minutes:g}-min session"
    return [
        row(BENCH, f"load trend numerics from the database ({label})", db_ms, "ms",
            note=f"{n_db} numeric rows (all states), open + query + close, median of {repeats}"),
        row(BENCH, f"load the same trends with vitaldb.VitalFile (anchor, {label})", vital_ms, "ms",
            note=f"{n_vital} records (usable values) in {len(tracks)} tracks of the exported .vital"),
        row(BENCH, "database / anchor load time", db_ms / vital_ms if vital_ms else float("nan"), "x",
            at_most=3.0),
        row(BENCH, f"export .vital ({label}, waves included)", t_vital_export * 1000, "ms"),
        row(BENCH, f"export PDF report ({label})", t_pdf_export * 1000, "ms"),
    ]


if __name__ == "__main__":  # pragma: no cover
    from benchmarks.common import table

    print(table(run(quick=False)))

"""Opening a recorded session for review: time from opening the window until the whole trend is drawn.

A 2-hour simulated session (``chairside simulate-session``'s engine, waves included, SQLite in a temporary
folder) is recorded once. Each run then opens the database afresh, builds the :class:`ReviewWindow` (session,
entries, numerics as numpy arrays with one query per parameter, markers, log and audit tables), shows it at
1600x1000 and grabs it to an image, which forces every row of the trend to be painted. The figure is the
median over the runs (target <= 1 s). Waves are not read at opening; the lazy 10 s wave window is timed
separately.

Without a display the offscreen platform is used (raster painting). Run: ``python -m benchmarks --only
review_open [--quick]`` or this file's ``run`` directly.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import Row, median, row

BENCH = "review_open"
MINUTES = 120.0


def _record(folder: Path) -> tuple[str, int]:
    from console.record import passwords
    from console.record.simulation import simulate_session

    passwords.use_fast_hashing(True)
    url = f"sqlite:///{folder / 'review-bench.sqlite3'}"
    result = simulate_session(url, minutes=MINUTES, scenario="hypertensive", seed=7)
    return url, result.session_id


def _open_once(url: str, session_id: int) -> tuple[float, float]:
    """(seconds to open and draw the whole trend, seconds to load and draw one 10 s wave window)."""
    from console.app import create_application
    from console.record import open_database
    from console.review.review_window import ReviewWindow

    app = create_application()
    db = open_database(url)
    try:
        user = db.demo_login()
        t0 = time.perf_counter()
        window = ReviewWindow(db, user, session_id)
        window.resize(1600, 1000)
        window.show()
        app.processEvents()
        window.grab()  # paints every trend row now
        opened = time.perf_counter() - t0
        mid = (window.trend_data.start + window.trend_data.end) / 2
        t1 = time.perf_counter()
        window.trend.select_time(mid)
        window.waves.grab()
        waves = time.perf_counter() - t1
        window.close()
        window.deleteLater()
        app.processEvents()
        return opened, waves
    finally:
        db.close()


def run(quick: bool) -> list[Row]:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        url, sid = _record(Path(tmp))
        record_s = time.perf_counter() - t
        _open_once(url, sid)  # warm-up: imports, fonts, first QApplication
        results = [_open_once(url, sid) for _ in range(runs)]
    opened = [r[0] for r in results]
    waves = [r[1] for r in results]
    note = f"{MINUTES:g}-min hypertensive session with waves, median of {runs} (recorded in {record_s:.1f} s)"
    return [
        row(BENCH, "open to full trend drawn", median(opened), "s", at_most=1.0, note=note),
        row(BENCH, "open to full trend drawn, worst run", max(opened), "s"),
        row(
            BENCH,
            "click to 10 s wave window drawn",
            median(waves) * 1000.0,
            "ms",
            at_most=200.0,
            note="lazy load of four channels at full resolution",
        ),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run(quick=False)))

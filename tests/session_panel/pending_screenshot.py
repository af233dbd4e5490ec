"""Screenshot of the demo console while a sign-off waits for a locked record, at a given window size.

    python -m tests.session_panel.pending_screenshot OUT.png [WIDTHxHEIGHT] [busy|start]

For looking at the panel's pending state (issue 11): the record is held locked by another connection while the
clinician presses Sign. With ``busy`` the record's busy timeout is short, so the page shows "the record is busy:
still trying" as it retries; with ``start`` it is the Start session button that was pressed. Uses a throw-away
demo record in a temporary folder.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    from console.app import create_application
    from console.main_window import MainWindow
    from console.record import open_database
    from console.record.database import DEMO_PASSWORD
    from console.runtime import ChairRuntime, ManualClock
    from console.station import ChairStation
    from tests.session_panel.conftest import settle, start

    out = Path(argv[0])
    width, height = (int(v) for v in (argv[1] if len(argv) > 1 else "1366x768").split("x"))
    mode = argv[2] if len(argv) > 2 else ""
    busy = mode == "busy"
    app = create_application([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.db"
        db = open_database(f"sqlite:///{path}", busy_timeout_ms=100 if busy else 3_600_000)
        runtime = ChairRuntime(db, chair="1", clock=ManualClock(float(int(time.time()))),
                               journal_path=Path(tmp) / "outbox.jsonl")
        runtime.start(alarm_thread=False)
        window = MainWindow(demo=True, runtime=runtime)
        station = ChairStation(window, db, db.demo_login())
        window.resize(width, height)
        window.show()
        panel = station.panel
        if mode == "start":
            return _starting(app, station, window, runtime, db, path, out)
        start(panel)
        assert panel.discharge is not None, panel.message()
        panel.discharge.departure_details.setText("went home against advice")
        panel.discharge.departure_button.click()
        page = panel.open_signoff()
        assert page is not None, panel.message()
        page.password.setText(DEMO_PASSWORD)
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        page.sign_button.click()
        deadline = time.monotonic() + (60 if busy else 1)
        while time.monotonic() < deadline and not (busy and "still trying" in page.status_label.text()):
            app.processEvents()
            time.sleep(0.01)
        ok = window.grab().save(str(out), "PNG")
        lock.execute("ROLLBACK")
        lock.close()
        settle(panel)
        station.shutdown()
        window.shutdown()
        runtime.shutdown()
        db.close()
    print(f"saved {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


def _starting(app: Any, station: Any, window: Any, runtime: Any, db: Any, path: Path, out: Path) -> int:
    from tests.session_panel.conftest import settle

    form = station.panel.start_form
    form.code.setText("P-001")
    form.weight.setText("70")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    form.start_button.click()
    for _ in range(20):
        app.processEvents()
    ok = window.grab().save(str(out), "PNG")
    lock.execute("ROLLBACK")
    lock.close()
    settle(station.panel)
    station.shutdown()
    window.shutdown()
    runtime.shutdown()
    db.close()
    print(f"saved {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

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
import time
from pathlib import Path
from typing import Any

from tests.session_panel.demo_station import demo_station, save


def main(argv: list[str]) -> int:
    from console.record.database import DEMO_PASSWORD
    from tests.session_panel.conftest import settle, start

    out = Path(argv[0])
    size = argv[1] if len(argv) > 1 else "1366x768"
    mode = argv[2] if len(argv) > 2 else ""
    busy = mode == "busy"
    with demo_station(size, busy_timeout_ms=100 if busy else 3_600_000) as (app, station, path):
        panel = station.panel
        if mode == "start":
            ok = _starting(app, station, path, out)
        else:
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
            ok = save(app, station.window, out)
            lock.execute("ROLLBACK")
            lock.close()
        settle(panel)
    print(f"saved {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


def _starting(app: Any, station: Any, path: Path, out: Path) -> bool:
    """Press Start session while the record is locked, and save the screen showing the start under way."""
    form = station.panel.start_form
    form.code.setText("P-001")
    form.weight.setText("70")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    form.start_button.click()
    ok = save(app, station.window, out)
    lock.execute("ROLLBACK")
    lock.close()
    return ok


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""How long the GUI thread is held when the clinician starts a session, saves a correction and signs.

Set-up (one process, offscreen Qt, as in the app): a :class:`~console.station.ChairStation` on a SQLite record
with the real password hashing (argon2, seconds of CPU on purpose). For each of a few sessions of the demo
clinician: Start (patient added), a note, a correction of it, a recorded departure, then Sign with the password.
The first session's signature also makes the clinician's signing key; its figures are not counted.

Measured with ``time.perf_counter`` on the GUI thread: how long each click (Start, Save correction, Sign) takes
to return, and the longest single turn of the event loop while the signature is under way (what a frozen
window would show); the time until the session is signed is given for information. Targets: a click returns
within 50 ms, no event-loop turn over 100 ms.

Run: ``python -m benchmarks --only signoff [--quick]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import Row, median, row

BENCH = "signoff"


def _clicked(click: Callable[[], object]) -> float:
    """Milliseconds until ``click`` returned."""
    t = time.perf_counter()
    click()
    return (time.perf_counter() - t) * 1000.0


def _until(app: Any, done: Callable[[], bool], timeout_s: float = 120.0) -> tuple[float, float]:
    """Turn the event loop until ``done``: (the longest turn in ms, the whole wait in ms)."""
    start = time.perf_counter()
    worst = 0.0
    while not done():
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError("the intent never finished")
        t = time.perf_counter()
        app.processEvents()
        worst = max(worst, (time.perf_counter() - t) * 1000.0)
        time.sleep(0.002)
    return worst, (time.perf_counter() - start) * 1000.0


def run(quick: bool) -> list[Row]:
    from console.app import create_application
    from console.main_window import MainWindow
    from console.record import open_database, passwords
    from console.record.database import DEMO_PASSWORD
    from console.runtime import ChairRuntime, ManualClock
    from console.station import ChairStation

    passwords.use_fast_hashing(False)  # the real KDF: that is what froze the window
    app = create_application([sys.argv[0]])
    sessions = 2 if quick else 4
    starts: list[float] = []
    fixes: list[float] = []
    signs: list[float] = []
    turns: list[float] = []
    waits: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'record.db'}")
        runtime = ChairRuntime(db, chair="1", clock=ManualClock(float(int(time.time()))),
                               journal_path=Path(tmp) / "outbox.jsonl")
        runtime.start(alarm_thread=False)
        window = MainWindow(demo=True, runtime=runtime)
        station = ChairStation(window, db, db.demo_login())
        window.show()
        panel = station.panel
        try:
            for n in range(sessions):
                form = panel.start_form
                form.code.setText(f"P-{n:03d}")
                form.weight.setText("70")
                start_ms = _clicked(form.start_button.click)
                _until(app, lambda: panel.session is not None)
                panel.trigger("note")
                note_form: Any = panel.current_form()
                note_form.text.setText("a note to correct")
                panel.save_button.click()
                note = next(e for e in panel.entries() if e.kind == "note")
                amend = panel.open_amend(note)
                assert amend is not None and amend.text is not None
                amend.reason.setText("wording")
                amend.text.setText("the corrected note")
                fix_ms = _clicked(panel.save_button.click)
                _until(app, lambda: getattr(panel.ctl, "pending", None) is None)
                assert panel.discharge is not None
                panel.discharge.departure_details.setText("went home against advice")
                panel.discharge.departure_button.click()
                page = panel.open_signoff()
                assert page is not None, panel.message()
                page.password.setText(DEMO_PASSWORD)
                sign_ms = _clicked(page.sign_button.click)
                longest, wait = _until(app, lambda: panel.signed)
                if n:  # the first signature also made the key
                    starts.append(start_ms)
                    fixes.append(fix_ms)
                    signs.append(sign_ms)
                    turns.append(longest)
                    waits.append(wait)
                panel.next_patient()
        finally:
            station.shutdown()
            window.shutdown()
            runtime.shutdown()
            db.close()
    worst = f"worst of {len(signs)} sessions, real argon2"
    return [
        row(BENCH, "Start click returns", max(starts), "ms", at_most=50, note=worst),
        row(BENCH, "Save correction click returns", max(fixes), "ms", at_most=50, note=worst),
        row(BENCH, "Sign click returns", max(signs), "ms", at_most=50, note=worst),
        row(BENCH, "longest event-loop turn while signing", max(turns), "ms", at_most=100, note=worst),
        row(BENCH, "Sign click to signed on screen", median(waits), "ms",
            note=f"median of {len(signs)} sessions (KDF on the worker, commit on the writer)"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))

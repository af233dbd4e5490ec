"""Screenshot of the demo console with a session started and the pre-check open, at a given window size.

    python -m tests.session_panel.precheck_screenshot OUT.png [WIDTHxHEIGHT] [STEP]

For looking at the session panel's layout on real screen sizes (issue 12: 1366x768 and 1920x1080); STEP is the
pre-check step to show (1-based). Uses a throw-away demo record in a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from console.app import create_application
    from console.main_window import MainWindow
    from console.record import open_database
    from console.runtime import ChairRuntime, ManualClock
    from console.station import ChairStation
    from tests.session_panel.conftest import start

    out = Path(argv[0])
    width, height = (int(v) for v in (argv[1] if len(argv) > 1 else "1366x768").split("x"))
    step = int(argv[2]) if len(argv) > 2 else 1
    app = create_application([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'record.db'}")
        runtime = ChairRuntime(db, chair="1", clock=ManualClock(float(int(time.time()))),
                               journal_path=Path(tmp) / "outbox.jsonl")
        runtime.start(alarm_thread=False)
        window = MainWindow(demo=True, runtime=runtime)
        station = ChairStation(window, db, db.demo_login())
        window.resize(width, height)
        window.show()
        start(station.panel)
        precheck = station.panel.open_precheck()
        assert precheck is not None, "the session did not start"
        precheck.go(step - 1)
        for _ in range(20):
            app.processEvents()
        ok = window.grab().save(str(out), "PNG")
        station.shutdown()
        window.shutdown()
        runtime.shutdown()
        db.close()
    print(f"saved {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

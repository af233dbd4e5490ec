"""A demo console with its chair station on a throw-away record, for the screenshot scripts of this folder.

    with demo_station("1366x768") as (app, station, path):
        ...

Builds the record in a temporary folder, a chair runtime (manual clock, no alarm thread), the window and the
station, shows the window at the given size, and shuts all of it down in order afterwards.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from console.record.database import DEFAULT_BUSY_TIMEOUT_MS


@contextmanager
def demo_station(size: str = "1366x768", *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
                 ) -> Iterator[tuple[Any, Any, Path]]:
    """``(app, station, record_path)`` for a demo console shown at ``size`` (``WIDTHxHEIGHT``)."""
    from console.app import create_application
    from console.main_window import MainWindow
    from console.record import open_database
    from console.runtime import ChairRuntime, ManualClock
    from console.station import ChairStation

    width, height = (int(v) for v in size.split("x"))
    app = create_application([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "record.db"
        db = open_database(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
        runtime = ChairRuntime(db, chair="1", clock=ManualClock(float(int(time.time()))),
                               journal_path=Path(tmp) / "outbox.jsonl")
        runtime.start(alarm_thread=False)
        window = MainWindow(demo=True, runtime=runtime)
        station = ChairStation(window, db, db.demo_login())
        window.resize(width, height)
        window.show()
        try:
            yield app, station, path
        finally:
            station.shutdown()
            window.shutdown()
            runtime.shutdown()
            db.close()


def save(app: Any, window: Any, out: Path) -> bool:
    """Let the window paint, then save it as a PNG; True when written."""
    for _ in range(20):
        app.processEvents()
    return bool(window.grab().save(str(out), "PNG"))

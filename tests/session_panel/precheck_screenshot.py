"""Screenshot of the demo console with a session started and the pre-check open, at a given window size.

    python -m tests.session_panel.precheck_screenshot OUT.png [WIDTHxHEIGHT] [STEP]

For looking at the session panel's layout on real screen sizes (issue 12: 1366x768 and 1920x1080); STEP is the
pre-check step to show (1-based). Uses a throw-away demo record in a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.session_panel.demo_station import demo_station, save


def main(argv: list[str]) -> int:
    from tests.session_panel.conftest import start

    out = Path(argv[0])
    step = int(argv[2]) if len(argv) > 2 else 1
    with demo_station(argv[1] if len(argv) > 1 else "1366x768") as (app, station, _path):
        start(station.panel)
        precheck = station.panel.open_precheck()
        assert precheck is not None, "the session did not start"
        precheck.go(step - 1)
        ok = save(app, station.window, out)
    print(f"saved {out}" if ok else f"could not write {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

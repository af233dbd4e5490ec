"""Decode throughput of the Datex S/5 driver on the real CARESCAPE B650 captures, in multiples of real time.

Run from the project root: ``/work/venv/bin/python benchmarks/bench_decode_datex.py [--repeat N]``.

Real time of a capture: db02 spans 17:06:05-17:08:23 (138 s, from its record clocks). db01 replays segments
of the same session over and over, so its record clock goes backwards; its real time is taken as one second
per waveform record (the monitor sends one a second). Target: at least 200x real time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from devices.protocols.datex import DRIVER

CAPTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "captures" / "datex"
CHUNK = 4096  # a generous serial read


def decode(data: bytes) -> tuple[float, object, int]:
    driver = DRIVER()
    n = 0
    start = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        n += len(driver.feed(data[i:i + CHUNK], 0.0))
    return time.perf_counter() - start, driver, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per capture; the best is reported")
    args = parser.parse_args()
    cases = [("pycollect-b650-db02.raw", lambda d: 138.0),
             ("pycollect-b650-db01-corrupt.raw", lambda d: float(d.stats.extra["wave_records"]))]
    worst = float("inf")
    for name, real_seconds in cases:
        path = CAPTURES / name
        if not path.is_file():
            print(f"{name}: not found under {CAPTURES}, skipped")
            continue
        data = path.read_bytes()
        best, driver, samples = min((decode(data) for _ in range(args.repeat)), key=lambda r: r[0])
        real = real_seconds(driver)
        factor = real / best
        worst = min(worst, factor)
        stats = driver.stats
        print(f"{name}: {len(data):,} bytes, {stats.frames_ok} good / {stats.frames_bad} bad frames, "
              f"{samples} samples in {best * 1000:.1f} ms = {len(data) / best / 1e6:.1f} MB/s = "
              f"{factor:,.0f}x real time ({real:.0f} s)")
    if worst == float("inf"):
        return 1
    print(f"slowest: {worst:,.0f}x real time (target >= 200x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

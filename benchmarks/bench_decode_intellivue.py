"""Decode throughput of the IntelliVue driver on the real JVSCapture M8000 capture (~370 s of data).

Run: ``/work/venv/bin/python benchmarks/bench_decode_intellivue.py [path]``. Prints frames, samples and
how many times faster than real time the whole capture decodes (target: at least 200x). No assertion:
speed depends on the machine; this only reports it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devices.model import Numeric, WaveBlock
from devices.protocols.intellivue import DRIVER

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"
DEFAULT = CAPTURES / "philips" / "jvscapture-m8000-monitor-to-host.raw"
CAPTURE_SECONDS = 370.0  # length of the session in the capture (README)
CHUNK = 1024  # bytes per feed, like a serial read


def decode_once(data: bytes) -> tuple[float, int, int, int]:
    driver = DRIVER()
    numerics = waves = 0
    start = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        for sample in driver.feed(data[i:i + CHUNK], 1_700_000_000.0 + i / 4437.0):
            if isinstance(sample, Numeric):
                numerics += 1
            elif isinstance(sample, WaveBlock):
                waves += 1
    return time.perf_counter() - start, driver.stats.frames_ok, numerics, waves


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not path.is_file():
        print(f"capture not found: {path}", file=sys.stderr)
        return 2
    data = path.read_bytes()
    best = None
    for _ in range(5):
        result = decode_once(data)
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    seconds, frames, numerics, waves = best
    print(f"{path.name}: {len(data)} bytes, {frames} frames, {numerics} numerics, {waves} wave blocks")
    print(f"decode time (best of 5): {seconds:.3f} s = {CAPTURE_SECONDS / seconds:.0f}x real time "
          f"({len(data) / seconds / 1e6:.1f} MB/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""Decode throughput of every driver on every real capture, in multiples of real time and CPU at line rate.

For each capture in ``../shared/captures`` (never copied into the project) the driver of its protocol decodes
the whole file, fed as a serial read would hand it over (4 KiB chunks; a docbox log one frame per feed with
its own time stamp). The best of several passes is kept (the machine is shared; the best pass is the one
least disturbed by others). Two figures per capture:

* **x real time**: the capture's own duration divided by the decode time. The duration comes from the
  capture itself where it says so (docbox time stamps, Datex record clocks: db02 spans 138 s; db01 replays
  segments, so one second per waveform record; the M8000 session is ~370 s, README), else one second per
  Masimo line (the Rad-8 sends one a second). Target: at least 200x.
* **CPU % of one core at line rate**: decode seconds per byte times the line's maximum byte rate
  (:attr:`PortSettings.bytes_per_second` of the driver's default settings): what the driver would cost if
  the monitor kept the serial line saturated, the worst case a real link can produce.

A capture that is absent gives a row with a note instead of a figure; the built-in simulator has no
capture (it produces samples, it decodes no bytes) and is listed as such.
Run: ``python -m benchmarks --only decode [--quick]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Row, row

BENCH = "decode"
CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"
CHUNK = 4096  # a generous serial read
TARGET_X = 200.0
#: feeds of tiny captures are repeated until a pass decodes at least this many bytes (a stable figure)
MIN_PASS_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class Case:
    """One capture and how to tell its real duration (from the file's bytes and the decoding driver)."""

    protocol: str
    name: str
    real_seconds: Callable[[bytes, object], float]
    how: str


def _docbox_span(data: bytes, _driver: object) -> float:
    from devices.captures import parse_docbox

    records = parse_docbox(data)
    return records[-1][0] - records[0][0] if len(records) > 1 else math.nan


def _lines(data: bytes, _driver: object) -> float:
    return float(sum(1 for line in data.splitlines() if line.strip()))


def _datex_wave_records(_data: bytes, driver: object) -> float:
    return float(driver.stats.extra.get("wave_records", 0))  # type: ignore[attr-defined]


CASES: tuple[Case, ...] = (
    Case("intellivue", "philips/jvscapture-m8000-monitor-to-host.raw", lambda d, _: 370.0,
         "370 s session (README)"),
    Case("intellivue", "philips/docbox-mp70-demo-timestamped.log", _docbox_span, "span of its time stamps"),
    Case("datex", "datex/pycollect-b650-db02.raw", lambda d, _: 138.0, "138 s of record clocks"),
    Case("datex", "datex/pycollect-b650-db01-corrupt.raw", _datex_wave_records, "1 s per waveform record"),
    Case("masimo", "masimo/rad8-ascii1-yahnatan.txt", _lines, "1 s per line"),
    Case("masimo", "masimo/variants-nmenon-comments.txt", _lines, "1 s per line"),
)


def _feeds(path: Path, data: bytes) -> list[tuple[bytes, float]]:
    """What one pass hands the driver: (bytes, host time) per read."""
    from devices.emulation import looks_like_docbox

    if looks_like_docbox(data):
        from devices.captures import parse_docbox

        return [(frame, t) for t, frame in parse_docbox(data)]
    t0 = 1_700_000_000.0
    return [(data[i:i + CHUNK], t0 + i / 1000.0) for i in range(0, len(data), CHUNK)]


def _decode_pass(driver_cls: type, feeds: list[tuple[bytes, float]],
                 repeat: int) -> tuple[float, object, int]:
    """Decode ``feeds`` ``repeat`` times with a fresh driver; (seconds, driver, samples)."""
    driver = driver_cls(source="bench")
    n = 0
    start = time.perf_counter()
    for k in range(repeat):
        shift = k * 86_400.0  # later repeats later in time, so time-aware drivers see a plausible clock
        for chunk, t in feeds:
            n += len(driver.feed(chunk, t + shift))
    return time.perf_counter() - start, driver, n


def measure(case: Case, passes: int) -> list[Row]:
    """The rows of one capture (or one row saying why it was skipped)."""
    from devices import registry

    label = f"{case.protocol}: {Path(case.name).name}"
    path = CAPTURES / case.name
    if not path.is_file():
        return [row(BENCH, f"{label}, x real time", math.nan, "x real time",
                    note=f"skipped: capture not found under {CAPTURES}")]
    driver_cls = registry.get(case.protocol).driver
    data = path.read_bytes()
    feeds = _feeds(path, data)
    fed_bytes = sum(len(c) for c, _ in feeds)
    repeat = max(1, math.ceil(MIN_PASS_BYTES / max(1, fed_bytes)))
    best: tuple[float, object, int] | None = None
    for _ in range(passes):
        result = _decode_pass(driver_cls, feeds, repeat)
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    seconds, driver, samples = best
    per_pass = seconds / repeat
    # the real duration of ONE pass; counters of the driver add up over the repeats
    real = case.real_seconds(data, driver) / (repeat if case.real_seconds is _datex_wave_records else 1)
    stats = driver.stats  # type: ignore[attr-defined]
    bps = driver_cls.default_settings.bytes_per_second
    cpu = 100.0 * per_pass / fed_bytes * bps
    note = (f"{fed_bytes:,} B, {stats.frames_ok // repeat} good/{stats.frames_bad // repeat} bad frames, "
            f"{samples // repeat} samples, real time = {case.how} ({real:.0f} s)")
    return [
        row(BENCH, f"{label}, x real time", real / per_pass, "x real time", at_least=TARGET_X, note=note),
        row(BENCH, f"{label}, CPU at line rate", cpu, "% of one core",
            note=f"{driver_cls.default_settings} = {bps:,.0f} B/s, "
                 f"{fed_bytes / per_pass / 1e6:.1f} MB/s decoded"),
    ]


def run(quick: bool) -> list[Row]:
    from devices import registry

    passes = 2 if quick else 5
    rows: list[Row] = []
    for case in CASES:
        rows += measure(case, passes)
    covered = {c.protocol for c in CASES}
    for name in registry.available():
        if name not in covered:
            rows.append(row(BENCH, f"{name}: no capture", math.nan, "x real time",
                            note="built-in simulator: produces samples, decodes no bytes"
                            if name == "simulator" else "no real capture of this protocol yet"))
    return rows


if __name__ == "__main__":
    import sys

    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))

"""``chairside decode``: decode a capture file with a protocol driver and print what it holds.

Output formats:

* ``jsonl``: one JSON object a line, in arrival order::

    {"kind": "numeric", "mdc": int, "label": str, "value": float|null, "unit": str, "valid": bool,
     "state": [str], "device_time": str|null, "host_time": str}
    {"kind": "wave", "mdc": int, "label": str, "fs": float, "n": int, "t0": str, "unit": str, "gap": bool}
        (+ "samples": [float] with --samples)
    {"kind": "alarm", "code": str, "text": str, "priority": str, "active": bool, "technical": bool,
     "host_time": str}
    {"kind": "summary", "frames_ok": int, "frames_bad": int, "bytes": int, "resyncs": int}   (always last)

  Times are ISO 8601 UTC strings (``2021-04-22T11:47:26.000Z``). ``valid`` is false for invalid,
  questionable, unavailable, demo and test data; ``state`` lists the state flags ("demo", "test", ...).
* ``table``: one row per parameter with count, last, min and max; one row per wave channel; device alarms;
  the decode counters.

A docbox log (``YYYY/MM/DDTHH:MM:SS,mmm`` + frame records) is recognised by its content and decoded with its
own timestamps. A raw capture has none: its host times start at the file's modification time minus the time
the bytes take at the protocol's line rate, and advance at that rate.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from devices import registry
from devices.driver import Driver
from devices.model import DeviceAlarm, LinkEvent, Numeric, Sample, WaveBlock, state_names

EXIT_USAGE = 2

#: seconds of line time fed per call when decoding a raw capture (host times advance in these steps)
RAW_STEP_SECONDS = 0.1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode a capture file (raw bytes or docbox log) and print the values",
        description="Decode a capture file with a protocol driver and print what it holds, as JSON lines or "
                    "a table. Docbox logs are recognised by their content.",
    )
    parser.add_argument("file", metavar="FILE",
                        help="raw capture (bytes as read from the port) or docbox log")
    parser.add_argument("--protocol", "-p", required=True, metavar="P",
                        help=f"protocol driver: {', '.join(registry.available())}")
    parser.add_argument("--format", choices=("jsonl", "table"), default="table", help="output format")
    parser.add_argument("--samples", action="store_true", help="include wave samples in jsonl output")
    parser.set_defaults(run=run)


# --- shared with probe, replay and emulate -----------------------------------------------------------------


def fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print ``chairside: error: message`` on stderr and return ``code``."""
    print(f"chairside: error: {message}", file=sys.stderr)
    return code


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0 (``nan``, ``inf``, 0 and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return value


#: protocols without a wire format: their driver makes values up instead of reading bytes
NO_WIRE_FORMAT = frozenset({"simulator"})


def load_protocol(name: str) -> registry.ProtocolInfo | str:
    """The protocol's registry entry, or a plain message saying why it cannot be used."""
    try:
        return registry.get(name)
    except registry.UnknownProtocol as exc:
        return str(exc)
    except ImportError as exc:
        return f"protocol {name!r} is not available in this installation ({exc})"


def load_wire_protocol(name: str) -> registry.ProtocolInfo | str:
    """Like :func:`load_protocol`, for verbs that read or send a monitor's bytes (decode, replay, probe):
    a protocol without a wire format is refused. The simulator's driver ignores its input and generates a
    patient, so decoding a file with it would print invented values (a heart rate of 72) as if the file held
    them."""
    if name in NO_WIRE_FORMAT:
        wired = ", ".join(p for p in registry.available() if p not in NO_WIRE_FORMAT)
        return (f"the {name} protocol has no wire format, so it cannot decode or pace a monitor's bytes; "
                f"give the protocol of the monitor ({wired})")
    return load_protocol(name)


def iso(t: float | None) -> str | None:
    """POSIX seconds → ISO 8601 UTC with milliseconds and a ``Z``; ``None`` stays ``None``."""
    if t is None or not math.isfinite(t):
        return None
    try:
        text = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def sample_json(sample: Sample, with_samples: bool = False) -> dict[str, Any] | None:
    """The JSON object of one sample (the shapes in the module docstring); ``None`` for link events."""
    if isinstance(sample, Numeric):
        return {"kind": "numeric", "mdc": sample.mdc, "label": sample.label, "value": _number(sample.value),
                "unit": sample.unit, "valid": sample.valid, "state": state_names(sample.state),
                "device_time": iso(sample.device_time), "host_time": iso(sample.host_time)}
    if isinstance(sample, WaveBlock):
        obj: dict[str, Any] = {"kind": "wave", "mdc": sample.mdc, "label": sample.label,
                               "fs": float(sample.fs), "n": len(sample), "t0": iso(sample.t0),
                               "unit": sample.unit, "gap": sample.gap}
        if with_samples:
            obj["samples"] = [_number(float(x)) for x in sample.samples.tolist()]
        return obj
    if isinstance(sample, DeviceAlarm):
        return {"kind": "alarm", "code": sample.code, "text": sample.text,
                "priority": sample.priority.name.lower(), "active": sample.active,
                "technical": sample.technical, "host_time": iso(sample.host_time)}
    return None


def link_json(event: LinkEvent) -> dict[str, Any]:
    return {"kind": "link", "state": event.state.value, "message": event.message,
            "host_time": iso(event.host_time)}


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


@dataclass
class _ParamRow:
    label: str
    unit: str
    count: int = 0
    valid: int = 0
    last: float | None = None
    last_state: list[str] = field(default_factory=list)
    low: float | None = None
    high: float | None = None


@dataclass
class _WaveRow:
    label: str
    unit: str
    fs: float
    blocks: int = 0
    samples: int = 0
    gaps: int = 0
    low: float | None = None
    high: float | None = None


class SampleTable:
    """Accumulates samples into the ``table`` format: one row per parameter and per wave channel."""

    def __init__(self) -> None:
        self.params: dict[tuple[int, str], _ParamRow] = {}
        self.waves: dict[tuple[int, str], _WaveRow] = {}
        self.alarms: dict[str, list[Any]] = {}  # code → [text, activations, still active]

    def add(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            if isinstance(s, Numeric):
                row = self.params.setdefault((s.mdc, s.label), _ParamRow(s.label, s.unit))
                row.count += 1
                row.last = _number(s.value)
                row.last_state = state_names(s.state)
                if s.valid:
                    row.valid += 1
                if row.last is not None:
                    row.low = row.last if row.low is None else min(row.low, row.last)
                    row.high = row.last if row.high is None else max(row.high, row.last)
            elif isinstance(s, WaveBlock):
                w = self.waves.setdefault((s.mdc, s.label), _WaveRow(s.label, s.unit, float(s.fs)))
                w.blocks += 1
                w.samples += len(s)
                w.gaps += int(s.gap)
                if len(s):
                    lo, hi = float(s.samples.min()), float(s.samples.max())
                    if math.isfinite(lo) and math.isfinite(hi):
                        w.low = lo if w.low is None else min(w.low, lo)
                        w.high = hi if w.high is None else max(w.high, hi)
            elif isinstance(s, DeviceAlarm):
                entry = self.alarms.setdefault(s.code, [s.text, 0, False])
                entry[0] = s.text
                entry[1] += int(s.active)
                entry[2] = s.active

    @property
    def has_data(self) -> bool:
        return bool(self.params or self.waves)

    def render(self, out: TextIO) -> None:
        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.6g}"

        if self.params:
            rows = [("parameter", "mdc", "unit", "count", "valid", "last", "min", "max", "last state")]
            for (code, _), r in self.params.items():
                rows.append((r.label, str(code), r.unit, str(r.count), str(r.valid), num(r.last), num(r.low),
                             num(r.high), ",".join(r.last_state) or "ok"))
            _print_rows(rows, out)
        else:
            print("no numeric values decoded", file=out)
        if self.waves:
            print(file=out)
            rows = [("wave", "mdc", "unit", "rate/s", "blocks", "samples", "gaps", "min", "max")]
            for (code, _), w in self.waves.items():
                rows.append((w.label, str(code), w.unit, f"{w.fs:g}", str(w.blocks), str(w.samples),
                             str(w.gaps), num(w.low), num(w.high)))
            _print_rows(rows, out)
        if self.alarms:
            print(file=out)
            rows = [("device alarm", "times raised", "active at end", "text")]
            for code, (text, raised, active) in self.alarms.items():
                rows.append((code, str(raised), "yes" if active else "no", text))
            _print_rows(rows, out)


def _print_rows(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


# --- decoding ----------------------------------------------------------------------------------------------


def decode_chunks(driver: Driver, kind: str, content: bytes | list[tuple[float, bytes]], start: float,
                  rate: float) -> Iterator[Sample]:
    """Feed a capture to ``driver`` as the acquisition loop would; yield every sample in order.

    The host side's requests (``outgoing``) are asked for and discarded, so a driver that waits for its own
    association request before accepting replies behaves as on a live link.
    """
    if kind == "docbox":
        assert isinstance(content, list)
        for t, frame in content:
            driver.outgoing(t)
            yield from driver.feed(frame, t)
        return
    assert isinstance(content, bytes)
    step = max(1, int(rate * RAW_STEP_SECONDS))
    for offset in range(0, len(content), step):
        now = start + offset / rate
        driver.outgoing(now)
        yield from driver.feed(content[offset:offset + step], now)


def run(args: argparse.Namespace) -> int:
    info = load_wire_protocol(args.protocol)
    if isinstance(info, str):
        return fail(info)
    from devices.emulation import read_capture

    path = Path(args.file)
    try:
        kind, content = read_capture(path)
        mtime = path.stat().st_mtime
    except (OSError, ValueError) as exc:
        return fail(f"cannot read capture {args.file}: {exc}")
    driver = info.driver(source=path.name)
    rate = info.driver.default_settings.bytes_per_second
    start = mtime - (len(content) / rate if isinstance(content, bytes) else 0.0)
    table = SampleTable()
    out = sys.stdout
    try:
        for sample in decode_chunks(driver, kind, content, start, rate):
            if args.format == "jsonl":
                obj = sample_json(sample, args.samples)
                if obj is not None:
                    out.write(dumps(obj) + "\n")
            else:
                table.add([sample])
    except BrokenPipeError:  # `chairside decode ... | head`: the reader has had enough
        return 0
    stats = driver.stats
    if args.format == "jsonl":
        out.write(dumps({"kind": "summary", **stats.as_dict()}) + "\n")
    else:
        print(f"{path.name}: {kind} capture, {stats.bytes_in} bytes, decoded with {info.driver.title}\n",
              file=out)
        table.render(out)
        print(f"\nframes ok {stats.frames_ok}, bad {stats.frames_bad}, resyncs {stats.resyncs}"
              + (f"; last problem: {stats.last_error}" if stats.last_error else ""), file=out)
    if stats.frames_ok == 0:
        print(f"chairside decode: nothing in {args.file} decoded as {info.driver.title}; is it the right "
              "protocol (--protocol) and a capture of the monitor-to-host direction?", file=sys.stderr)
        return 1
    return 0

"""Qt-free state behind the technician's diagnostics: link snapshots and the latest decoded values.

The diagnostics panel never receives per-sample signals. A :class:`LatestValues` board is a sample consumer
(called from the acquisition thread, cheap, thread-safe) that keeps the newest value per parameter; the
panel's timer takes a :func:`snapshot` of the link and ``LatestValues.snapshot()`` a few times a second.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from console.clinical.units import display_unit
from devices.driver import FrameRecord
from devices.model import DeviceAlarm, LinkEvent, LinkState, Numeric, Sample, WaveBlock, state_names
from devices.transport import PortSettings


@dataclass(frozen=True, slots=True)
class LinkSnapshot:
    """One consistent-enough look at a :class:`~devices.acquisition.DeviceLink` and its driver.

    Counters are read without a lock (plain ints written by one thread: a reading may be one read behind,
    never torn); the frame log is copied so the panel can format it at leisure.
    """

    name: str
    protocol: str
    url: str | None
    settings: PortSettings
    state: LinkState
    bytes_in: int
    bytes_out: int
    connects: int
    disconnects: int
    frames_ok: int
    frames_bad: int
    resyncs: int
    port_error: str
    decode_error: str
    extra: dict[str, int] = field(default_factory=dict)
    frames: tuple[FrameRecord, ...] = ()


def copy_frames(log: Any) -> tuple[FrameRecord, ...]:
    """A copy of a driver's ``frame_log`` deque taken while another thread may append to it."""
    for _ in range(5):
        try:
            return tuple(log)
        except RuntimeError:  # "deque mutated during iteration": try again, it is a short copy
            continue
    return ()


def snapshot(link: Any, with_frames: bool = True) -> LinkSnapshot:
    """Read what the diagnostics need from a running DeviceLink without blocking it."""
    driver = link.driver
    stats = driver.stats
    counters = link.counters
    return LinkSnapshot(
        name=link.name, protocol=getattr(driver, "name", ""), url=link.url, settings=link.settings,
        state=link.state, bytes_in=counters.bytes_in, bytes_out=counters.bytes_out,
        connects=counters.connects, disconnects=counters.disconnects, frames_ok=stats.frames_ok,
        frames_bad=stats.frames_bad,
        resyncs=stats.resyncs, port_error=link.last_error, decode_error=stats.last_error,
        extra=dict(stats.extra), frames=copy_frames(driver.frame_log) if with_frames else ())


@dataclass(frozen=True, slots=True)
class WaveInfo:
    """What the panel shows about one wave channel."""

    label: str
    fs: float
    unit: str
    blocks: int
    samples: int
    gaps: int
    last_host_time: float


@dataclass(frozen=True, slots=True)
class ValuesSnapshot:
    """Newest numeric per parameter, wave channel summaries, active device alarms, recent link events."""

    numerics: tuple[Numeric, ...]
    waves: tuple[WaveInfo, ...]
    alarms: tuple[DeviceAlarm, ...]
    events: tuple[LinkEvent, ...]


class LatestValues:
    """A sample consumer keeping the latest value of each parameter (thread-safe; call it with batches)."""

    def __init__(self, max_events: int = 20) -> None:
        self._lock = threading.Lock()
        self._numerics: dict[tuple[int, str], Numeric] = {}
        self._waves: dict[tuple[int, str], WaveInfo] = {}
        self._alarms: dict[str, DeviceAlarm] = {}
        self._events: deque[LinkEvent] = deque(maxlen=max_events)

    def __call__(self, samples: list[Sample]) -> None:
        with self._lock:
            for s in samples:
                if isinstance(s, Numeric):
                    self._numerics[(s.mdc, s.label)] = s
                elif isinstance(s, WaveBlock):
                    key = (s.mdc, s.label)
                    old = self._waves.get(key)
                    self._waves[key] = WaveInfo(
                        s.label, s.fs, s.unit, (old.blocks if old else 0) + 1,
                        (old.samples if old else 0) + len(s), (old.gaps if old else 0) + int(s.gap),
                        s.host_time)
                elif isinstance(s, DeviceAlarm):
                    if s.active:
                        self._alarms[s.code] = s
                    else:
                        self._alarms.pop(s.code, None)
                elif isinstance(s, LinkEvent):
                    self._events.append(s)

    def clear(self) -> None:
        """Forget everything (a new test run)."""
        with self._lock:
            self._numerics.clear()
            self._waves.clear()
            self._alarms.clear()
            self._events.clear()

    def snapshot(self) -> ValuesSnapshot:
        """Copies, sorted by label, for display."""
        with self._lock:
            return ValuesSnapshot(
                tuple(sorted(self._numerics.values(), key=lambda n: n.label)),
                tuple(sorted(self._waves.values(), key=lambda w: w.label)),
                tuple(self._alarms.values()), tuple(self._events))


def format_numeric(n: Numeric) -> tuple[str, str, str]:
    """(label, value with unit, state words) for one numeric, e.g. ``("SpO2", "98 %", "demo")``."""
    value = "--" if n.value is None else f"{n.value:g}"
    flags = [name.replace("_", " ") for name in state_names(n.state)]
    return n.label, f"{value} {display_unit(n.unit)}".strip(), ", ".join(flags) or "ok"


"""Qt-free live buffers: one sweep ring per waveform channel and a store of the latest numerics.

Acquisition threads write, the GUI thread reads on its 30 Hz timer. Each structure guards itself with one short
lock; writes copy slices into arrays allocated once, so the hot path allocates nothing per sample.

A :class:`WaveRing` holds exactly one sweep (``seconds`` of samples). Its write position follows the samples'
time stamps, so every channel of a chair sweeps in step (the cursor of a block at time ``t`` is
``round(t * fs) mod capacity``). Gaps in the data are never padded with invented samples: the missing stretch is
blanked with NaN, which the strip draws as a break in the line; a gap flagged by the driver without missing time
still gets one NaN so the line does not join across it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from devices import mdc
from devices.model import DeviceAlarm, LinkEvent, Numeric, Sample, State, WaveBlock

#: sweep length of the live strips (seconds); monitors show roughly 6-10 s of ECG at 25 mm/s
DEFAULT_SWEEP_SECONDS = 8.0

#: parameters measured now and then (a cuff cycle), not continuously: their age is the age of the measurement
EPISODIC: frozenset[int] = frozenset({mdc.NIBP, mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN})

#: an episodic value reported again within this many seconds with the same value is the same measurement
#: (IntelliVue repeats the last NIBP in every poll); a longer silence means a new measurement
EPISODIC_REPEAT_WINDOW = 30.0


@dataclass(frozen=True, slots=True)
class RingView:
    """What :meth:`WaveRing.snapshot` copied: where the sweep cursor is and how fresh the data is."""

    cursor: int  # index the next sample will be written to (the sweep's leading edge)
    written: int  # total samples ever written; unchanged means nothing new arrived
    end_time: float | None  # time just after the newest sample (POSIX s), None before any data


class WaveRing:
    """One sweep of one waveform channel, preallocated, written by one thread and read by another.

    ``jitter`` is how far (seconds) a block's ``t0`` may stray from where the previous block ended before it
    counts as a gap; host-time stamped blocks wobble by a few milliseconds, which must not tear the line.
    """

    def __init__(self, fs: float, seconds: float = DEFAULT_SWEEP_SECONDS, jitter: float = 0.1) -> None:
        if fs <= 0 or seconds <= 0:
            raise ValueError(f"sample rate and sweep length must be positive (fs={fs}, seconds={seconds})")
        self.fs = float(fs)
        self.seconds = float(seconds)
        self.capacity = max(2, int(round(fs * seconds)))
        self.jitter = jitter
        self._data = np.full(self.capacity, np.nan, dtype=np.float64)
        self._lock = threading.Lock()
        self._cursor = 0
        self._next_t: float | None = None
        self._written = 0
        #: number of gaps seen (driver-flagged or detected from the time stamps)
        self.gaps = 0
        #: the device whose blocks fill this ring (the latest writer's ``source``), so a view can tell whose link
        #: a silent channel depends on
        self.source = ""

    # --- writer side (acquisition thread) ----------------------------------------------------------

    def write(self, samples: np.ndarray, t0: float, gap: bool = False) -> None:
        """Append one block whose first sample is at time ``t0``; ``gap`` as in :class:`WaveBlock`."""
        n = int(samples.shape[0])
        if n == 0:
            return
        with self._lock:
            if self._next_t is None:
                self._cursor = int(round(t0 * self.fs)) % self.capacity
            else:
                missing = int(round((t0 - self._next_t) * self.fs))
                if missing > self.jitter * self.fs:
                    self.gaps += 1
                    if missing >= self.capacity:
                        # the whole sweep is older than the new block: nothing left to show
                        self._data.fill(np.nan)
                        self._cursor = int(round(t0 * self.fs)) % self.capacity
                    else:
                        self._fill_nan(missing)
                elif gap or missing < -self.jitter * self.fs:
                    # flagged gap or time running backwards (device restart): break the line, keep sweeping
                    self.gaps += 1
                    self._fill_nan(1)
            self._put(samples)
            self._next_t = t0 + n / self.fs
            self._written += n

    def _fill_nan(self, count: int) -> None:
        count = min(count, self.capacity)
        end = self._cursor + count
        if end <= self.capacity:
            self._data[self._cursor:end] = np.nan
        else:
            self._data[self._cursor:] = np.nan
            self._data[:end - self.capacity] = np.nan
        self._cursor = end % self.capacity

    def _put(self, samples: np.ndarray) -> None:
        n = int(samples.shape[0])
        if n > self.capacity:
            # only the newest sweep's worth survives; skip the cursor over what would be overwritten
            self._cursor = (self._cursor + n - self.capacity) % self.capacity
            samples = samples[n - self.capacity:]
            n = self.capacity
        end = self._cursor + n
        if end <= self.capacity:
            self._data[self._cursor:end] = samples
        else:
            first = self.capacity - self._cursor
            self._data[self._cursor:] = samples[:first]
            self._data[:n - first] = samples[first:]
        self._cursor = end % self.capacity

    # --- reader side (GUI thread) ------------------------------------------------------------------

    def snapshot(self, out: np.ndarray) -> RingView:
        """Copy the sweep into ``out`` (shape ``(capacity,)``, preallocated by the reader) and say where it is."""
        with self._lock:
            np.copyto(out, self._data)
            end = self._next_t
            return RingView(self._cursor, self._written, end)

    @property
    def written(self) -> int:
        """Total samples written so far."""
        return self._written

    @property
    def end_time(self) -> float | None:
        """Time just after the newest sample, or ``None`` before the first block."""
        return self._next_t

    def latest(self, count: int | None = None) -> np.ndarray:
        """A copy of the newest ``count`` slots (default: the whole sweep), oldest first; NaN marks gaps."""
        count = self.capacity if count is None else max(0, min(count, self.capacity))
        with self._lock:
            ordered = np.concatenate((self._data[self._cursor:], self._data[:self._cursor]))
        return ordered[self.capacity - count:]


@dataclass(frozen=True, slots=True)
class NumericRecord:
    """The latest report of one parameter as the GUI and the alarm engine see it.

    ``time`` is the host time of the latest report; ``measured_at`` the host time the value was measured,
    which differs for episodic parameters (NIBP) that devices repeat or flag as MEASURING between results;
    while an episodic parameter is MEASURING, ``value`` is the last result if the report carried none.
    """

    mdc: int
    label: str
    value: float | None
    unit: str
    state: State
    time: float
    measured_at: float
    source: str = ""

    @property
    def usable(self) -> bool:
        """True when the value can be displayed (demo/test values are usable but must be marked)."""
        return self.value is not None and not (self.state & (State.INVALID | State.QUESTIONABLE
                                                            | State.UNAVAILABLE))


class NumericStore:
    """The latest value of every parameter, keyed by MDC code (unmapped codes by their label)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[int | str, NumericRecord] = {}
        #: increases with every update; the GUI skips work when it has not moved
        self.version = 0

    def update(self, numeric: Numeric) -> NumericRecord:
        """Record one report; returns the stored record."""
        key: int | str = numeric.mdc or numeric.label
        with self._lock:
            previous = self._records.get(key)
            measured_at = numeric.host_time
            value = numeric.value
            if numeric.mdc in EPISODIC and previous is not None:
                if numeric.state & State.MEASURING:
                    # during a cuff cycle the last result stays on show with its own time
                    measured_at = previous.measured_at
                    if value is None:
                        value = previous.value
                elif (previous.value == numeric.value and not previous.state & State.MEASURING
                      and numeric.host_time - previous.time <= EPISODIC_REPEAT_WINDOW):
                    measured_at = previous.measured_at
            record = NumericRecord(numeric.mdc, numeric.label, value, numeric.unit, numeric.state,
                                   numeric.host_time, measured_at, numeric.source)
            self._records[key] = record
            self.version += 1
            return record

    def get(self, code: int | str) -> NumericRecord | None:
        """The latest record of a parameter, or ``None`` if it never arrived."""
        with self._lock:
            return self._records.get(code)

    def snapshot(self) -> dict[int | str, NumericRecord]:
        """A consistent copy of all records."""
        with self._lock:
            return dict(self._records)


class LiveData:
    """Everything the live view needs from all devices of one chair: wave rings, numerics, device alarms.

    :meth:`ingest` is the acquisition thread's sink; it is thread-safe. Rings are created when a channel first
    arrives (and replaced if its sample rate changes), sized to one sweep of ``sweep_seconds``.
    """

    def __init__(self, sweep_seconds: float = DEFAULT_SWEEP_SECONDS) -> None:
        self.sweep_seconds = sweep_seconds
        self.numerics = NumericStore()
        self._waves: dict[int | str, WaveRing] = {}
        self._alarms: dict[tuple[str, str], DeviceAlarm] = {}
        self._lock = threading.Lock()

    def ingest(self, samples: list[Sample]) -> list[LinkEvent]:
        """Store one batch; returns its link events (the caller turns those into state-change signals)."""
        events: list[LinkEvent] = []
        for sample in samples:
            if isinstance(sample, WaveBlock):
                self._ring_for(sample).write(sample.samples, sample.t0, sample.gap)
            elif isinstance(sample, Numeric):
                self.numerics.update(sample)
            elif isinstance(sample, LinkEvent):
                events.append(sample)
            elif isinstance(sample, DeviceAlarm):
                with self._lock:
                    key = (sample.source, sample.code)
                    if sample.active:
                        self._alarms[key] = sample
                    else:
                        self._alarms.pop(key, None)
        return events

    def _ring_for(self, block: WaveBlock) -> WaveRing:
        key: int | str = block.mdc or block.label
        ring = self._waves.get(key)
        if ring is None or ring.fs != block.fs:
            with self._lock:
                ring = WaveRing(block.fs, self.sweep_seconds)
                self._waves[key] = ring
        if ring.source != block.source:
            ring.source = block.source  # one str assignment: atomic for the GUI thread reading it
        return ring

    def wave(self, code: int | str) -> WaveRing | None:
        """The ring of a channel, or ``None`` until its first block arrived."""
        return self._waves.get(code)

    def device_alarms(self) -> list[DeviceAlarm]:
        """Alarms the devices themselves currently report as active."""
        with self._lock:
            return list(self._alarms.values())

    def latest_vitals(self) -> dict[int, tuple[float | None, State, float]]:
        """``{mdc: (value, state, measured_at)}`` of every mapped parameter (see :class:`NumericRecord`)."""
        return {r.mdc: (r.value, r.state, r.measured_at)
                for r in self.numerics.snapshot().values() if r.mdc}

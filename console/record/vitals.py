"""Vitals recording: a writer thread that batches numerics, wave chunks and device events into the record.

The acquisition threads call :meth:`VitalsRecorder.submit` with whatever their drivers produced; it only puts
the list on a queue, so it never blocks and never waits for the disk. The writer thread:

* keeps numerics at 1 Hz: per parameter, the first value of each new second (host clock);
* cuts each wave channel into chunks of ``ceil(fs)`` samples (one second) and compresses them
  (:mod:`console.record.wavecodec`); a chunk starts early, flagged ``gap``, when a block says it does not
  follow on (or its time jumps), so gaps are marked and never padded;
* stores device alarms and link changes as events;
* writes everything about once a second with Core ``executemany`` in one transaction (an ORM ``add`` per row
  is about 20× slower) and refreshes the session's heartbeat in the same transaction.

If the database is unavailable, rows stay in memory and are retried (with a growing pause) until written;
``status()`` says how many are waiting and why.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, update

from console.record import models as m
from console.record import wavecodec
from console.record.guard import storage_guard
from console.record.timeutil import to_posix, utcnow
from devices.model import DeviceAlarm, LinkEvent, Numeric, WaveBlock

if TYPE_CHECKING:
    from console.record.database import Database

_STOP = object()


@dataclass(slots=True)
class _Channel:
    """The not yet written samples of one wave channel."""

    fs: float
    unit: str
    parts: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    t0: float = 0.0  # time of the first buffered sample
    host_time: float = 0.0
    gap: bool = False  # the next chunk starts after a gap

    def next_t(self) -> float:
        return self.t0 + self.n / self.fs


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    numerics_written: int
    wave_chunks_written: int
    events_written: int
    pending_rows: int
    rejected: int
    last_error: str
    cpu_seconds: float

    @property
    def error(self) -> str:
        """Why rows are waiting (empty when everything submitted so far is written)."""
        if self.pending_rows and self.last_error:
            return f"{self.pending_rows} rows not yet written: {self.last_error}"
        return self.last_error if self.pending_rows else ""

    @property
    def message(self) -> str:
        """One line for a status bar or the technician's diagnostics."""
        text = (f"record: {self.numerics_written} numeric rows, {self.wave_chunks_written} wave chunks, "
                f"{self.events_written} events written")
        if self.pending_rows:
            text += f"; {self.pending_rows} waiting" + (f" ({self.last_error})" if self.last_error else "")
        if self.rejected:
            text += f"; {self.rejected} malformed samples ignored"
        return text


class VitalsRecorder:
    """Writer thread for one session's vitals. Create with ``Database.vitals_recorder(session_id)``; always
    :meth:`close` it (it is a non-daemon thread so the last second of data is written before exit)."""

    def __init__(self, db: Database, session_id: int, *, flush_interval: float = 1.0,
                 numeric_period: float = 1.0, max_retry_pause: float = 10.0) -> None:
        self._db = db
        self.session_id = session_id
        self._flush_interval = flush_interval
        self._numeric_period = numeric_period
        self._max_retry_pause = max_retry_pause
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._numeric_rows: list[dict[str, Any]] = []
        self._wave_rows: list[dict[str, Any]] = []
        self._event_rows: list[dict[str, Any]] = []
        self._last_second: dict[tuple[int, str], int] = {}
        self._channels: dict[tuple[int, str], _Channel] = {}
        self._numerics_written = self._chunks_written = self._events_written = 0
        self._rejected = 0
        self._last_error = ""
        self._cpu = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"vitals-recorder-{session_id}", daemon=False)
        self._thread.start()

    # ------------------------------------------------------------------ caller side (any thread)
    def submit(self, samples: Iterable[Any]) -> None:
        """Hand samples to the writer thread; thread-safe, never blocks. Ignored after :meth:`close`."""
        if not self._closed:
            self._q.put(list(samples))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything submitted so far has been written (partial wave seconds stay buffered);
        True when written, False on timeout or when the database is unavailable."""
        done = threading.Event()
        self._q.put(done)
        return done.wait(timeout) and not self.pending_rows()

    def close(self, timeout: float | None = 60.0) -> RecorderStatus:
        """Write what is buffered (including the last partial second), stop and join the thread."""
        if not self._closed:
            self._closed = True
            self._q.put(_STOP)
        self._thread.join(timeout)
        self._db._forget_recorder(self)
        return self.status()

    def pending_rows(self) -> int:
        return len(self._numeric_rows) + len(self._wave_rows) + len(self._event_rows)

    def status(self) -> RecorderStatus:
        return RecorderStatus(self._numerics_written, self._chunks_written, self._events_written,
                              self.pending_rows(), self._rejected, self._last_error, self._cpu)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        pause = self._flush_interval
        waiters: list[threading.Event] = []
        stopping = False
        try:
            while True:
                timeout = max(0.0, next_flush - time.monotonic())
                try:
                    item = self._q.get(timeout=timeout) if not stopping else self._q.get_nowait()
                except queue.Empty:
                    item = None
                if item is _STOP:
                    stopping = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                    next_flush = 0.0  # write now
                elif item is not None:
                    self._take(item)
                if stopping and item is None:  # queue drained
                    self._cut_partial_chunks()
                    self._final_write()
                    break
                if time.monotonic() >= next_flush:
                    if self._write():
                        pause = self._flush_interval
                        for w in waiters:
                            w.set()
                        waiters.clear()
                    else:
                        pause = min(pause * 2, self._max_retry_pause)
                        for w in waiters:
                            w.set()  # the waiter checks pending_rows() and sees the failure
                        waiters.clear()
                    next_flush = time.monotonic() + (self._flush_interval if not self.pending_rows()
                                                     else pause)
        finally:
            for w in waiters:
                w.set()
            self._cpu = time.thread_time()

    def _take(self, samples: list[Any]) -> None:
        for s in samples:
            try:
                if isinstance(s, Numeric):
                    self._take_numeric(s)
                elif isinstance(s, WaveBlock):
                    self._take_wave(s)
                elif isinstance(s, DeviceAlarm):
                    self._event_rows.append(dict(
                        session_id=self.session_id, kind="alarm", code=s.code[:100], text=s.text,
                        priority=int(s.priority), active=bool(s.active), mdc=int(s.mdc),
                        source=s.source[:100], host_time=float(s.host_time)))
                elif isinstance(s, LinkEvent):
                    self._event_rows.append(dict(
                        session_id=self.session_id, kind="link", code=s.state.value, text=s.message,
                        priority=0, active=True, mdc=0, source=s.source[:100], host_time=float(s.host_time)))
                else:
                    self._rejected += 1
            except Exception as err:  # a malformed sample must not stop the recording of the others
                self._rejected += 1
                self._last_error = f"rejected a {type(s).__name__}: {err}"

    def _take_numeric(self, n: Numeric) -> None:
        key = (int(n.mdc), n.label)
        second = math.floor(n.host_time / self._numeric_period)
        if self._last_second.get(key) == second:
            return
        self._last_second[key] = second
        value = None if n.value is None or not math.isfinite(n.value) else float(n.value)
        self._numeric_rows.append(dict(
            session_id=self.session_id, mdc=int(n.mdc), label=n.label[:32], value=value, unit=n.unit[:16],
            state=int(n.state.value), device_time=n.device_time, host_time=float(n.host_time)))

    def _take_wave(self, w: WaveBlock) -> None:
        if not (w.fs > 0) or len(w) == 0:
            return
        key = (int(w.mdc), w.label)
        ch = self._channels.get(key)
        samples = np.asarray(w.samples, dtype=np.float64).reshape(-1)
        if ch is not None:
            jump = abs(w.t0 - ch.next_t()) > max(2.0 / ch.fs, 0.1)
            if w.gap or jump or w.fs != ch.fs:
                self._emit(key, ch, ch.n)  # what is buffered before the break
                ch = None
        if ch is None:
            ch = _Channel(fs=float(w.fs), unit=w.unit, t0=float(w.t0), host_time=float(w.host_time),
                          gap=bool(w.gap) or key in self._channels)
            self._channels[key] = ch
        if ch.n == 0:
            ch.t0, ch.host_time = float(w.t0), float(w.host_time)
        ch.parts.append(samples)
        ch.n += samples.shape[0]
        per_chunk = math.ceil(ch.fs)
        while ch.n >= per_chunk:
            self._emit(key, ch, per_chunk)

    def _emit(self, key: tuple[int, str], ch: _Channel, count: int) -> None:
        if count <= 0 or ch.n == 0:
            return
        buf = np.concatenate(ch.parts) if len(ch.parts) > 1 else ch.parts[0]
        chunk, rest = buf[:count], buf[count:]
        enc = wavecodec.encode(chunk, wavecodec.step_for(key[0], ch.unit))
        self._wave_rows.append(dict(
            session_id=self.session_id, mdc=key[0], fs=ch.fs, t0=ch.t0, host_time=ch.host_time,
            n=int(chunk.shape[0]), gap=ch.gap, codec=enc.codec, scale=enc.scale, offset=enc.offset,
            data=enc.data))
        ch.gap = False
        ch.t0 += count / ch.fs
        ch.host_time += count / ch.fs
        ch.parts = [rest] if rest.shape[0] else []
        ch.n = int(rest.shape[0])

    def _cut_partial_chunks(self) -> None:
        for key, ch in self._channels.items():
            self._emit(key, ch, ch.n)

    def _write(self) -> bool:
        if not self.pending_rows():
            return True
        numerics, waves, events = self._numeric_rows, self._wave_rows, self._event_rows
        try:
            with storage_guard(), self._db.write_engine.begin() as conn:
                if numerics:
                    conn.execute(insert(m.VitalNumeric), numerics)
                if waves:
                    conn.execute(insert(m.VitalWave), waves)
                if events:
                    conn.execute(insert(m.VitalEvent), events)
                conn.execute(update(m.Session).where(m.Session.id == self.session_id)
                             .where(m.Session.lock_owner == self._db.owner).values(heartbeat_at=utcnow()))
        except Exception as err:  # StorageUnavailable or anything else: keep the rows, retry later
            self._last_error = str(err)
            return False
        self._numerics_written += len(numerics)
        self._chunks_written += len(waves)
        self._events_written += len(events)
        self._numeric_rows, self._wave_rows, self._event_rows = [], [], []
        self._last_error = ""
        return True

    def _final_write(self) -> None:
        pause = 0.2
        for _ in range(5):
            if self._write():
                return
            time.sleep(pause)
            pause *= 2


# ---------------------------------------------------------------------- reading back
def _bound(value: datetime | float | int | None) -> float | None:
    return to_posix(value)


@dataclass(frozen=True, slots=True)
class NumericSeries:
    """Stored numerics as parallel numpy arrays (``value`` and ``device_time`` are NaN where absent)."""

    mdc: np.ndarray
    label: np.ndarray
    value: np.ndarray
    unit: np.ndarray
    state: np.ndarray
    device_time: np.ndarray
    host_time: np.ndarray

    def __len__(self) -> int:
        return int(self.host_time.shape[0])


def read_numerics(engine: Engine, session_id: int, mdc: int | None = None, start: Any = None,
                  end: Any = None) -> NumericSeries:
    """Numerics of a session in time order, optionally one MDC code and a time range [start, end)."""
    t = m.VitalNumeric.__table__
    q = select(t.c.mdc, t.c.label, t.c.value, t.c.unit, t.c.state, t.c.device_time, t.c.host_time).where(
        t.c.session_id == session_id)
    if mdc is not None:
        q = q.where(t.c.mdc == mdc)
    if (s := _bound(start)) is not None:
        q = q.where(t.c.host_time >= s)
    if (e := _bound(end)) is not None:
        q = q.where(t.c.host_time < e)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.host_time, t.c.id)).all()
    return NumericSeries(
        mdc=np.array([r[0] for r in rows], dtype=np.int64),
        label=np.array([r[1] for r in rows], dtype=object),
        value=np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64),
        unit=np.array([r[3] for r in rows], dtype=object),
        state=np.array([r[4] for r in rows], dtype=np.int64),
        device_time=np.array([np.nan if r[5] is None else r[5] for r in rows], dtype=np.float64),
        host_time=np.array([r[6] for r in rows], dtype=np.float64))


@dataclass(frozen=True, slots=True)
class WaveSeries:
    """Samples of one channel. ``gaps`` are the sample indices where a new run starts after a gap;
    ``segment_t0[i]`` is the time of the first sample of run ``i`` (run 0 starts at index 0). Unpacks as
    ``t0, fs, samples, gaps``."""

    t0: float
    fs: float
    samples: np.ndarray
    gaps: np.ndarray
    segment_t0: np.ndarray

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.t0, self.fs, self.samples, self.gaps))

    def times(self) -> np.ndarray:
        """The time of every sample (POSIX seconds)."""
        out = np.empty(self.samples.shape[0], dtype=np.float64)
        starts = np.concatenate([[0], self.gaps, [self.samples.shape[0]]]).astype(np.int64)
        for i in range(len(starts) - 1):
            a, b = starts[i], starts[i + 1]
            out[a:b] = self.segment_t0[i] + np.arange(b - a) / self.fs
        return out


def read_waves(engine: Engine, session_id: int, mdc: int, start: Any = None, end: Any = None) -> WaveSeries:
    """Decoded samples of one channel within [start, end) (whole session when not given)."""
    t = m.VitalWave.__table__
    q = select(t.c.fs, t.c.t0, t.c.n, t.c.gap, t.c.codec, t.c.scale, t.c.offset, t.c.data).where(
        t.c.session_id == session_id, t.c.mdc == mdc)
    s, e = _bound(start), _bound(end)
    if s is not None:
        q = q.where(t.c.t0 >= s - 5.0)  # a chunk is at most a few seconds long
    if e is not None:
        q = q.where(t.c.t0 < e)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.t0, t.c.id)).all()
    if not rows:
        return WaveSeries(float("nan"), float("nan"), np.empty(0), np.empty(0, dtype=np.int64), np.empty(0))
    fs = float(rows[0].fs)
    parts: list[np.ndarray] = []
    seg_starts: list[int] = []
    seg_t0: list[float] = []
    total = 0
    expected: float | None = None
    for r in rows:
        x = wavecodec.decode(r.codec, r.scale, r.offset, r.data, r.n)
        t_first = r.t0
        if s is not None or e is not None:  # trim to the range
            idx = np.arange(r.n)
            times = r.t0 + idx / r.fs
            keep = np.ones(r.n, dtype=bool)
            if s is not None:
                keep &= times >= s
            if e is not None:
                keep &= times < e
            if not keep.any():
                continue
            first = int(np.argmax(keep))
            x = x[keep]
            t_first = r.t0 + first / r.fs
        if r.fs != fs:
            continue  # a rate change mid-session: this reader returns the first rate's chunks only
        new_run = expected is None or r.gap or abs(t_first - expected) > max(2.0 / fs, 0.1)
        if new_run:
            seg_starts.append(total)
            seg_t0.append(float(t_first))
        parts.append(x)
        total += x.shape[0]
        expected = t_first + x.shape[0] / fs
    if not parts:
        return WaveSeries(float("nan"), fs, np.empty(0), np.empty(0, dtype=np.int64), np.empty(0))
    return WaveSeries(seg_t0[0], fs, np.concatenate(parts), np.array(seg_starts[1:], dtype=np.int64),
                      np.array(seg_t0, dtype=np.float64))


def vitals_summary(engine: Engine, session_id: int) -> dict[str, Any]:
    """Counts for exports and review: numeric rows and wave seconds per MDC code (as text keys)."""
    tn, tw, te = m.VitalNumeric.__table__, m.VitalWave.__table__, m.VitalEvent.__table__
    with engine.connect() as conn:
        numerics = conn.execute(select(tn.c.mdc, func.count()).where(tn.c.session_id == session_id)
                                .group_by(tn.c.mdc)).all()
        waves = conn.execute(select(tw.c.mdc, func.sum(tw.c.n / tw.c.fs), func.count())
                             .where(tw.c.session_id == session_id).group_by(tw.c.mdc)).all()
        events = conn.execute(select(func.count()).select_from(te)
                              .where(te.c.session_id == session_id)).scalar()
    return {
        "numeric_rows": {str(code): int(n) for code, n in sorted(numerics)},
        "wave_seconds": {str(code): round(float(sec or 0.0), 3) for code, sec, _ in sorted(waves)},
        "wave_chunks": {str(code): int(c) for code, _, c in sorted(waves)},
        "events": int(events or 0),
    }

"""Vitals recording: a writer thread that batches numerics, wave chunks and device events into the record.

The acquisition threads call :meth:`VitalsRecorder.submit` with whatever their drivers produced; it only puts
the list on a queue, so it never blocks and never waits for the disk. The writer thread:

* keeps numerics at 1 Hz: per parameter, the first value of each new second (host clock), packed in blocks of
  :data:`NUMERIC_BLOCK_SECONDS` (one row per parameter per block, every field bit-exact; table
  ``vital_numeric_blocks``);
* cuts each wave channel into chunks of ``floor(fs * WAVE_CHUNK_SECONDS)`` samples and compresses them
  (:mod:`console.record.wavecodec`); a chunk starts early, flagged ``gap``, when a block says it does not
  follow on (or its time jumps), so gaps are marked and never padded;
* stores device alarms and link changes as events;
* writes everything about once a second with Core ``executemany`` in one transaction (an ORM ``add`` per row
  is about 20× slower) and refreshes the session's heartbeat in the same transaction.

Why blocks: one row per value a second and one row per wave second made an hour of a full monitor 5.7 MB on
SQLite and 8.5 MB on PostgreSQL, more than the same session as a VitalDB ``.vital`` file, mostly per-row
overhead (row headers, index entries, the label and unit repeated in every row). Ten-second blocks cut the
rows about tenfold; ``python -m benchmarks --only record`` measures the record against ``.vital``. The price
is what a crash (power cut, killed process) can lose: at most the one block not yet written of each parameter
and channel, i.e. at most :data:`NUMERIC_BLOCK_SECONDS` of numerics and :data:`WAVE_CHUNK_SECONDS` of each wave
(plus the one-second write interval); clinical entries are never held back this way (they are written, or
kept in the outbox journal, before ``add_entry`` returns). :meth:`VitalsRecorder.flush` writes the open
numeric blocks too, so a reader after ``flush()`` sees every numeric submitted before it.

If the database is unavailable the rows of each failed write go to an on-disk journal
(:mod:`console.record.vitals_journal`), so memory stays bounded (:data:`MEMORY_ROWS_BOUND`) through an outage
of hours; they are written, oldest first and exactly once, when the database is back, also by the next
recorder of the session after a crash. If the journal cannot be written either (full disk), rows are held in
memory up to the bound and past it the oldest are dropped, counted, and written to the session as a gap note
(through the ``outbox``). ``status()`` says what is written, waiting (and where) and lost.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update

from console.record import models as m
from console.record import wavecodec
from console.record.errors import RecordError
from console.record.guard import storage_guard
from console.record.timeutil import to_posix, utcnow
from console.record.vitals_journal import Batch, VitalsJournal, journal_path, orphaned_journals
from devices.model import DeviceAlarm, LinkEvent, Numeric, WaveBlock

if TYPE_CHECKING:
    from console.record.database import Database
    from console.record.outbox import EntryOutbox

_STOP = object()

#: Seconds of 1 Hz numerics in one stored block (aligned to multiples of it, host clock). Measured for an hour
#: of the simulator with the four waves (MB/h SQLite / PostgreSQL, ``.vital`` 3.80): 10-s blocks 3.42 / 3.41,
#: 30-s 3.27 / 3.12, 60-s 3.23 / 3.04. Ten seconds meets the target on both with room to spare and keeps what a
#: crash can lose of the numerics (NIBP results included) as short as of the waves.
NUMERIC_BLOCK_SECONDS = 10.0
#: Seconds of samples in one stored wave chunk. Ten seconds: 1-s chunks cost 2.9 MB/h of payload plus 14,000
#: rows an hour; at 10 s the four waves take 2.25 MB/h (LZMA) in 1,440 rows; 60-s chunks would save 0.17 MB/h
#: more (deflate: 2.57 vs 2.40), lose a minute of waves on a crash and make a 10-s review window decode six
#: times what it shows.
WAVE_CHUNK_SECONDS = 10.0
#: A buffered numeric block is written once the newest host time seen is this far past its end (numerics of
#: one device packet arrive together, but not necessarily in one ``submit``).
_BLOCK_GRACE = 1.0


@dataclass(slots=True)
class _Block:
    """The not yet written values of one parameter in the current block period."""

    period: int
    unit: str
    host_time: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    device_time: list[float] = field(default_factory=list)


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


#: At most this many rows (numeric blocks, wave chunks, events) are held in memory by one recorder while storage
#: is down. Rows go to the on-disk journal (:mod:`console.record.vitals_journal`) after every failed write, so
#: this bound only fills when the journal cannot be written either (the disk is full): past it the oldest held
#: rows are dropped, counted and reported as lost. Rows count numeric values one by one (see
#: :class:`RecorderStatus`): 10,000 are about 25 minutes of a full monitor (the simulator: 22,059 numeric values
#: and 1,440 ten-second wave chunks an hour) and about 2 MiB of Python objects (tracemalloc of an hour's block
#: and chunk rows: 4.1 MB). While only the database is down the journal takes the rows at every failed write:
#: over 10 locked hours the process grew by 0.3 MiB (``python -m benchmarks --only record``).
MEMORY_ROWS_BOUND = 10_000


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """What the recorder has written, what waits (in memory or in the on-disk journal) and what was lost.

    Rows are counted as before numerics were stored in blocks: each numeric value (a block counts the values it
    holds), wave chunk and event is one, so a loss is stated in measurements, not in storage rows.
    ``pending_rows`` counts every row not yet in the database (``memory_rows + journal_rows``);
    ``journal_seconds`` is the span of vitals time the journal holds; ``lost_rows`` rows could be kept neither
    in the database, nor in the journal, nor in memory (``lost_seconds`` of vitals; each loss is also written to
    the session as a note when the recorder has an outbox, ``gap_entries`` of them so far).
    """

    numerics_written: int
    wave_chunks_written: int
    events_written: int
    pending_rows: int
    rejected: int
    last_error: str
    cpu_seconds: float
    memory_rows: int = 0
    journal_rows: int = 0
    journal_seconds: float = 0.0
    journal_bytes: int = 0
    lost_rows: int = 0
    lost_seconds: float = 0.0
    gap_entries: int = 0
    journal_error: str = ""

    @property
    def error(self) -> str:
        """Why rows are waiting or were lost (empty when everything submitted so far is written)."""
        if self.lost_rows:
            return self.loss_text
        if self.pending_rows and self.last_error:
            return f"{self.pending_rows} rows not yet written: {self.last_error}"
        return self.last_error if self.pending_rows else ""

    @property
    def loss_text(self) -> str:
        """The loss in words ("" when nothing was lost)."""
        if not self.lost_rows:
            return ""
        return (f"{self.lost_rows} vitals rows LOST ({self.lost_seconds:.0f} s of vitals): the database and "
                f"the journal could not be written" + (f" ({self.journal_error})" if self.journal_error else ""))

    @property
    def message(self) -> str:
        """One line for a status bar or the technician's diagnostics; says "nothing was lost" only when true."""
        text = (f"record: {self.numerics_written} numeric rows, {self.wave_chunks_written} wave chunks, "
                f"{self.events_written} events written")
        if self.pending_rows:
            text += f"; {self.pending_rows} waiting" + (f" ({self.last_error})" if self.last_error else "")
            if self.journal_rows:
                text += (f"; {self.journal_rows} rows ({self.journal_seconds:.0f} s of vitals, "
                         f"{self.journal_bytes / 1e6:.1f} MB) kept on disk until the record is back")
        if self.lost_rows:
            text += f"; {self.loss_text}"
        elif self.pending_rows:
            text += "; nothing was lost"
        if self.rejected:
            text += f"; {self.rejected} malformed samples ignored"
        return text


def _plain(err: BaseException) -> str:
    """The storage error without the entry outbox's reassurance (which is not the recorder's to give)."""
    text = str(err) or type(err).__name__
    return re.sub(r" Nothing was lost: [^(]*", " ", text).strip()


class VitalsRecorder:
    """Writer thread for one session's vitals. Create with ``Database.vitals_recorder(session_id)``; always
    :meth:`close` it (it is a non-daemon thread so the last second of data is written before exit).

    ``outbox`` (an :class:`~console.record.outbox.EntryOutbox` of a user who may write entries) receives a
    ``note`` for every loss of vitals, so the gap is in the session's record. ``memory_rows`` overrides
    :data:`MEMORY_ROWS_BOUND`. A journal left by a recorder of the same session that died is adopted and
    written first.
    """

    def __init__(self, db: Database, session_id: int, *, flush_interval: float = 1.0,
                 numeric_period: float = 1.0, max_retry_pause: float = 10.0,
                 outbox: EntryOutbox | None = None, memory_rows: int = MEMORY_ROWS_BOUND) -> None:
        self._db = db
        self.session_id = session_id
        self._flush_interval = flush_interval
        self._numeric_period = numeric_period
        self._max_retry_pause = max_retry_pause
        self._outbox = outbox
        self._memory_bound = max(1, int(memory_rows))
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._numeric_rows: list[dict[str, Any]] = []  # per-value rows: only from journals of older versions
        self._block_rows: list[dict[str, Any]] = []
        self._blocks: dict[tuple[int, str], _Block] = {}
        self._newest = -math.inf  # newest host time seen (drives the writing of blocks and stale chunks)
        self._wave_rows: list[dict[str, Any]] = []
        self._event_rows: list[dict[str, Any]] = []
        self._held: deque[Batch] = deque()  # failed batches the journal could not take either, oldest first
        self._held_rows = 0
        self._last_second: dict[tuple[int, str], int] = {}
        self._channels: dict[tuple[int, str], _Channel] = {}
        self._numerics_written = self._chunks_written = self._events_written = 0
        self._rejected = 0
        self._last_error = ""
        self._journal_error = ""
        self._down = False  # the last write failed: spill without asking the database again
        self._lost_rows = 0
        self._lost_seconds = 0.0
        self._unreported: list[tuple[float, float, int]] = []  # losses not yet written as a gap entry
        self._gap_entries = 0
        self._cpu = 0.0
        self._closed = False
        url = str(db.engine.url)  # as the entry outbox names its journal (a password change keeps the name)
        self._journal = VitalsJournal(journal_path(url, session_id, uuid.uuid4().hex[:12]))
        self._adopted: list[VitalsJournal] = []
        for path in orphaned_journals(url, session_id):
            try:
                adopted = VitalsJournal(path)
            except OSError:
                continue  # taken by another recorder meanwhile, or unreadable: left for later
            if adopted.pending_batches:
                self._adopted.append(adopted)
            else:
                adopted.remove()  # every batch in it was written (or it is empty): nothing to keep
        self._thread = threading.Thread(target=self._run, name=f"vitals-recorder-{session_id}", daemon=False)
        self._thread.start()

    # ------------------------------------------------------------------ caller side (any thread)
    def submit(self, samples: Iterable[Any]) -> None:
        """Hand samples to the writer thread; thread-safe, never blocks. Ignored after :meth:`close`."""
        if not self._closed:
            self._q.put(list(samples))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything submitted so far has been written (the open numeric blocks are written
        early; a partial wave chunk stays buffered); True when written, False on timeout or when the database
        is unavailable."""
        done = threading.Event()
        self._q.put(done)
        return done.wait(timeout) and not self.pending_rows()

    def close(self, timeout: float | None = 60.0) -> RecorderStatus:
        """Write what is buffered (including the last partial second), stop and join the thread. Rows the
        database still refuses stay in the journal for the next recorder of this session."""
        if not self._closed:
            self._closed = True
            self._q.put(_STOP)
        self._thread.join(timeout)
        self._db._forget_recorder(self)
        return self.status()

    def memory_rows(self) -> int:
        """Rows held in memory (not yet in the database nor in the journal; a numeric block counts as the
        values it holds, see :class:`RecorderStatus`)."""
        return (len(self._numeric_rows) + sum(int(b["n"]) for b in self._block_rows) + len(self._wave_rows)
                + len(self._event_rows) + self._held_rows)

    def journal_rows(self) -> int:
        return self._journal.pending_rows + sum(j.pending_rows for j in list(self._adopted))

    def pending_rows(self) -> int:
        """Rows not yet in the database (in memory or in the journal)."""
        return self.memory_rows() + self.journal_rows()

    def status(self) -> RecorderStatus:
        """A snapshot for the screen (see :class:`RecorderStatus`; ``message`` is one line for it)."""
        journals = [self._journal, *list(self._adopted)]
        spans = [s for s in (j.pending_span for j in journals) if s is not None]
        seconds = max(s[1] for s in spans) - min(s[0] for s in spans) if spans else 0.0
        memory, journal = self.memory_rows(), self.journal_rows()
        return RecorderStatus(self._numerics_written, self._chunks_written, self._events_written,
                              memory + journal, self._rejected, self._last_error, self._cpu,
                              memory_rows=memory, journal_rows=journal, journal_seconds=seconds,
                              journal_bytes=sum(j.pending_bytes for j in journals), lost_rows=self._lost_rows,
                              lost_seconds=self._lost_seconds, gap_entries=self._gap_entries,
                              journal_error=self._journal_error)

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
                    self._emit_blocks(everything=True)
                    next_flush = 0.0  # write now
                elif item is not None:
                    self._take(item)
                    self._emit_due()
                    if self.memory_rows() - self._held_rows >= self._memory_bound:
                        if self._down:
                            self._spill()  # storage is down: straight to the journal, keep memory bounded
                        else:
                            next_flush = 0.0
                if stopping and item is None:  # queue drained
                    self._cut_partial_chunks()
                    self._final_write()
                    break
                if time.monotonic() >= next_flush:
                    if self._write():
                        pause = self._flush_interval
                    else:
                        pause = min(pause * 2, self._max_retry_pause)
                    for w in waiters:
                        w.set()  # on failure the waiter checks pending_rows() and sees it
                    waiters.clear()
                    next_flush = time.monotonic() + (self._flush_interval if not self.pending_rows()
                                                     else pause)
        finally:
            for w in waiters:
                w.set()
            self._cpu = time.thread_time()
            self._journal.close()
            for j in self._adopted:
                j.close()

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
        key = (int(n.mdc), n.label[:32])
        host = float(n.host_time)
        second = math.floor(host / self._numeric_period)
        if self._last_second.get(key) == second:
            return
        self._last_second[key] = second
        value = np.nan if n.value is None or not math.isfinite(n.value) else float(n.value)
        device = np.nan if n.device_time is None else float(n.device_time)
        state = int(n.state.value)  # checked before the block is touched: a bad sample changes nothing
        period = math.floor(host / NUMERIC_BLOCK_SECONDS)
        unit = n.unit[:16]
        block = self._blocks.get(key)
        if block is not None and (block.period != period or block.unit != unit):
            self._emit_block(key, block)
            block = None
        if block is None:
            block = self._blocks[key] = _Block(period, unit)
        block.host_time.append(host)
        block.value.append(value)
        block.state.append(state)
        block.device_time.append(device)
        self._newest = max(self._newest, host)

    def _emit_block(self, key: tuple[int, str], block: _Block) -> None:
        """Pack one parameter's buffered values into a block row and forget them."""
        if self._blocks.get(key) is block:
            del self._blocks[key]
        if not block.host_time:
            return
        data = wavecodec.encode_numerics(np.array(block.host_time), np.array(block.value),
                                         np.array(block.state, dtype=np.int64), np.array(block.device_time))
        self._block_rows.append(dict(
            session_id=self.session_id, mdc=key[0], label=key[1], unit=block.unit, t0=min(block.host_time),
            t1=max(block.host_time), n=len(block.host_time), codec=wavecodec.CODEC_NUMERICS_XOR, data=data))

    def _emit_blocks(self, *, everything: bool = False) -> None:
        """Write out the numeric blocks whose period is over (all of them with ``everything``)."""
        for key, block in list(self._blocks.items()):
            if everything or (block.period + 1) * NUMERIC_BLOCK_SECONDS + _BLOCK_GRACE <= self._newest:
                self._emit_block(key, block)

    def _emit_due(self) -> None:
        """Write out what is complete by the newest time seen: finished numeric blocks, and the partial chunk
        of a wave channel that has stalled (no samples for longer than a chunk) so a crash cannot lose more."""
        self._emit_blocks()
        for key, ch in self._channels.items():
            if ch.n and ch.host_time + WAVE_CHUNK_SECONDS + 2.0 < self._newest:
                self._emit(key, ch, ch.n)

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
        self._newest = max(self._newest, float(w.host_time))
        # floor: a chunk's last sample is less than WAVE_CHUNK_SECONDS after its first (the readers rely on it)
        per_chunk = max(1, math.floor(ch.fs * WAVE_CHUNK_SECONDS))
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
        self._emit_blocks(everything=True)
        for key, ch in self._channels.items():
            self._emit(key, ch, ch.n)

    # ------------------------------------------------------------------ writing, spilling, losing
    def _write(self) -> bool:
        """Write the journals (oldest first), then held batches, then the new rows; False when storage
        refused (the new rows are then in the journal, or held in memory, or counted as lost)."""
        try:
            for journal in [*self._adopted, self._journal]:
                while (item := journal.oldest()) is not None:
                    number, batch = item
                    self._store(batch, check_stored=True)
                    journal.mark_done(number)
            self._adopted = [j for j in self._adopted if j.pending_batches]
            while self._held:
                self._store(self._held[0], check_stored=True)
                self._held_rows -= len(self._held.popleft())
            current = self._take_current()
            if len(current):
                try:
                    self._store(current, check_stored=False)
                except Exception:
                    self._keep(current)
                    raise
        except Exception as err:  # StorageUnavailable or anything else: keep the rows, retry later
            self._last_error = _plain(err)
            self._down = True
            self._spill()
            return False
        self._last_error = ""
        self._down = False
        self._report_losses()
        return True

    def _take_current(self) -> Batch:
        batch = Batch(self._numeric_rows, self._wave_rows, self._event_rows, self._block_rows)
        self._numeric_rows, self._wave_rows, self._event_rows, self._block_rows = [], [], [], []
        return batch

    def _store(self, batch: Batch, *, check_stored: bool) -> None:
        """Insert one batch in one transaction (with the heartbeat). ``check_stored``: skip it when its first
        row is already there (a journal batch whose commit went through before a crash)."""
        with storage_guard(), self._db.write_engine.begin() as conn:
            if not (check_stored and _already_stored(conn, batch)):
                if batch.numerics:
                    conn.execute(insert(m.VitalNumeric), batch.numerics)
                if batch.blocks:
                    conn.execute(insert(m.VitalNumericBlock), batch.blocks)
                if batch.waves:
                    conn.execute(insert(m.VitalWave), batch.waves)
                if batch.events:
                    conn.execute(insert(m.VitalEvent), batch.events)
            conn.execute(update(m.Session).where(m.Session.id == self.session_id)
                         .where(m.Session.lock_owner == self._db.owner).values(heartbeat_at=utcnow()))
        self._numerics_written += len(batch.numerics) + sum(int(b["n"]) for b in batch.blocks)
        self._chunks_written += len(batch.waves)
        self._events_written += len(batch.events)

    def _keep(self, batch: Batch) -> None:
        """Put a failed batch back in front of the rows taken since (they are newer)."""
        self._numeric_rows[:0] = batch.numerics
        self._block_rows[:0] = batch.blocks
        self._wave_rows[:0] = batch.waves
        self._event_rows[:0] = batch.events

    def _spill(self) -> None:
        """Move held batches and the new rows to the journal, oldest first. What the journal refuses (full
        disk) stays in memory up to the bound; past it the oldest held rows are dropped and counted."""
        current = self._take_current()
        if len(current):
            self._held.append(current)
            self._held_rows += len(current)
        while self._held:
            try:
                self._journal.append(self._held[0])
            except OSError as err:
                self._journal_error = f"journal {self._journal.path.name}: {err.strerror or err}"
                break
            self._held_rows -= len(self._held.popleft())
            self._journal_error = ""
        while self._held_rows > self._memory_bound and len(self._held) > 1:
            oldest = self._held.popleft()
            self._held_rows -= len(oldest)
            self._lose(oldest)
        if self._held_rows > self._memory_bound:  # one batch larger than the bound: keep its newest rows
            self._lose(self._trim(self._held[0], self._held_rows - self._memory_bound))

    def _trim(self, batch: Batch, excess: int) -> Batch:
        """Remove at least ``excess`` of the oldest rows of ``batch`` (numerics and waves first; events are the
        rarest and carry device alarms; a numeric block goes whole, counting its values) and return them."""
        lost = Batch()
        for name in ("numerics", "blocks", "waves", "events"):
            rows: list[dict[str, Any]] = getattr(batch, name)
            rows.sort(key=lambda r: r.get("host_time", r.get("t0", 0.0)))
            cut = 0
            while cut < len(rows) and excess > 0:
                excess -= int(rows[cut]["n"]) if name == "blocks" else 1
                cut += 1
            getattr(lost, name).extend(rows[:cut])
            del rows[:cut]
        self._held_rows -= len(lost)
        return lost

    def _lose(self, batch: Batch) -> None:
        """Count rows that are gone (no longer held anywhere) and remember them for the gap note."""
        span = batch.span()
        self._lost_rows += len(batch)
        if span is not None:
            self._lost_seconds += span[1] - span[0] + self._numeric_period  # a row stands for its second
            self._unreported.append((span[0], span[1], len(batch)))

    def _report_losses(self) -> None:
        """Write one gap note for the losses not yet reported: when storage is back, or at close (the outbox
        keeps it until it can be written); without an outbox the loss stays in ``status()`` only."""
        if not self._unreported or self._outbox is None:
            return
        first = min(s[0] for s in self._unreported)
        last = max(s[1] for s in self._unreported)
        rows = sum(s[2] for s in self._unreported)
        text = (f"Vitals not recorded between {_utc(first)} and {_utc(last)} (UTC): {rows} rows of numerics, "
                f"waveforms or device events were lost because neither the record database nor the vitals "
                f"journal could be written" + (f" ({self._journal_error})." if self._journal_error else "."))
        try:
            self._outbox.add_entry(self.session_id, "note", {"text": text})
        except Exception as err:  # refused (role, session state): the loss stays visible in status()
            self._last_error = f"the gap entry could not be recorded: {_plain(err)}"
            return
        self._unreported.clear()
        self._gap_entries += 1

    def _final_write(self) -> None:
        pause = 0.2
        for _ in range(5):
            if self._write() and not self.pending_rows():
                return
            time.sleep(pause)
            pause *= 2
        self._report_losses()


def replay_orphaned_journals(db: Database) -> RecorderStatus | None:
    """Write the vitals journals that recorders now gone left behind, for every session (a session closed
    while storage was down and never resumed keeps its rows there until this runs: at console start, or
    ``chairside db``). Returns the combined status (``None`` when there were none); what storage still refuses
    stays in the journals."""
    from console.record.vitals_journal import session_of

    sessions = sorted({sid for p in orphaned_journals(str(db.engine.url)) if (sid := session_of(p)) is not None})
    total: RecorderStatus | None = None
    for sid in sessions:
        try:
            st = db.vitals_recorder(sid).close()
        except RecordError:  # the session is gone or storage is down: the journal stays for a later run
            continue
        total = st if total is None else RecorderStatus(
            total.numerics_written + st.numerics_written, total.wave_chunks_written + st.wave_chunks_written,
            total.events_written + st.events_written, total.pending_rows + st.pending_rows,
            0, st.last_error or total.last_error, 0.0, journal_rows=total.journal_rows + st.journal_rows)
    return total


def _already_stored(conn: Connection, batch: Batch) -> bool:
    """Whether the first row of ``batch`` is in the database (a batch is inserted in one transaction, so then
    all of it is)."""
    if batch.numerics:
        r, t = batch.numerics[0], m.VitalNumeric.__table__
        q = select(t.c.id).where(t.c.session_id == r["session_id"], t.c.host_time == r["host_time"],
                                 t.c.mdc == r["mdc"], t.c.label == r["label"])
    elif batch.blocks:
        r, t = batch.blocks[0], m.VitalNumericBlock.__table__
        q = select(t.c.id).where(t.c.session_id == r["session_id"], t.c.mdc == r["mdc"], t.c.t0 == r["t0"],
                                 t.c.label == r["label"], t.c.n == r["n"])
    elif batch.waves:
        r, t = batch.waves[0], m.VitalWave.__table__
        q = select(t.c.id).where(t.c.session_id == r["session_id"], t.c.mdc == r["mdc"], t.c.t0 == r["t0"],
                                 t.c.n == r["n"])
    elif batch.events:
        r, t = batch.events[0], m.VitalEvent.__table__
        q = select(t.c.id).where(t.c.session_id == r["session_id"], t.c.host_time == r["host_time"],
                                 t.c.kind == r["kind"], t.c.code == r["code"])
    else:
        return True
    return conn.execute(q.limit(1)).first() is not None


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
    """Numerics of a session in time order, optionally one MDC code and a time range [start, end).

    Reads both layouts: blocks (``vital_numeric_blocks``) and the per-value rows of older records
    (``vital_numerics``). Values with the same host time keep the order they were written in."""
    found = read_numerics_of_sessions(engine, [session_id], mdc, start, end).get(session_id)
    return found if found is not None else _no_numerics()


def read_numerics_of_sessions(engine: Engine, session_ids: Iterable[int], mdc: int | None = None,
                              start: Any = None, end: Any = None) -> dict[int, NumericSeries]:
    """:func:`read_numerics` for several sessions in two queries (the session browser's NIBP times); only
    sessions with values are in the result."""
    ids = sorted({int(i) for i in session_ids})
    if not ids:
        return {}
    s, e = _bound(start), _bound(end)
    t, b = m.VitalNumeric.__table__, m.VitalNumericBlock.__table__
    q = select(t.c.session_id, t.c.mdc, t.c.label, t.c.value, t.c.unit, t.c.state, t.c.device_time,
               t.c.host_time).where(t.c.session_id.in_(ids))
    qb = select(b.c.session_id, b.c.mdc, b.c.label, b.c.unit, b.c.n, b.c.codec, b.c.data).where(
        b.c.session_id.in_(ids))
    if mdc is not None:
        q, qb = q.where(t.c.mdc == mdc), qb.where(b.c.mdc == mdc)
    if s is not None:
        # a block lies within one aligned period, so it starts less than a block length before its last value
        q = q.where(t.c.host_time >= s)
        qb = qb.where(b.c.t1 >= s, b.c.t0 > s - NUMERIC_BLOCK_SECONDS)
    if e is not None:
        q, qb = q.where(t.c.host_time < e), qb.where(b.c.t0 < e)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.session_id, t.c.host_time, t.c.id)).all()
        blocks = conn.execute(qb.order_by(b.c.session_id, b.c.id)).all()
    by_session: dict[int, list[Any]] = {}
    for r in rows:
        by_session.setdefault(int(r[0]), []).append(r)
    parts: dict[int, list[NumericSeries]] = {}
    for sid, mine in by_session.items():
        parts[sid] = [NumericSeries(
                mdc=np.array([r[1] for r in mine], dtype=np.int64),
                label=np.array([r[2] for r in mine], dtype=object),
                value=np.array([np.nan if r[3] is None else r[3] for r in mine], dtype=np.float64),
                unit=np.array([r[4] for r in mine], dtype=object),
                state=np.array([r[5] for r in mine], dtype=np.int64),
                device_time=np.array([np.nan if r[6] is None else r[6] for r in mine], dtype=np.float64),
                host_time=np.array([r[7] for r in mine], dtype=np.float64))]
    for sid, code, label, unit, n, codec, data in blocks:
        host, value, state, device = wavecodec.decode_numerics(codec, data, n)
        parts.setdefault(sid, []).append(NumericSeries(
            mdc=np.full(n, code, dtype=np.int64), label=np.full(n, label, dtype=object), value=value,
            unit=np.full(n, unit, dtype=object), state=state, device_time=device, host_time=host))
    return {sid: _merge(series, s, e) for sid, series in parts.items()}


def _no_numerics() -> NumericSeries:
    """An empty series (fresh arrays: a caller may change what it gets)."""
    return NumericSeries(np.empty(0, dtype=np.int64), np.empty(0, dtype=object), np.empty(0),
                         np.empty(0, dtype=object), np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))


def _merge(series: list[NumericSeries], start: float | None, end: float | None) -> NumericSeries:
    """One series in host-time order (a stable sort: older rows first, then blocks in the order written),
    trimmed to [start, end)."""
    if len(series) == 1 and start is None and end is None:  # old rows only: already ordered by the query
        return series[0]
    fields = {f.name: np.concatenate([getattr(x, f.name) for x in series])
              for f in dataclasses.fields(NumericSeries)}
    keep = np.ones(fields["host_time"].shape[0], dtype=bool)
    if start is not None:
        keep &= fields["host_time"] >= start
    if end is not None:
        keep &= fields["host_time"] < end
    order = np.flatnonzero(keep)
    order = order[np.argsort(fields["host_time"][order], kind="stable")]
    return NumericSeries(**{name: np.ascontiguousarray(a[order]) for name, a in fields.items()})


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
        q = q.where(t.c.t0 > s - WAVE_CHUNK_SECONDS)  # a chunk's last sample is < WAVE_CHUNK_SECONDS after t0
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
    """Counts for exports and review: numeric values and wave seconds per MDC code (as text keys), wave chunks
    per code, events (both storage layouts: blocks count their values)."""
    tn, tb = m.VitalNumeric.__table__, m.VitalNumericBlock.__table__
    tw, te = m.VitalWave.__table__, m.VitalEvent.__table__
    with engine.connect() as conn:
        counts: dict[int, int] = {}
        for code, n in conn.execute(select(tn.c.mdc, func.count()).where(tn.c.session_id == session_id)
                                    .group_by(tn.c.mdc)).all():
            counts[int(code)] = counts.get(int(code), 0) + int(n)
        for code, n in conn.execute(select(tb.c.mdc, func.sum(tb.c.n)).where(tb.c.session_id == session_id)
                                    .group_by(tb.c.mdc)).all():
            counts[int(code)] = counts.get(int(code), 0) + int(n or 0)
        waves = conn.execute(select(tw.c.mdc, func.sum(tw.c.n / tw.c.fs), func.count())
                             .where(tw.c.session_id == session_id).group_by(tw.c.mdc)).all()
        events = conn.execute(select(func.count()).select_from(te)
                              .where(te.c.session_id == session_id)).scalar()
    return {
        "numeric_rows": {str(code): n for code, n in sorted(counts.items())},
        "wave_seconds": {str(code): round(float(sec or 0.0), 3) for code, sec, _ in sorted(waves)},
        "wave_chunks": {str(code): int(c) for code, _, c in sorted(waves)},
        "events": int(events or 0),
    }

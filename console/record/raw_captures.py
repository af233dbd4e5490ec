"""Raw captures: a technician's raw-byte recording of a device link, stored in the record for later replay.

The device issue asks for "optional raw-byte recording into the session for later replay": when a monitor
misbehaves during a treatment, the technician records what the link carried and replays it afterwards
(``chairside replay --db URL --session N``) to reproduce the problem with its original timing.

Writing (no Qt): :func:`start_raw_capture` checks the role (technicians and admins; a clinician or auditor
gets :class:`~console.record.errors.PermissionDenied` with a plain message), writes the audit row "raw
recording started" (who, device, session) and returns a :class:`RawCaptureWriter`. The writer is a
:class:`~devices.acquisition.DeviceLink` byte tap: :meth:`RawCaptureWriter.tap` (the acquisition thread)
only appends to an in-memory queue and never waits for the database; a writer thread cuts the reads into
chunks of about one second (at most 64 KiB) per direction, compresses them and writes them about once a
second in one transaction. Closing it writes what is left and the audit row "raw recording stopped".

When the database is unavailable (locked, disk full, server gone) chunks stay in memory and are retried with
a growing pause, so nothing is lost while they fit in ``max_pending_bytes``; past that, new bytes are
dropped and counted, and :attr:`RawCaptureStatus.message` says so plainly. Nothing here ever raises into
the acquisition thread.

A chunk (:class:`~console.record.models.RawCapture`) keeps every read separately: ``data`` is the reads'
bytes one after the other, ``reads`` the end offset and host time of each read, both zlib-compressed. So
:func:`read_raw_capture` returns exactly the ``(host time, bytes)`` reads the link made, in order.

Reading and replaying need no permission: everyone may read the record.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session as OrmSession

from console.record import models as m
from console.record.errors import NotFound, StorageUnavailable
from console.record.guard import storage_guard
from console.record.records import UserContext
from console.record.service import audit

if TYPE_CHECKING:
    from console.record.database import Database
    from console.record.service import SessionService

#: ``raw_captures.codec``: data and reads index are zlib streams
CODEC_ZLIB = 1
#: a chunk is cut when its first read is this old (host time)
CHUNK_SECONDS = 1.0
#: ... or when it would grow beyond this many bytes
CHUNK_BYTES = 64 * 1024
#: bytes kept in memory (queued, in open chunks, or waiting for the database) beyond which new bytes are
#: dropped: about 10 minutes of a busy IntelliVue link at full wave rate
MAX_PENDING_BYTES = 32 * 1024 * 1024
#: default limit of one recording (both directions, uncompressed)
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DIRECTIONS = ("in", "out")
_ZLIB_LEVEL = 6


# ---------------------------------------------------------------------- chunk encoding
def encode_chunk(reads: list[tuple[float, bytes]]) -> tuple[bytes, bytes]:
    """``(data, reads)`` columns of a chunk: the bytes one after the other, and the index of the reads
    (little-endian uint32 end offsets, then float64 host times), each zlib-compressed."""
    ends: list[int] = []
    total = 0
    for _, data in reads:
        total += len(data)
        ends.append(total)
    index = struct.pack(f"<{len(reads)}I{len(reads)}d", *ends, *(t for t, _ in reads))
    return (zlib.compress(b"".join(d for _, d in reads), _ZLIB_LEVEL), zlib.compress(index, _ZLIB_LEVEL))


def decode_chunk(codec: int, n_reads: int, n_bytes: int, reads: bytes,
                 data: bytes) -> list[tuple[float, bytes]]:
    """The reads of one stored chunk. Raises ``ValueError`` (with what is wrong) on a damaged chunk."""
    if codec != CODEC_ZLIB:
        raise ValueError(f"unknown raw capture codec {codec}")
    try:
        raw = zlib.decompress(data)
        index = zlib.decompress(reads)
    except zlib.error as err:
        raise ValueError(f"damaged raw capture chunk: {err}") from err
    if len(raw) != n_bytes or len(index) != 12 * n_reads:
        raise ValueError(f"damaged raw capture chunk: {len(raw)} bytes and {len(index)} index bytes, "
                         f"expected {n_bytes} and {12 * n_reads}")
    values = struct.unpack(f"<{n_reads}I{n_reads}d", index)
    ends, times = values[:n_reads], values[n_reads:]
    out: list[tuple[float, bytes]] = []
    start = 0
    for end, t in zip(ends, times):
        if not start <= end <= n_bytes:
            raise ValueError("damaged raw capture chunk: read offsets out of order")
        out.append((float(t), raw[start:end]))
        start = end
    return out


# ---------------------------------------------------------------------- writing
@dataclass(frozen=True, slots=True)
class RawCaptureStatus:
    """What the diagnostics panel shows about a recording into the record."""

    recording: bool
    capture: str
    device: str
    session_id: int | None
    bytes_written: int
    chunks_written: int
    pending_bytes: int
    dropped_bytes: int
    last_error: str
    unavailable_for: float
    stop_reason: str

    @property
    def message(self) -> str:
        """Plain words: where the bytes go, how much is stored, what is waiting or lost and why."""
        where = (f"session {self.session_id}" if self.session_id is not None
                 else "the record (no session open)")
        if self.recording:
            text = f"recording {self.device} into {where}: {self.bytes_written:,} bytes stored"
        else:
            text = f"recording into {where} stopped: {self.bytes_written:,} bytes stored"
            if self.stop_reason:
                text += f" ({self.stop_reason})"
        if self.pending_bytes and self.last_error:
            text += (f"; {self.pending_bytes:,} bytes kept in memory and retried, the database has been "
                     f"unavailable for {self.unavailable_for:.0f} s ({self.last_error})")
        elif self.pending_bytes and not self.recording:
            text += f"; {self.pending_bytes:,} bytes could not be written"
        if self.dropped_bytes:
            text += (f"; {self.dropped_bytes:,} bytes dropped because they no longer fit in memory "
                     "(the recording has holes)")
        return text


@dataclass(slots=True)
class _OpenChunk:
    t0: float
    size: int = 0
    reads: list[tuple[float, bytes]] = field(default_factory=list)


class RawCaptureWriter:
    """Writer thread storing one recording of one device link (see the module docstring).

    Normally made by :func:`start_raw_capture` (which checks the role and audits). :meth:`attach` a link (or
    call :meth:`tap` yourself) and always :meth:`close` it: it is a non-daemon thread, so the last chunks are
    written before the program exits (``Database.close`` closes it too).
    """

    def __init__(self, db: Database, *, device: str, protocol: str = "", session_id: int | None = None,
                 actor: UserContext | None = None, capture: str | None = None,
                 chunk_seconds: float = CHUNK_SECONDS, chunk_bytes: int = CHUNK_BYTES,
                 max_pending_bytes: int = MAX_PENDING_BYTES, max_bytes: int = DEFAULT_MAX_BYTES,
                 flush_interval: float = 1.0, max_retry_pause: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        if chunk_seconds <= 0 or chunk_bytes <= 0 or max_pending_bytes <= 0 or max_bytes <= 0:
            raise ValueError("chunk sizes and limits must be positive")
        self._db = db
        self.device = device[:100]
        self.protocol = protocol[:50]
        self.session_id = session_id
        self.actor = actor
        self.capture = capture or uuid.uuid4().hex
        self._chunk_seconds = chunk_seconds
        self._chunk_bytes = chunk_bytes
        self.max_pending_bytes = max_pending_bytes
        self.max_bytes = max_bytes
        self._flush_interval = flush_interval
        self._max_retry_pause = max_retry_pause
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[tuple[str, float, bytes]] = deque()
        #: bytes accepted but not yet written (queued, in open chunks, or in rows waiting for the database)
        self._pending = 0
        self._accepted = 0
        self._dropped = 0
        self._open: dict[str, _OpenChunk] = {}
        self._rows: list[dict[str, Any]] = []
        self._bytes_written = 0
        self._chunks_written = 0
        self._last_error = ""
        self._failing_since: float | None = None
        self._recording = True
        self._stopping = False
        self._closed = False
        self._stop_reason = ""
        self._links: list[tuple[Any, Any]] = []
        self._flush_waiters: list[threading.Event] = []
        self._thread = threading.Thread(target=self._run, name=f"raw-capture:{self.device}", daemon=False)
        self._thread.start()

    # ------------------------------------------------------------------ the tap (acquisition thread)
    def tap(self, direction: str, now: float, data: bytes) -> None:
        """Queue one read or write of the link. Never blocks on the database, never raises."""
        if not data or not self._recording or direction not in DIRECTIONS:
            return
        with self._lock:
            if not self._recording:
                return
            n = len(data)
            if self._accepted + n > self.max_bytes:
                self._recording = False
                self._stop_reason = (f"it reached its size limit of {self.max_bytes // (1024 * 1024)} MB; "
                                     "acquisition continues, start a new recording to keep going")
                self._wake.notify()
                return
            if self._pending + n > self.max_pending_bytes:
                self._dropped += n
                return
            self._queue.append((direction, float(now), bytes(data)))
            self._pending += n
            self._accepted += n
            self._wake.notify()

    def attach(self, link: Any) -> None:
        """Start tapping ``link`` (a DeviceLink), keeping any tap it already had working."""
        previous = getattr(link, "tap", None)

        def chained(direction: str, now: float, data: bytes) -> None:
            self.tap(direction, now, data)
            if previous is not None:
                previous(direction, now, data)

        self._links.append((link, previous))
        link.tap = chained  # one attribute store: atomic for the reading thread

    def detach(self) -> None:
        """Give every attached link back the tap it had before."""
        for link, previous in self._links:
            link.tap = previous
        self._links.clear()

    # ------------------------------------------------------------------ state
    @property
    def recording(self) -> bool:
        """True until closed or stopped by the size limit."""
        return self._recording

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def status(self) -> RawCaptureStatus:
        """A snapshot for display (cheap; any thread)."""
        since = self._failing_since
        return RawCaptureStatus(
            self._recording, self.capture, self.device, self.session_id, self._bytes_written,
            self._chunks_written, self._pending, self._dropped, self._last_error,
            0.0 if since is None else max(0.0, time.monotonic() - since), self._stop_reason)

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything tapped so far, open chunks included; True when it is all in the database."""
        done = threading.Event()
        with self._lock:
            self._queue.append(("flush", 0.0, b""))
            self._flush_waiters.append(done)
            self._wake.notify()
        return done.wait(timeout) and self._pending == 0

    def close(self, timeout: float = 60.0) -> RawCaptureStatus:
        """Detach, write what is left, stop the thread and write the audit row "raw recording stopped".
        Safe to call twice; never raises for storage problems (the status says what was not written)."""
        self.detach()
        if self._closed:
            return self.status()
        self._closed = True
        with self._lock:
            self._recording = False  # nothing is accepted after the writer's last drain
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)
        self._audit_stop()
        forget = getattr(self._db, "_forget_recorder", None)
        if forget is not None:
            forget(self)
        return self.status()

    def __enter__(self) -> RawCaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        pause = self._flush_interval
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    wait = next_flush - time.monotonic()
                    if wait <= 0:
                        break
                    self._wake.wait(wait)
                batch = list(self._queue)
                self._queue.clear()
                stopping = self._stopping
            waiters: list[threading.Event] = []
            for direction, t, data in batch:
                if direction == "flush":
                    waiters.append(self._take_waiter())
                else:
                    self._add_read(direction, t, data)
            if stopping or waiters:
                self._cut(everything=True)
                ok = self._write() if not stopping else self._final_write()
                for w in waiters:
                    w.set()
                if stopping:
                    return
                next_flush = time.monotonic() + (self._flush_interval if ok else pause)
            elif time.monotonic() >= next_flush:
                self._cut(everything=False)
                if self._write():
                    pause = self._flush_interval
                    next_flush = time.monotonic() + self._flush_interval
                else:
                    pause = min(pause * 2, self._max_retry_pause)
                    next_flush = time.monotonic() + pause

    def _take_waiter(self) -> threading.Event:
        with self._lock:
            return self._flush_waiters.pop(0)

    def _add_read(self, direction: str, t: float, data: bytes) -> None:
        chunk = self._open.get(direction)
        if chunk is not None and (t - chunk.t0 >= self._chunk_seconds
                                  or chunk.size + len(data) > self._chunk_bytes):
            self._emit(direction, chunk)
            chunk = None
        if chunk is None:
            chunk = self._open[direction] = _OpenChunk(t0=t)
        chunk.reads.append((t, data))
        chunk.size += len(data)

    def _cut(self, everything: bool) -> None:
        """Close open chunks: all of them, or those a second old by the clock (the link may have gone
        quiet, and their bytes should not wait for the next read to reach the database)."""
        now = self._clock()
        for direction, chunk in list(self._open.items()):
            if everything or now - chunk.t0 >= self._chunk_seconds:
                self._emit(direction, chunk)

    def _emit(self, direction: str, chunk: _OpenChunk) -> None:
        self._open.pop(direction, None)
        if not chunk.reads:
            return
        data, reads = encode_chunk(chunk.reads)
        self._rows.append(dict(
            session_id=self.session_id, capture=self.capture, device=self.device, protocol=self.protocol,
            direction=direction, t0=chunk.reads[0][0], t1=chunk.reads[-1][0], n_reads=len(chunk.reads),
            n_bytes=chunk.size, codec=CODEC_ZLIB, reads=reads, data=data))

    def _write(self) -> bool:
        if not self._rows:
            return True
        rows = self._rows
        try:
            with storage_guard(), self._db.write_engine.begin() as conn:
                conn.execute(insert(m.RawCapture), rows)
        except Exception as err:  # StorageUnavailable or anything else: keep the rows, retry later
            self._last_error = str(err)
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            return False
        written = sum(r["n_bytes"] for r in rows)
        self._rows = []
        with self._lock:
            self._pending -= written
        self._bytes_written += written
        self._chunks_written += len(rows)
        self._last_error = ""
        self._failing_since = None
        return True

    def _final_write(self) -> bool:
        pause = 0.2
        for _ in range(5):
            if self._write():
                return True
            time.sleep(pause)
            pause *= 2
        return False

    def _audit_stop(self) -> None:
        st = self.status()
        try:
            with storage_guard(), OrmSession(self._db.write_engine) as s, s.begin():
                audit(s, self.actor, "raw_recording_stop", _target(self.device, self.session_id),
                      after=dict(_audit_facts(self.device, self.protocol, self.session_id, self.capture),
                                 bytes_written=st.bytes_written, chunks=st.chunks_written,
                                 bytes_not_written=st.pending_bytes, bytes_dropped=st.dropped_bytes),
                      detail="raw recording stopped")
        except Exception as err:  # the recording itself is stored; say the audit row is missing
            self._last_error = f"the stop was not written to the audit trail: {err}"


def _target(device: str, session_id: int | None) -> str:
    return f"device {device}" + (f" in session {session_id}" if session_id is not None else " (no session)")


def _audit_facts(device: str, protocol: str, session_id: int | None, capture: str) -> dict[str, Any]:
    return {"device": device, "protocol": protocol, "session": session_id, "capture": capture}


def start_raw_capture(service: SessionService, *, device: str, protocol: str = "",
                      session_id: int | None = None, link: Any = None, **options: Any) -> RawCaptureWriter:
    """Start recording a device's raw bytes into the record, as the service's user.

    Only technicians and admins may (others get :class:`PermissionDenied`, plainly worded); the start is
    written to the audit trail (who, device, session) in the same check. ``session_id``: the open session,
    or ``None`` when the technician records with no session open. ``link``: a DeviceLink to attach at once.
    ``options`` go to :class:`RawCaptureWriter`. Raises :class:`NotFound` for an unknown session and
    :class:`StorageUnavailable` when the database cannot be written now.
    """
    capture = uuid.uuid4().hex

    def do(s: OrmSession, actor: UserContext) -> UserContext:
        if session_id is not None and s.get(m.Session, session_id) is None:
            raise NotFound(f"no session with id {session_id}")
        audit(s, actor, "raw_recording_start", _target(device, session_id),
              after=_audit_facts(device[:100], protocol[:50], session_id, capture),
              detail="raw recording started")
        return actor

    # the service checks the role against the database (a changed role applies at once) and words refusals
    actor = service._write("record_raw_bytes", do)  # noqa: SLF001 (same package: the service's write path)
    db = service._db  # noqa: SLF001
    writer = RawCaptureWriter(db, device=device, protocol=protocol, session_id=session_id, actor=actor,
                              capture=capture, **options)
    db._recorders.append(writer)  # noqa: SLF001  Database.close() closes it like a vitals recorder
    if link is not None:
        writer.attach(link)
    return writer


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True, slots=True)
class CaptureInfo:
    """One stored recording (start to stop) of one device."""

    capture: str
    session_id: int | None
    device: str
    protocol: str
    start: float
    end: float
    bytes_in: int
    bytes_out: int
    chunks: int


def _engine(db: Any) -> Any:
    return getattr(db, "engine", db)


def list_captures(db: Any, session_id: int | None = None, *, sessionless: bool = False) -> list[CaptureInfo]:
    """The raw recordings of a session (or all; or only those made with no session open), oldest first."""
    t = m.RawCapture.__table__
    q = select(t.c.capture, t.c.session_id, t.c.device, t.c.protocol, func.min(t.c.t0), func.max(t.c.t1),
               func.sum(t.c.n_bytes).filter(t.c.direction == "in"),
               func.sum(t.c.n_bytes).filter(t.c.direction == "out"), func.count()).group_by(
        t.c.capture, t.c.session_id, t.c.device, t.c.protocol)
    if session_id is not None:
        q = q.where(t.c.session_id == session_id)
    elif sessionless:
        q = q.where(t.c.session_id.is_(None))
    with storage_guard(), _engine(db).connect() as conn:
        rows = conn.execute(q).all()
    out = [CaptureInfo(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), int(r[6] or 0), int(r[7] or 0),
                       int(r[8])) for r in rows]
    return sorted(out, key=lambda c: (c.start, c.capture))


def read_raw_capture(db: Any, *, session_id: int | None = None, capture: str | None = None,
                     device: str | None = None, direction: str = "in",
                     problems: list[str] | None = None) -> list[tuple[float, bytes]]:
    """Every read of one device's recorded bytes as ``(host time, bytes)``, in the order the link made them.

    Select by ``session_id`` (every recording of the session) or ``capture`` (one recording, e.g. one made
    with no session open); ``device`` is needed when several devices were recorded. ``direction``: ``"in"``
    (monitor → host, what a replay plays) or ``"out"``. A damaged chunk is skipped and described in
    ``problems`` (when given) rather than ending the read. Raises :class:`NotFound` when nothing matches and
    ``ValueError`` when the device is ambiguous.
    """
    if session_id is None and capture is None:
        raise ValueError("give a session or a capture to read")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    what = f"session {session_id}" if session_id is not None else f"recording {capture}"
    found = [c for c in list_captures(db, session_id) if capture is None or c.capture == capture]
    devices = sorted({c.device for c in found})
    if not devices:
        raise NotFound(f"{what} has no raw recording")
    if device is None:
        if len(devices) > 1:
            raise ValueError(f"{what} holds raw recordings of {len(devices)} devices ({', '.join(devices)}): "
                             "choose one (--device)")
        device = devices[0]
    elif device not in devices:
        raise NotFound(f"{what} has no raw recording of {device!r} (it has: {', '.join(devices)})")
    t = m.RawCapture.__table__
    q = select(t.c.id, t.c.codec, t.c.n_reads, t.c.n_bytes, t.c.reads, t.c.data).where(
        t.c.device == device, t.c.direction == direction)
    if session_id is not None:
        q = q.where(t.c.session_id == session_id)
    if capture is not None:
        q = q.where(t.c.capture == capture)
    out: list[tuple[float, bytes]] = []
    with storage_guard(), _engine(db).connect() as conn:
        for row in conn.execute(q.order_by(t.c.t0, t.c.id)):
            try:
                out.extend(decode_chunk(row.codec, row.n_reads, row.n_bytes, row.reads, row.data))
            except ValueError as err:
                if problems is not None:
                    problems.append(f"chunk {row.id} skipped: {err}")
    return out


def raw_capture_replay(db: Any, *, session_id: int | None = None, capture: str | None = None,
                       device: str | None = None, speed: float = 1.0, loop: bool = False) -> Any:
    """A :class:`~devices.emulation.CaptureReplay` of a recording's monitor-to-host bytes, with the original
    timing of every read (for ``chairside replay --db``)."""
    from devices.emulation import CaptureReplay

    records = read_raw_capture(db, session_id=session_id, capture=capture, device=device, direction="in")
    return CaptureReplay(records=records, speed=speed, loop=loop)


__all__ = ["CODEC_ZLIB", "CaptureInfo", "RawCaptureStatus", "RawCaptureWriter", "StorageUnavailable",
           "decode_chunk", "encode_chunk", "list_captures", "raw_capture_replay", "read_raw_capture",
           "start_raw_capture"]

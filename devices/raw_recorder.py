"""Record the raw bytes of a device link to files that ``chairside replay`` can play back (no Qt).

A :class:`RawRecorder` is a :class:`~devices.acquisition.DeviceLink` byte tap. It writes:

* ``<stem>.log``: monitor → host, in the docbox log format of PROTOCOLS.md §5: repeated records of an ASCII
  timestamp ``YYYY/MM/DDTHH:MM:SS,mmm`` (UTC, the host receive time) followed by the raw bytes. For protocols
  whose frames end in a unique byte (IntelliVue ``C1``) a record holds whole frames, exactly like a real
  docbox log, so :func:`devices.captures.read_docbox` and ``chairside replay`` read it back frame by frame;
  for the others a record holds what one read returned.
* ``<stem>.out``: host → monitor, the same format (association requests, polls), for diagnosis.

The acquisition thread only appends to an in-memory queue (it never waits for the disk); a writer thread
empties the queue. Whatever goes wrong with the files (size limit, disk full, a vanished USB stick), recording
stops with a plain message in :attr:`RawRecorder.message` and acquisition carries on untouched.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self

#: default limit of both files together; an hour of IntelliVue waves at full rate is about 40 MB
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: bytes waiting for the writer beyond which new bytes are dropped (and counted) rather than queued: the
#: disk has stalled and memory must not grow without bound
MAX_QUEUED_BYTES = 8 * 1024 * 1024
#: byte that ends every frame of a protocol and never occurs inside one (after the protocol's escaping)
FRAME_END: dict[str, bytes] = {"intellivue": b"\xc1"}

_STAMP = re.compile(rb"(\d{4})/(\d{2})/(\d{2})T(\d{2}):(\d{2}):(\d{2}),(\d{3})")

ByteTap = Callable[[str, float, bytes], None]


def docbox_stamp(posix: float) -> bytes:
    """The docbox timestamp of a POSIX time, in UTC: ``b"2026/11/25T15:33:22,123"``."""
    when = dt.datetime.fromtimestamp(posix, dt.UTC)
    return when.strftime("%Y/%m/%dT%H:%M:%S,").encode("ascii") + f"{when.microsecond // 1000:03d}".encode()


def read_recording(path: str | Path) -> list[tuple[float, bytes]]:
    """Every record of a recording (``.log`` or ``.out``) as ``(POSIX time, bytes)``, whatever the protocol.

    Unlike :func:`devices.captures.read_docbox`, which keeps only the ``C0 … C1`` frame of each record, this
    returns all bytes between one timestamp and the next, so Datex and Masimo recordings read back whole.
    """
    data = Path(path).read_bytes()
    stamps = list(_STAMP.finditer(data))
    records: list[tuple[float, bytes]] = []
    for i, match in enumerate(stamps):
        end = stamps[i + 1].start() if i + 1 < len(stamps) else len(data)
        try:
            year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
            when = dt.datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=dt.UTC)
        except ValueError:
            continue
        records.append((when.timestamp(), bytes(data[match.end():end])))
    return records


def replay_recording(path: str | Path, *, speed: float = 1.0, loop: bool = False) -> Any:
    """A :class:`~devices.emulation.CaptureReplay` of a recording's ``.log`` (any protocol), with its timing.

    ``chairside replay`` reads docbox logs with :func:`devices.captures.read_docbox`, which keeps only
    ``C0 … C1`` frames; this plays every recorded byte (Datex and Masimo recordings too).
    """
    from devices.emulation import CaptureReplay

    return CaptureReplay(records=read_recording(path), speed=speed, loop=loop)


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    """What the diagnostics panel shows about a recording."""

    recording: bool
    bytes_written: int
    max_bytes: int
    dropped_bytes: int
    message: str
    paths: tuple[Path, Path]


class RawRecorder:
    """Writes both directions of a link to ``<stem>.log`` / ``<stem>.out`` (see the module docstring).

    Use :meth:`attach` to start tapping a link and :meth:`close` (or :meth:`detach` then :meth:`close`) to
    stop. The files are created by the constructor, so a path that cannot be written fails at once with an
    ``OSError`` whose message says which file; after that nothing raises.
    """

    def __init__(self, stem: str | Path, protocol: str = "", *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_queued: int = MAX_QUEUED_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("the size limit must be positive")
        stem = Path(stem)
        if stem.suffix in (".log", ".out"):
            stem = stem.with_suffix("")
        self.paths = (stem.with_name(stem.name + ".log"), stem.with_name(stem.name + ".out"))
        self.protocol = protocol
        self.max_bytes = max_bytes
        self.max_queued = max_queued
        self._frame_end = FRAME_END.get(protocol, b"")
        self._files: dict[str, BinaryIO] = {}
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            self._files["in"] = self.paths[0].open("wb")
            self._files["out"] = self.paths[1].open("wb")
        except OSError as exc:
            for f in self._files.values():
                f.close()
            raise OSError(exc.errno, f"cannot create the recording {stem}.log/.out: {exc.strerror or exc}") \
                from exc
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[tuple[str, float, bytes]] = deque()
        self._queued = 0
        self._partial: dict[str, bytes] = {"in": b"", "out": b""}
        self._partial_time: dict[str, float] = {"in": 0.0, "out": 0.0}
        self._stopping = False
        self._recording = True
        self.bytes_written = 0
        self.dropped_bytes = 0
        #: plain words about the recording: where it goes, or why it stopped
        self.message = f"recording to {self.paths[0]} (monitor to host) and {self.paths[1]} (host to monitor)"
        self._links: list[tuple[object, ByteTap | None]] = []
        self._thread = threading.Thread(target=self._run, name=f"raw-recorder:{stem.name}", daemon=True)
        self._thread.start()

    # --- the tap (acquisition thread) -----------------------------------------------------------------
    def tap(self, direction: str, now: float, data: bytes) -> None:
        """Queue ``data`` for writing. Called from the acquisition thread; never blocks on the disk, never
        raises."""
        if not data or not self._recording:
            return
        with self._lock:
            if not self._recording:
                return
            if self._queued + len(data) > self.max_queued:
                self.dropped_bytes += len(data)
                return
            self._queue.append((direction, now, bytes(data)))
            self._queued += len(data)
            self._wake.notify()

    def attach(self, link: object) -> None:
        """Start tapping ``link`` (a DeviceLink), keeping any tap it already had working."""
        previous: ByteTap | None = getattr(link, "tap", None)

        def chained(direction: str, now: float, data: bytes) -> None:
            self.tap(direction, now, data)
            if previous is not None:
                previous(direction, now, data)

        self._links.append((link, previous))
        link.tap = chained  # type: ignore[attr-defined]  # one attribute store: atomic for the reading thread

    def detach(self) -> None:
        """Give every attached link back the tap it had before."""
        for link, previous in self._links:
            link.tap = previous  # type: ignore[attr-defined]
        self._links.clear()

    # --- state ----------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True until the recorder was closed or stopped itself (limit reached, disk full)."""
        return self._recording

    def status(self) -> RecorderStatus:
        """A snapshot for display."""
        return RecorderStatus(self._recording, self.bytes_written, self.max_bytes, self.dropped_bytes,
                              self._status_message(), self.paths)

    def _status_message(self) -> str:
        if self.dropped_bytes and self._recording:
            return (self.message + f"; {self.dropped_bytes} bytes skipped because the disk could not keep up "
                    "(the recording has holes)")
        return self.message

    def close(self, timeout: float = 5.0) -> None:
        """Detach, write what is queued, close the files and end the writer thread. Safe to call twice."""
        self.detach()
        with self._lock:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)
        was_recording = self._recording
        self._recording = False
        self._close_files()
        if was_recording:
            self.message = (f"recording stopped: {self.bytes_written} bytes in {self.paths[0].name} and "
                            f"{self.paths[1].name}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the writer thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                batch = list(self._queue)
                self._queue.clear()
                self._queued = 0
                stopping = self._stopping
            if batch and self._recording:
                self._write_batch(batch)
            if stopping:
                if self._recording:
                    self._flush_partials()
                return

    def _write_batch(self, batch: list[tuple[str, float, bytes]]) -> None:
        for direction, now, data in batch:
            for record in self._records(direction, now, data):
                if not self._write(direction, record):
                    return
        for f in self._files.values():
            try:
                f.flush()
            except OSError as exc:
                self._fail(exc)
                return

    def _records(self, direction: str, now: float, data: bytes) -> list[bytes]:
        """Records for one read: whole frames for protocols with a frame end byte, else the read itself."""
        stamp = docbox_stamp(now)
        if not self._frame_end:
            return [stamp + data]
        pending = self._partial[direction] + data
        self._partial_time[direction] = now
        out: list[bytes] = []
        start = 0
        while True:
            end = pending.find(self._frame_end, start)
            if end < 0:
                break
            out.append(stamp + pending[start:end + 1])
            start = end + 1
        self._partial[direction] = pending[start:]
        # a runaway partial (noise without frame ends) must not grow forever: write it as it is
        if len(self._partial[direction]) > 65536:
            out.append(stamp + self._partial[direction])
            self._partial[direction] = b""
        return out

    def _flush_partials(self) -> None:
        """At close: an unfinished frame is written as it is (with the time its last bytes came)."""
        for direction, rest in self._partial.items():
            if rest and not self._write(direction, docbox_stamp(self._partial_time[direction]) + rest):
                break
        self._partial = {"in": b"", "out": b""}
        for f in self._files.values():
            try:
                f.flush()
            except OSError as exc:
                self._fail(exc)

    def _write(self, direction: str, record: bytes) -> bool:
        if self.bytes_written + len(record) > self.max_bytes:
            self._recording = False
            self.message = (f"recording stopped: it reached its size limit of {_size(self.max_bytes)} "
                            f"({self.paths[0].name}, {self.paths[1].name}). Acquisition continues; start "
                            "a new recording to keep going.")
            return False
        try:
            self._files[direction].write(record)
        except OSError as exc:
            self._fail(exc)
            return False
        self.bytes_written += len(record)
        return True

    def _fail(self, exc: OSError) -> None:
        self._recording = False
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            why = "the disk is full"
        else:
            why = f"the file could not be written ({exc.strerror or exc})"
        self.message = (f"recording stopped: {why} after {_size(self.bytes_written)} in "
                        f"{self.paths[0].parent}. Acquisition continues; free some space or choose another "
                        "folder.")

    def _close_files(self) -> None:
        for f in self._files.values():
            try:
                f.close()
            except OSError:
                pass  # a full disk may refuse the last flush; the message already says so
        self._files = {}


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} kB"
    return f"{n} bytes"

"""The vitals spill journal: rows the database could not take yet, kept on disk instead of in memory.

While storage is down (locked, full, server gone) :class:`~console.record.vitals.VitalsRecorder` appends each
batch it failed to write here and drops it from memory, so a long outage costs disk, not RAM. When storage
is back the batches are written to the database oldest first, then marked done; a journal whose batches are
all done is deleted.

File format (one file per recorder, ``<record>.vitals-s<session>-<token>.journal`` next to an SQLite record,
in the user data directory for PostgreSQL): a header line, then frames ``kind (1 byte) | batch number (8) |
payload length (4) | CRC-32 of the payload (4) | payload``. Kind ``B`` is a batch (zlib-compressed JSON of
its numeric block, wave and event rows, binary fields in base64; a journal of an older version has
per-value numeric rows instead of blocks, and they are still written where they were meant to go), kind ``D``
says "every batch up to this number is in the database". Each append is fsynced before the rows leave memory. A frame cut short by a crash, or whose
CRC does not match, ends the readable journal (its rows were never acknowledged as kept).

A recorder holds an exclusive ``flock`` on its journal while it lives, so a journal whose lock can be taken
belongs to a recorder that is gone (killed, crashed): the next recorder of the same session adopts it and
writes its batches first (:func:`orphaned_journals`).

Exactly once: a batch is inserted in one transaction, after checking in that transaction that its first row
is not already stored (a crash between the commit and the ``D`` frame would otherwise write it twice).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

try:  # POSIX advisory locks; on Windows a journal is never adopted while its file is open
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

import platformdirs

from console.record.engine import sqlite_path

HEADER = b"CHAIRSIDE VITALS JOURNAL 1\n"
_FRAME = struct.Struct(">cQII")
BATCH, DONE = b"B", b"D"


@dataclass(slots=True)
class Batch:
    """Rows of one failed write as the recorder's insert dicts: per-value numerics (``vital_numerics``, only
    from journals of older versions), wave chunks, events and numeric blocks (``vital_numeric_blocks``)."""

    numerics: list[dict[str, Any]] = field(default_factory=list)
    waves: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        """Rows as the recorder counts them: a numeric block counts the values it holds."""
        return len(self.numerics) + len(self.waves) + len(self.events) + sum(int(b["n"]) for b in self.blocks)

    def span(self) -> tuple[float, float] | None:
        """(first, last) host time of the rows (a wave chunk counts to its end), ``None`` when empty."""
        times = [r["host_time"] for r in self.numerics] + [r["host_time"] for r in self.events]
        times += [r["t0"] for r in self.waves] + [r["t0"] + r["n"] / r["fs"] for r in self.waves]
        times += [r["t0"] for r in self.blocks] + [r["t1"] for r in self.blocks]
        return (min(times), max(times)) if times else None

    def encode(self) -> bytes:
        waves = [{**w, "data": base64.b64encode(w["data"]).decode("ascii")} for w in self.waves]
        blocks = [{**b, "data": base64.b64encode(b["data"]).decode("ascii")} for b in self.blocks]
        text = json.dumps({"numerics": self.numerics, "waves": waves, "events": self.events,
                           "blocks": blocks}, separators=(",", ":"))
        return zlib.compress(text.encode("utf-8"), 1)

    @classmethod
    def decode(cls, payload: bytes) -> Batch:
        d = json.loads(zlib.decompress(payload).decode("utf-8"))
        waves = [{**w, "data": base64.b64decode(w["data"])} for w in d["waves"]]
        blocks = [{**b, "data": base64.b64decode(b["data"])} for b in d.get("blocks", [])]
        return cls(list(d["numerics"]), waves, list(d["events"]), blocks)


@dataclass(slots=True)
class _Entry:
    """Where a pending batch lies in the file, and what it holds (kept instead of the rows themselves)."""

    number: int
    offset: int
    length: int
    rows: int
    first: float
    last: float


def journal_folder_and_stem(url: str) -> tuple[Path, str]:
    """Folder and file-name stem of the vitals journals of a record: next to an SQLite file, else the user data
    directory (a name made from the database URL)."""
    path = sqlite_path(url)
    if path is not None:
        return path.parent, path.name
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Path(platformdirs.user_data_dir("chairside")), f"record-{digest}"


def journal_path(url: str, session_id: int, token: str) -> Path:
    """The journal file a recorder of ``session_id`` uses (``token`` keeps two recorders apart)."""
    folder, stem = journal_folder_and_stem(url)
    return folder / f"{stem}.vitals-s{session_id}-{token}.journal"


def session_of(path: Path) -> int | None:
    """The session id in a journal's file name (``None`` when it is not one)."""
    match = re.search(r"\.vitals-s(\d+)-[0-9a-z]+\.journal$", path.name)
    return int(match.group(1)) if match else None


def orphaned_journals(url: str, session_id: int | None = None) -> list[Path]:
    """Journals of ``session_id`` (of every session when ``None``) left by recorders that are gone (nobody
    holds their lock), oldest first."""
    folder, stem = journal_folder_and_stem(url)
    if not folder.is_dir():
        return []
    found = []
    pattern = f"{stem}.vitals-s{'*' if session_id is None else session_id}-*.journal"
    for path in folder.glob(pattern):
        if session_of(path) is None:
            continue
        if fcntl is None:
            continue
        try:
            with path.open("rb") as f:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when f closes
                found.append((path.stat().st_mtime, path))
        except OSError:
            continue  # a live recorder holds it, or it vanished meanwhile
    return [p for _, p in sorted(found)]


class VitalsJournal:
    """One append-only journal file (see the module docstring). Not thread-safe: the writer thread owns it.

    ``append`` raises ``OSError`` when the disk refuses the write; nothing of that batch is then kept in the
    file (it is cut back), so the caller counts those rows as lost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._pending: list[_Entry] = []
        self._next = 1
        self._size = 0
        if path.exists():
            self._open()
            self._scan()

    # ------------------------------------------------------------------ state
    @property
    def pending_rows(self) -> int:
        return sum(e.rows for e in self._pending)

    @property
    def pending_batches(self) -> int:
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        """Bytes of the journal file (what the outage has cost on disk so far)."""
        return self._size if self._pending else 0

    @property
    def pending_span(self) -> tuple[float, float] | None:
        """Host times (first, last) of the rows waiting here."""
        if not self._pending:
            return None
        return min(e.first for e in self._pending), max(e.last for e in self._pending)

    # ------------------------------------------------------------------ writing
    def append(self, batch: Batch) -> None:
        """Keep ``batch`` on disk (fsynced); ``OSError`` when it could not be kept (nothing half-written)."""
        span = batch.span()
        if span is None:
            return
        payload = batch.encode()
        f = self._open()
        start = self._size
        try:
            f.seek(start)
            if start == 0:
                f.write(HEADER)
            f.write(_FRAME.pack(BATCH, self._next, len(payload), zlib.crc32(payload)) + payload)
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            with contextlib.suppress(OSError):  # cut the half frame off; a full disk still allows shrinking
                f.truncate(start)
                f.flush()
            raise
        offset = start + (len(HEADER) if start == 0 else 0) + _FRAME.size
        self._size = offset + len(payload)
        self._pending.append(_Entry(self._next, offset, len(payload), len(batch), span[0], span[1]))
        self._next += 1

    def oldest(self) -> tuple[int, Batch] | None:
        """The oldest batch not yet in the database (read from disk), or ``None``."""
        if not self._pending:
            return None
        e = self._pending[0]
        f = self._open()
        f.seek(e.offset)
        return e.number, Batch.decode(f.read(e.length))

    def mark_done(self, number: int) -> None:
        """Batches up to ``number`` are in the database. The ``D`` frame is only a shortcut for a later replay
        (which would otherwise find the rows stored and skip them), so failing to write it is not an error.
        When nothing is left the file is deleted."""
        self._pending = [e for e in self._pending if e.number > number]
        if not self._pending:
            self.remove()
            return
        f = self._open()
        try:
            f.seek(self._size)
            f.write(_FRAME.pack(DONE, number, 0, zlib.crc32(b"")))
            f.flush()
            self._size += _FRAME.size
        except OSError:
            with contextlib.suppress(OSError):
                f.truncate(self._size)

    def remove(self) -> None:
        """Delete the file (everything in it is in the database, or it is being abandoned empty)."""
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        self._pending, self._size = [], 0

    def close(self) -> None:
        """Close the file, releasing its lock; a file with pending batches stays for the next recorder."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    # ------------------------------------------------------------------ internals
    def _open(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            f = os.fdopen(fd, "r+b")
            if fcntl is not None:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    raise
            self._file = f
            self._size = os.fstat(fd).st_size
        return self._file

    def _scan(self) -> None:
        """Read the frames of an existing file; stop at the first damaged one and cut the file there."""
        f = self._open()
        f.seek(0)
        if f.read(len(HEADER)) != HEADER:
            self._size = 0  # not a journal of ours (or empty): start afresh
            f.truncate(0)
            return
        good = len(HEADER)
        done = 0
        entries: list[_Entry] = []
        for kind, number, offset, payload in _frames(f, good):
            if kind == BATCH:
                try:
                    batch = Batch.decode(payload)
                except (ValueError, KeyError, TypeError, zlib.error):
                    break
                span = batch.span()
                if span is not None:
                    entries.append(_Entry(number, offset, len(payload), len(batch), span[0], span[1]))
            else:
                done = max(done, number)
            good = offset + len(payload)
            self._next = max(self._next, number + 1)
        self._pending = [e for e in entries if e.number > done]
        if good != self._size:
            with contextlib.suppress(OSError):
                f.truncate(good)
        self._size = good


def _frames(f: BinaryIO, start: int) -> Iterator[tuple[bytes, int, int, bytes]]:
    """(kind, number, payload offset, payload) of each intact frame from ``start``."""
    f.seek(start)
    pos = start
    while True:
        head = f.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return
        kind, number, length, crc = _FRAME.unpack(head)
        if kind not in (BATCH, DONE):
            return
        payload = f.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return
        yield kind, number, pos + _FRAME.size, payload
        pos += _FRAME.size + length

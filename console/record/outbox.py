"""EntryOutbox: clinical entries that could not be saved yet are kept (in memory and in a journal file) and
retried until written, never dropped.

The UI writes every entry through :meth:`EntryOutbox.add_entry`. When the database is unavailable
(:class:`StorageUnavailable`) the entry goes to the journal (one JSON line, fsynced) and the call returns a
:class:`PendingEntry` so the screen can show it as "not yet saved"; a timer calls :meth:`flush` every few
seconds. Each entry carries a ``client_id`` so a retry after an unclear failure (the commit reached the
server but the answer did not) never records it twice. The time the entry describes (``at``) is the time
it was made at the chair; if it is written more than 5 minutes later the record marks it late, truthfully.

Order is kept per session: while a session has unsaved entries, new ones queue behind them. An entry that
the record refuses for another reason (for example the session was interrupted and must be resumed first)
stays in the outbox with that reason in ``last_error`` until it can be written.

The journal lives next to an SQLite database (``<file>.outbox.jsonl``) or, for PostgreSQL, in the user data
directory; it survives a crash and is replayed when the outbox is created again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs

from console.record.engine import sqlite_path
from console.record.errors import RecordError, StorageUnavailable
from console.record.records import EntryRecord, UserContext
from console.record.service import SessionService
from console.record.timeutil import iso


@dataclass(slots=True)
class PendingEntry:
    """An entry waiting in the outbox."""

    client_id: str
    session_id: int
    kind: str
    data: dict[str, Any]
    at: datetime
    queued_at: datetime
    user: UserContext
    last_error: str = ""
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: True once its "add" line is in the journal (entries written at the first try never need one)
    journaled: bool = False


def default_journal_path(url: str) -> Path:
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".outbox.jsonl")
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    folder = Path(platformdirs.user_data_dir("chairside"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"outbox-{digest}.jsonl"


class EntryOutbox:
    """Keeps and retries entries until the record has them (see the module docstring)."""

    def __init__(self, service: SessionService, journal_path: str | Path | None = None) -> None:
        self._service = service
        self._db = service._db
        self.journal_path = (Path(journal_path) if journal_path
                             else default_journal_path(str(self._db.engine.url)))
        # _lock guards the lists only and is never held during a database write; _flush_lock lets one flush run
        # at a time (order per session); _journal_lock orders the journal file's appends and its removal
        self._lock = threading.Lock()
        #: notified (under _lock) whenever a flush has written or refused an entry
        self._settled = threading.Condition(self._lock)
        self._flush_lock = threading.Lock()
        self._journal_lock = threading.Lock()
        self._pending: list[PendingEntry] = []
        self._refused: dict[str, RecordError] = {}
        self._load()

    # ------------------------------------------------------------------ API
    @property
    def pending(self) -> list[PendingEntry]:
        """Entries not yet in the record, oldest first. Never waits for a write in progress."""
        with self._lock:
            return list(self._pending)

    def add_entry(self, session_id: int, kind: str, data: dict[str, Any], at: datetime | None = None,
                  *, user: UserContext | None = None) -> EntryRecord | PendingEntry:
        """Write an entry now if possible, else keep it; errors other than storage ones (bad input, no
        permission) are raised at once, as the service would. ``user``: who makes the entry (default: the
        outbox's own user); the chair runtime writes alarm entries for the clinician of the open session."""
        service = self._service_for(user)
        # refuse now what the record would refuse later (bad kind or data, wrong role): only entries that can
        # be written wait in the outbox
        data_json, entry_at = service.check_entry(kind, data, at)
        item = PendingEntry(uuid.uuid4().hex, session_id, kind, json.loads(data_json), entry_at,
                            self._db.now(), service.user)
        with self._lock:
            queued_behind = any(p.session_id == session_id for p in self._pending)
            self._pending.append(item)
        if queued_behind:
            self._journal_kept(item)  # it waits behind unsaved ones: on disk before anything else
        self.flush()
        with self._lock:
            done = self._done.get(item.client_id)
            if done is not None:
                return done
            refused = self._refused.pop(item.client_id, None)
            if refused is not None and not queued_behind and item in self._pending:
                # written at once and refused (e.g. the session was closed meanwhile): the caller hears it now,
                # as from the service itself, and nothing is kept
                self._pending.remove(item)
                raise refused
        if not item.journaled:
            self._journal_kept(item)
        return item

    def add_entry_via(self, write_soon: Any, session_id: int, kind: str, data: dict[str, Any],
                      at: datetime | None = None, *, user: UserContext | None = None,
                      wait_s: float = 0.25) -> EntryRecord | PendingEntry:
        """As :meth:`add_entry`, but the caller never writes to the database itself: the entry is checked
        (no I/O), queued, and ``write_soon()`` asks another thread (the chair's writer) to :meth:`flush`. The
        call waits at most ``wait_s`` for that write: the stored entry when it came in time; else the
        :class:`PendingEntry`, now in the journal, which the writer stores as soon as the record lets it. An
        entry the record refuses in that time is removed and its error raised, as from :meth:`add_entry`.

        This is what a screen uses: a locked or vanished database costs the GUI thread ``wait_s`` at most,
        never the database's busy timeout."""
        service = self._service_for(user)
        data_json, entry_at = service.check_entry(kind, data, at)
        item = PendingEntry(uuid.uuid4().hex, session_id, kind, json.loads(data_json), entry_at,
                            self._db.now(), service.user)
        with self._lock:
            self._pending.append(item)
        write_soon()
        with self._settled:
            self._settled.wait_for(lambda: item.client_id in self._done or item.client_id in self._refused,
                                   timeout=wait_s)
            done = self._done.get(item.client_id)
            if done is not None:
                return done
            refused = self._refused.pop(item.client_id, None)
            if refused is not None and item in self._pending and not item.journaled:
                self._pending.remove(item)
                raise refused
        if not item.journaled:
            self._journal_kept(item)  # not written in time: on disk before the screen says "kept"
        return item

    def flush(self) -> int:
        """Try to write every pending entry (in order per session); returns how many were written.

        The list is copied under the lock and written outside it, so reading :attr:`pending` or adding an entry
        never waits for the database; one flush runs at a time, which keeps each session's order.
        """
        written = 0
        with self._flush_lock:
            with self._lock:
                batch = list(self._pending)
            blocked: set[int] = set()
            for item in batch:
                if item.session_id in blocked:
                    continue
                item.attempts += 1
                try:
                    rec = self._service_for(item.user).add_entry(item.session_id, item.kind, item.data,
                                                                 at=item.at, client_id=item.client_id)
                except StorageUnavailable as err:
                    item.last_error = self._with_note(item, str(err))
                    break  # the database is down: no point trying the others now
                except RecordError as err:
                    item.last_error = self._with_note(item, str(err))
                    with self._lock:
                        self._refused[item.client_id] = err
                        self._settled.notify_all()
                    blocked.add(item.session_id)
                    continue
                with self._lock:
                    if item in self._pending:
                        self._pending.remove(item)
                    self._done[item.client_id] = rec
                    self._refused.pop(item.client_id, None)
                    self._settled.notify_all()
                if item.journaled:
                    try:
                        self._journal_done(item, rec)
                    except OSError:
                        pass  # written; a replay after a crash is recognised by its client id, never doubled
                written += 1
            with self._lock:
                if not self._pending:
                    self._compact()
        return written

    def _service_for(self, user: UserContext | None) -> SessionService:
        if user is None or user == self._service.user:
            return self._service
        return self._db.service(user)

    @staticmethod
    def _with_note(item: PendingEntry, error: str) -> str:
        note = item.extra.get("journal_error")
        return f"{error} {note}" if note else error

    # ------------------------------------------------------------------ journal
    def _load(self) -> None:
        self._done: dict[str, EntryRecord] = {}
        if not self.journal_path.exists():
            return
        added: dict[str, PendingEntry] = {}
        with self.journal_path.open("r", encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash mid-write: its entry was never acknowledged
                if rec.get("op") == "add":
                    u = rec["user"]
                    added[rec["client_id"]] = PendingEntry(
                        rec["client_id"], int(rec["session_id"]), rec["kind"], rec["data"],
                        datetime.fromisoformat(rec["at"]), datetime.fromisoformat(rec["queued_at"]),
                        UserContext(u["id"], u["username"], u["full_name"], u["role"], u["demo"]),
                        journaled=True)
                elif rec.get("op") == "done":
                    added.pop(rec["client_id"], None)
        self._pending = list(added.values())

    def _append(self, record: dict[str, Any]) -> None:
        with self._journal_lock:
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
            with self.journal_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def _journal_kept(self, item: PendingEntry) -> None:
        """Journal an entry that waits; a journal that cannot be written (the same full disk that stopped the
        database) leaves it in memory, said plainly, rather than losing it."""
        try:
            self._journal_add(item)
        except OSError as err:
            note = (f"Kept in memory only: the journal {self.journal_path} could not be written ({err}); "
                    "it is lost if Chairside is closed before the record is back.")
            item.extra["journal_error"] = note
            item.last_error = f"{item.last_error} {note}".strip()
            return
        item.journaled = True

    def _journal_add(self, item: PendingEntry) -> None:
        u = item.user
        self._append({"op": "add", "client_id": item.client_id, "session_id": item.session_id,
                      "kind": item.kind, "data": item.data, "at": iso(item.at),
                      "queued_at": iso(item.queued_at),
                      "user": {"id": u.id, "username": u.username, "full_name": u.full_name, "role": u.role,
                               "demo": u.demo}})

    def _journal_done(self, item: PendingEntry, rec: EntryRecord) -> None:
        self._append({"op": "done", "client_id": item.client_id, "entry_id": rec.id})

    def _compact(self) -> None:
        """Everything is written (called with ``_lock`` held, so nothing new is pending): the journal can go
        (it is recreated on the next failure)."""
        try:
            with self._journal_lock:
                self.journal_path.unlink(missing_ok=True)
        except OSError:
            pass  # harmless: a journal of only 'done' lines replays to nothing

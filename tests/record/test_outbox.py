"""Storage failures: a plain StorageUnavailable, and the outbox keeps every entry until it is written."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from console.record import EntryOutbox, EntryRecord, PendingEntry, StorageUnavailable, open_database
from console.record.engine import sqlite_path
from tests.payloads import moaas
from tests.record.conftest import PASSWORD, make_user, pg_admin_url

pytestmark = pytest.mark.faults


@pytest.fixture
def locked_db(sqlite_url):
    """A database opened with a short busy timeout, a clinician and a session."""
    db = open_database(sqlite_url, busy_timeout_ms=100)
    svc = db.service(make_user(db, "carla", "clinician"))
    patient = svc.create_patient("PT-1")
    s = svc.start_session(patient.id, "iv", "1", "chair 1")
    yield db, svc, s
    db.close()


class ExclusiveLock:
    """Another program holding the SQLite database's write lock."""

    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_locked_sqlite_gives_a_plain_storage_unavailable(sqlite_url, locked_db):
    _db, svc, s = locked_db
    lock = ExclusiveLock(sqlite_url)
    try:
        with pytest.raises(StorageUnavailable, match="busy") as exc:
            svc.add_entry(s.id, "note", {"text": "x"})
        assert "Nothing was lost" in str(exc.value)
    finally:
        lock.release()
    assert svc.entries(s.id) == []


def test_outbox_keeps_entries_through_a_lock_and_a_restart(sqlite_url, tmp_path, locked_db):
    db, svc, s = locked_db
    journal = tmp_path / "outbox.jsonl"
    outbox = EntryOutbox(svc, journal)
    first = outbox.add_entry(s.id, "note", {"text": "saved at once"})
    assert isinstance(first, EntryRecord)
    lock = ExclusiveLock(sqlite_url)
    try:
        at = datetime.now(UTC) - timedelta(seconds=30)
        a = outbox.add_entry(s.id, "observation", moaas(4), at=at)
        b = outbox.add_entry(s.id, "note", {"text": "queued behind"})
        assert isinstance(a, PendingEntry) and isinstance(b, PendingEntry)
        assert "busy" in a.last_error
        assert outbox.flush() == 0
        assert [p.client_id for p in outbox.pending] == [a.client_id, b.client_id]
        assert journal.exists()
        # the console crashes and restarts while the database is still locked: the journal has them
        outbox = EntryOutbox(svc, journal)
        assert [p.client_id for p in outbox.pending] == [a.client_id, b.client_id]
        assert outbox.pending[0].at == at and outbox.pending[0].data == moaas(4)
    finally:
        lock.release()
    assert outbox.flush() == 2
    assert outbox.pending == [] and not journal.exists()
    entries = svc.entries(s.id)
    assert [e.kind for e in entries] == ["note", "observation", "note"]
    assert entries[1].at == at and entries[1].client_id == a.client_id
    assert EntryOutbox(svc, journal).pending == []
    assert db.verify(s.id).ok


def test_a_retried_entry_is_never_recorded_twice(locked_db):
    _db, svc, s = locked_db
    one = svc.add_entry(s.id, "note", {"text": "x"}, client_id="abc123")
    again = svc.add_entry(s.id, "note", {"text": "x"}, client_id="abc123")
    assert again == one and len(svc.entries(s.id)) == 1


def test_outbox_holds_entries_the_record_refuses_for_now(sqlite_url, tmp_path, locked_db):
    """An entry for an interrupted session waits (with the reason) until the session is resumed."""
    db, svc, s = locked_db
    outbox = EntryOutbox(svc, tmp_path / "j.jsonl")
    lock = ExclusiveLock(sqlite_url)
    try:
        pending = outbox.add_entry(s.id, "note", {"text": "during outage"})
    finally:
        lock.release()
    db.close()  # the console goes away: the session becomes interrupted
    db2 = open_database(sqlite_url)
    try:
        svc2 = db2.service(db2.authenticate("carla", PASSWORD))
        outbox2 = EntryOutbox(svc2, tmp_path / "j.jsonl")
        assert outbox2.flush() == 0 and "resume" in outbox2.pending[0].last_error
        svc2.resume_session(s.id)
        assert outbox2.flush() == 1
        kinds = [e.kind for e in svc2.entries(s.id)]
        assert kinds == ["session_interrupted", "session_resumed", "note"]
        assert svc2.entries(s.id)[-1].client_id == pending.client_id
    finally:
        db2.close()


@pytest.mark.postgres
def test_outbox_survives_postgresql_going_away(tmp_path, pg_url):
    db_url = pg_url
    name = make_url(db_url).database
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    db = open_database(db_url)
    try:
        svc = db.service(make_user(db, "carla", "clinician"))
        s = svc.start_session(svc.create_patient("PT-1").id, "iv", "1", "chair 1")
        outbox = EntryOutbox(svc, tmp_path / "pg-outbox.jsonl")
        with admin.connect() as conn:  # the server refuses this database and drops our connections
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
        pending = outbox.add_entry(s.id, "note", {"text": "while the server is gone"})
        assert isinstance(pending, PendingEntry) and "cannot be reached" in pending.last_error
        with pytest.raises(StorageUnavailable):
            svc.entries(s.id)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert outbox.flush() == 1
        [e] = svc.entries(s.id)
        assert e.client_id == pending.client_id and db.verify(s.id).ok
    finally:
        db.close()
        admin.dispose()


def test_outbox_refuses_at_once_what_the_record_would_refuse(sqlite_url, tmp_path, locked_db):
    from console.record import InvalidEntry, PermissionDenied

    db, svc, s = locked_db
    outbox = EntryOutbox(svc, tmp_path / "j.jsonl")
    auditor_outbox = EntryOutbox(db.service(_auditor(db)), tmp_path / "a.jsonl")
    lock = ExclusiveLock(sqlite_url)
    try:
        with pytest.raises(InvalidEntry, match="finite"):
            outbox.add_entry(s.id, "note", {"bp": float("inf")})
        with pytest.raises(InvalidEntry, match="reserved entry kind"):
            outbox.add_entry(s.id, "signature", {})
        with pytest.raises(PermissionDenied):
            auditor_outbox.add_entry(s.id, "note", {"text": "auditors write nothing"})
    finally:
        lock.release()
    assert outbox.pending == [] and auditor_outbox.pending == []


def _auditor(db):
    from console.record import UserContext

    user = db.service(db.system_user()).add_user("audrey", "Audrey", "auditor", "long password 9")
    return UserContext(user.id, user.username, user.full_name, user.role)


def test_disk_full_is_storage_unavailable_and_the_outbox_keeps_the_entry(sqlite_url, tmp_path, locked_db):
    """SQLite's page limit stands in for a full disk: the same SQLITE_FULL error reaches the service."""
    from sqlalchemy import event

    db, svc, s = locked_db
    db.engine.dispose()
    full = {"on": True}

    @event.listens_for(db.engine, "connect")
    def _limit(dbapi_connection, _record):
        if full["on"]:
            pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    outbox = EntryOutbox(svc, tmp_path / "full.jsonl")
    big = {"text": "x" * 10_000}  # the longest note there is: needs new pages
    with pytest.raises(StorageUnavailable, match="disk holding the record database is full"):
        svc.add_entry(s.id, "note", big)
    pending = outbox.add_entry(s.id, "note", big)
    assert isinstance(pending, PendingEntry) and "full" in pending.last_error
    full["on"] = False
    db.engine.dispose()  # the clinic frees space; new connections have no limit
    assert outbox.flush() == 1
    assert [e.data for e in svc.entries(s.id)] == [big] and db.verify(s.id).ok


def test_vitals_recorder_keeps_rows_while_the_database_is_locked(sqlite_url, locked_db):
    from devices import mdc
    from devices.model import Numeric

    db, _svc, s = locked_db
    rec = db.vitals_recorder(s.id, flush_interval=0.05, max_retry_pause=0.1)
    lock = ExclusiveLock(sqlite_url)
    try:
        rec.submit([Numeric(mdc.HEART_RATE, "HR", 60.0 + i, "/min", host_time=1_790_000_000.0 + i)
                    for i in range(5)])
        assert rec.flush(timeout=10) is False  # could not write: still held
        status = rec.status()
        assert status.pending_rows == 5 and "busy" in status.last_error and status.numerics_written == 0
        assert status.error.startswith("5 rows not yet written") and "5 waiting" in status.message
    finally:
        lock.release()
    assert rec.flush(timeout=10) is True
    status = rec.close()
    assert status.numerics_written == 5 and status.pending_rows == 0 and status.error == ""
    assert status.message == "record: 5 numeric rows, 0 wave chunks, 0 events written"
    assert list(db.numerics(s.id).value) == [60.0, 61.0, 62.0, 63.0, 64.0]


def test_an_unwritable_journal_keeps_the_entry_in_memory_and_says_so(sqlite_url, tmp_path, locked_db):
    """The journal shares the database's disk: when neither can be written the entry is still kept."""
    _db, svc, s = locked_db
    journal = tmp_path / "no-such-folder-possible" / "outbox.jsonl"
    journal.parent.write_text("a file where the journal's folder should be")  # every journal write fails
    outbox = EntryOutbox(svc, journal)
    lock = ExclusiveLock(sqlite_url)
    try:
        kept = outbox.add_entry(s.id, "note", {"text": "kept although nothing can be written"})
    finally:
        lock.release()
    assert isinstance(kept, PendingEntry)
    assert "Kept in memory only" in kept.last_error and "busy" in kept.last_error
    assert outbox.flush() == 1
    assert [e.data["text"] for e in svc.entries(s.id)] == ["kept although nothing can be written"]


def test_the_outbox_lock_is_not_held_through_a_database_write(locked_db, tmp_path, monkeypatch):
    """While one thread's write waits on the database, another thread can read what is pending and queue
    more; the queued entries are then written in order, once each."""
    import threading

    _db, svc, s = locked_db
    outbox = EntryOutbox(svc, tmp_path / "outbox.jsonl")
    in_write, release = threading.Event(), threading.Event()
    real_add = type(svc).add_entry

    def slow_add(self, session_id, kind, data, at=None, *, client_id=None):
        if data.get("text") == "slow":
            in_write.set()
            assert release.wait(60), "the test never released the write"
        return real_add(self, session_id, kind, data, at, client_id=client_id)

    monkeypatch.setattr(type(svc), "add_entry", slow_add)
    writer = threading.Thread(target=outbox.add_entry, args=(s.id, "note", {"text": "slow"}), name="slow-writer")
    writer.start()
    seen: list[list[str]] = []
    reader = threading.Thread(target=lambda: seen.append([p.data["text"] for p in outbox.pending]), name="reader")
    try:
        assert in_write.wait(60)
        reader.start()
        reader.join(30)  # a liveness bound: with the lock held through the write this would never finish
        assert not reader.is_alive() and seen == [["slow"]]
    finally:
        release.set()
        writer.join(60)
        if reader.is_alive():
            reader.join(60)
    assert not writer.is_alive()
    outbox.add_entry(s.id, "note", {"text": "after"})
    outbox.flush()
    assert [e.data["text"] for e in svc.entries(s.id) if e.kind == "note"] == ["slow", "after"]
    assert outbox.pending == []

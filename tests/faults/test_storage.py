"""Storage that goes away mid-session: a lock held by another process, a full filesystem, a stopped PostgreSQL
server. Each time: a plain message, the entries kept (EntryOutbox) and the vitals rows held (VitalsRecorder),
and everything written, once and in order, when storage is back; the chain verifies.

``tests/record/test_outbox.py`` covers the same outbox in-process (a lock from the same process, SQLite's page
limit standing in for a full disk, a PostgreSQL database refusing connections); these tests use the real
thing: another process, a real full filesystem (a size-limited tmpfs mounted for the test, root only), and the
PostgreSQL server itself stopped and started (the throwaway cluster of ``.ci/start-postgres``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.record import (
    EntryOutbox,
    EntryRecord,
    PendingEntry,
    StorageUnavailable,
    open_database,
)
from devices import mdc
from devices.model import Numeric

pytestmark = pytest.mark.faults

USER, PASSWORD = "sam", "correct horse 1"
T0 = 1_790_000_000.0
BIG = "x" * 9_000  # with the words around it, a note near the 10 000-character limit: needs new pages


def _start(db_url: str, **options: Any) -> tuple[Any, Any, int]:
    db = open_database(db_url, **options)
    db.service(db.system_user("fault-tests")).add_user(USER, "Sam Storage", "clinician", PASSWORD)
    svc = db.service(db.authenticate(USER, PASSWORD))
    session = svc.start_session(svc.create_patient(f"ST-{uuid.uuid4().hex[:6]}").id, "iv", "1", "chair 1")
    return db, svc, session.id


def _numerics(first: int, n: int) -> list[Numeric]:
    return [Numeric(mdc.HEART_RATE, "HR", 60.0 + i, "/min", host_time=T0 + i)
            for i in range(first, first + n)]


def _assert_all_written(db: Any, svc: Any, sid: int, kept: list[PendingEntry], texts: list[str]) -> None:
    entries = svc.entries(sid)
    assert [e.data["text"] for e in entries if e.kind == "note"] == texts  # all there, in order, once
    by_client = {e.client_id: e for e in entries}
    assert all(p.client_id in by_client for p in kept)
    assert db.verify(sid).ok


# --- a lock held by another process ----------------------------------------------------------------------

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


class OtherProcessLock:
    """Another program holding an exclusive SQLite lock on the database until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "locked":
            self.release()
            pytest.fail(f"the locking process did not take the lock: {line!r}")

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def test_database_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "record.sqlite3"
    db, svc, sid = _start(f"sqlite:///{path}", busy_timeout_ms=200)
    try:
        outbox = EntryOutbox(svc)
        recorder = db.vitals_recorder(sid, flush_interval=0.05, max_retry_pause=0.1)
        assert isinstance(outbox.add_entry(sid, "note", {"text": "before"}), EntryRecord)
        lock = OtherProcessLock(path)
        try:
            with pytest.raises(StorageUnavailable) as direct:
                svc.add_entry(sid, "note", {"text": "direct"})
            assert str(direct.value).startswith(
                "The record database is busy: another program holds it locked.")
            kept = [outbox.add_entry(sid, "note", {"text": f"during {i}"}) for i in range(3)]
            assert all(isinstance(p, PendingEntry) for p in kept)
            assert "busy" in kept[0].last_error and "Nothing was lost" in kept[0].last_error
            assert outbox.journal_path.exists()  # kept on disk too, should the console die now
            recorder.submit(_numerics(0, 10))
            assert recorder.flush(timeout=5) is False
            assert recorder.status().pending_rows == 10 and "busy" in recorder.status().last_error
        finally:
            lock.release()
        assert outbox.flush() == 3 and outbox.pending == []
        assert recorder.flush(timeout=10) is True
        _assert_all_written(db, svc, sid, kept, ["before", "during 0", "during 1", "during 2"])
        assert list(db.numerics(sid).value) == [60.0 + i for i in range(10)]
        recorder.close()
    finally:
        db.close()


# --- a full filesystem ----------------------------------------------------------------------------------

@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted for the test (root only; skipped with the reason otherwise)."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a real full filesystem needs root (to mount a size-limited tmpfs); "
                    "tests/record/test_outbox.py covers the same path with SQLite's page limit")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Take every free byte of the filesystem with one file; returns it."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        size = 1 << 20
        while size >= 512:  # big writes, then ever smaller ones for the last bytes
            try:
                os.write(fd, b"\0" * size)
            except OSError:
                size //= 2
    finally:
        os.close(fd)
    assert shutil.disk_usage(folder).free < 65536
    return filler


def test_full_filesystem_keeps_vitals_and_says_so(small_filesystem: Path) -> None:
    db, svc, sid = _start(f"sqlite:///{small_filesystem / 'record.sqlite3'}")
    try:
        recorder = db.vitals_recorder(sid, flush_interval=0.05, max_retry_pause=0.1)
        assert svc.add_entry(sid, "note", {"text": "before"}).seq == 1
        filler = _fill(small_filesystem)
        with pytest.raises(StorageUnavailable) as direct:
            svc.add_entry(sid, "note", {"text": "direct " + BIG})
        assert str(direct.value).startswith("The disk holding the record database is full.")
        assert "Nothing was lost" in str(direct.value)
        recorder.submit(_numerics(0, 2000))
        assert recorder.flush(timeout=5) is False
        status = recorder.status()
        assert status.pending_rows > 0 and "full" in status.last_error
        filler.unlink()  # the clinic frees space
        assert recorder.flush(timeout=10) is True
        assert svc.add_entry(sid, "note", {"text": "after " + BIG}).seq == 2
        assert db.numerics(sid).value.size == 2000 and db.verify(sid).ok
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        recorder.close()
    finally:
        db.close()


def test_full_disk_vitals_loss_is_counted_noted_in_the_session_and_never_called_nothing(
        small_filesystem: Path) -> None:
    """The database and the vitals journal on one full disk: rows beyond the memory bound are lost; the loss
    is counted, shown, and written to the session as a note once storage is back."""
    db, svc, sid = _start(f"sqlite:///{small_filesystem / 'record.sqlite3'}")
    try:
        outbox = EntryOutbox(svc)
        recorder = db.vitals_recorder(sid, flush_interval=0.05, max_retry_pause=0.1, outbox=outbox,
                                      memory_rows=300)
        assert svc.add_entry(sid, "note", {"text": "before"}).seq == 1
        filler = _fill(small_filesystem)
        for first in range(0, 1000, 100):
            recorder.submit(_numerics(first, 100))
            assert recorder.flush(timeout=5) is False
        status = recorder.status()
        assert status.lost_rows == 700 and status.memory_rows == 300 and status.journal_rows == 0
        assert "LOST" in status.message and "nothing was lost" not in status.message.lower()
        assert "journal" in status.error and status.lost_seconds >= 699
        assert status.gap_entries == 0  # one note for the whole loss, written when storage is back
        filler.unlink()
        assert recorder.flush(timeout=10) is True
        outbox.flush()
        assert outbox.pending == []
        final = recorder.close()
        assert final.lost_rows == 700 and final.gap_entries == 1 and "LOST" in final.message
        values = db.numerics(sid).value
        assert list(values) == [60.0 + i for i in range(700, 1000)]  # the newest rows were kept
        notes = [e.data["text"] for e in svc.entries(sid) if e.kind == "note"]
        assert notes[0] == "before" and len(notes) == 2
        assert "Vitals not recorded between" in notes[1] and "700 rows" in notes[1]
        assert db.verify(sid).ok
    finally:
        db.close()


def test_full_filesystem_outbox_keeps_entries(small_filesystem: Path) -> None:
    db, svc, sid = _start(f"sqlite:///{small_filesystem / 'record.sqlite3'}")
    try:
        outbox = EntryOutbox(svc)  # its journal on the same disk, as in the station
        assert isinstance(outbox.add_entry(sid, "note", {"text": "before"}), EntryRecord)
        filler = _fill(small_filesystem)
        kept = [outbox.add_entry(sid, "note", {"text": f"during {i} {BIG}"}) for i in range(2)]
        assert all(isinstance(p, PendingEntry) for p in kept)
        assert "full" in kept[0].last_error
        filler.unlink()
        assert outbox.flush() == 2 and outbox.pending == []
        _assert_all_written(db, svc, sid, kept, ["before"] + [f"during {i} {BIG}" for i in range(2)])
    finally:
        db.close()


# --- the PostgreSQL server stopped mid-session -------------------------------------------------------------

class PgServer:
    """Stops and starts the throwaway cluster of ``.ci/start-postgres`` (``CHAIRSIDE_TEST_PG_DATA``)."""

    def __init__(self) -> None:
        from tests.record.conftest import pg_admin_url

        pg_admin_url()  # skips with the reason when CHAIRSIDE_TEST_PG_URL is not set
        base = os.environ.get("CHAIRSIDE_TEST_PG_DATA", "")
        self.data = Path(base) / "data"
        opts = self.data / "postmaster.opts"
        if not base or not opts.is_file():
            pytest.skip("stopping PostgreSQL needs the cluster started by .ci/start-postgres "
                        "(CHAIRSIDE_TEST_PG_DATA names its folder); a server not started by it is left alone")
        words = shlex.split(opts.read_text())
        self.pg_ctl = str(Path(words[0]).with_name("pg_ctl"))
        # postmaster.opts is the server's own command line; pass everything but the binary and -D back
        args = [w for i, w in enumerate(words[1:]) if w != "-D" and (i == 0 or words[i] != "-D")]
        self.options = shlex.join(args)
        self.owner = self.data.owner()

    def _ctl(self, *args: str) -> None:
        cmd = [self.pg_ctl, "-D", str(self.data), *args]
        if os.geteuid() == 0 and self.owner != "root":
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr or done.stdout

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self._ctl("-w", "-t", "60", "-l", str(self.data.parent / "server.log"), "-o", self.options, "start")


@pytest.fixture
def pg_server() -> Iterator[tuple[PgServer, str]]:
    from tests.record.conftest import _drop_pg_database, _new_pg_database

    server = PgServer()
    url, name = _new_pg_database()
    try:
        yield server, url
    finally:
        try:
            server.start()
        except AssertionError:
            pass  # already running
        _drop_pg_database(name)


@pytest.mark.postgres
def test_postgresql_server_stopped_mid_session(pg_server: tuple[PgServer, str], tmp_path: Path) -> None:
    server, url = pg_server
    db, svc, sid = _start(url)
    try:
        outbox = EntryOutbox(svc, tmp_path / "outbox.jsonl")
        recorder = db.vitals_recorder(sid, flush_interval=0.05, max_retry_pause=0.2)
        assert isinstance(outbox.add_entry(sid, "note", {"text": "before"}), EntryRecord)
        server.stop()
        try:
            with pytest.raises(StorageUnavailable) as direct:
                svc.add_entry(sid, "note", {"text": "direct"})
            assert str(direct.value).startswith("The record database server cannot be reached.")
            kept = [outbox.add_entry(sid, "note", {"text": f"during {i}"}) for i in range(3)]
            assert all(isinstance(p, PendingEntry) for p in kept)
            assert "cannot be reached" in kept[0].last_error
            recorder.submit(_numerics(0, 10))
            assert recorder.flush(timeout=3) is False and recorder.status().pending_rows == 10
        finally:
            server.start()
        assert outbox.flush() == 3 and outbox.pending == []
        assert recorder.flush(timeout=15) is True
        _assert_all_written(db, svc, sid, kept, ["before", "during 0", "during 1", "during 2"])
        assert list(db.numerics(sid).value) == [60.0 + i for i in range(10)]
        recorder.close()
    finally:
        db.close()

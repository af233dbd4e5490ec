"""One export registry (a format registered once shows in the CLI and the review window), exports audited
first (the file appears only after its audit row; a locked database, a bad path or a cancel leaves no file
and no temporary file), and a damaged record gives one named line, never a traceback, and no file."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console import exports
from console.cli import main
from console.exports import ExportFormat, RecordDamaged, export_session
from console.record import Database, StorageUnavailable, open_database
from console.record.engine import sqlite_path
from tests.exports.session_factory import PASSWORD, clinician


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[Database, int, str]]:
    """A database (short busy timeout) with one signed two-note session of a clinician ``jsmith``."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    db = open_database(url, busy_timeout_ms=100)
    svc = db.service(clinician(db))
    s = svc.start_session(svc.create_patient("PT-9").id, "iv-ketamine", "1", "chair 2")
    svc.add_entry(s.id, "note", {"text": "calm"})
    svc.add_entry(s.id, "note", {"text": "talkative"})
    svc.sign(s.id, PASSWORD)
    yield db, s.id, url
    db.close()


def _files(folder: Path) -> list[str]:
    """Everything in ``folder`` but the database and its companions: what an export left behind."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("record.sqlite3"))


def _cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *argv: str,
         stdin: str = PASSWORD + "\n") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


class LockAfterWriting:
    """A progress callback that, when the writer reports the file complete, has another connection take the
    database's write lock, so the audit row that must come next is refused."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: sqlite3.Connection | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        if done == total and what != "reading the record" and self.conn is None:
            self.conn = sqlite3.connect(str(sqlite_path(self.url)), isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()


# ------------------------------------------------------------------------------------------------ registry
_WRITTEN: list[Path] = []


def fake_write(record: dict[str, Any], out: Path, db: Any = None, progress: Any = None) -> None:
    """The writer of the test's own format: one line through the shared atomic output."""
    from console.exports._common import atomic_path

    with atomic_path(Path(out)) as tmp:
        tmp.write_text(f"fake export of session {record['session']['id']}\n", encoding="utf-8")
    _WRITTEN.append(Path(out))


@pytest.fixture
def fake_format() -> Iterator[ExportFormat]:
    fmt = exports.register(ExportFormat("fake", "Fake test format", ".fake", __name__, "fake_write"))
    yield fmt
    exports.unregister("fake")


def test_a_registered_format_is_in_the_cli_and_exports(fake_format: ExportFormat, small: Any, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db, sid, url = small
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "fake: Fake test format" in " ".join(capsys.readouterr().out.split())  # unwrapped
    out = tmp_path / "s.fake"
    code, stdout, _ = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--format", "fake",
                           "--out", str(out), "--user", "jsmith")
    assert code == 0 and "as fake" in stdout
    assert out.read_text(encoding="utf-8") == f"fake export of session {sid}\n"
    assert db.audit_trail(action="export")[-1].username == "jsmith"  # the logged-in user, not $LOGNAME
    with pytest.raises(ValueError, match="already registered"):
        exports.register(ExportFormat("fake", "Again", ".x", __name__, "fake_write"))


def test_a_registered_format_is_in_the_review_windows_menu(fake_format: ExportFormat, small: Any, qtbot: Any,
                                                           tmp_path: Path) -> None:
    from console.review.review_window import ReviewWindow

    db, sid, _ = small
    w = ReviewWindow(db, db.authenticate("jsmith", PASSWORD), sid)
    qtbot.addWidget(w)
    try:
        menu = [(w.format_combo.itemData(i), w.format_combo.itemText(i)) for i in range(w.format_combo.count())]
        assert menu == [(f.name, f.title) for f in exports.formats()]
        assert ("fake", "Fake test format") in menu and ("json", "JSON record") in menu
        out = tmp_path / "w.fake"
        with qtbot.waitSignal(w.exportFinished, timeout=30000) as sig:
            w.start_export("fake", out)
        assert sig.args[1] is True and out.read_text(encoding="utf-8").startswith("fake export")
    finally:
        w.close()


def test_unknown_format_is_one_line_naming_the_known_ones(small: Any, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid, url = small
    code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--format", "docx",
                        "--out", str(tmp_path / "x.docx"), "--user", "jsmith")
    line = _one_line(err)
    assert code == 2 and "unknown export format 'docx'" in line and "pdf, csv, fhir, edf, vital, json" in line


# ------------------------------------------------------------------------------------------ audited first
def test_the_audit_row_is_committed_before_the_file_appears(small: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    db, sid, _ = small
    out = tmp_path / "out" / "s.json"
    real_audit = exports._audit
    seen: dict[str, Any] = {}

    def audit_spy(*args: Any, **kwargs: Any) -> None:
        seen["file_before_audit"] = out.exists()
        seen["temporary"] = [p.name for p in out.parent.iterdir()]
        real_audit(*args, **kwargs)
        seen["audited"] = len(db.audit_trail(action="export"))

    monkeypatch.setattr(exports, "_audit", audit_spy)
    export_session(db, sid, "json", out)
    assert seen["file_before_audit"] is False and seen["audited"] == 1
    assert len(seen["temporary"]) == 1 and seen["temporary"][0].startswith(".s.json.")  # staged in its folder
    assert json.loads(out.read_text(encoding="utf-8"))["session"]["id"] == sid
    assert os.listdir(out.parent) == ["s.json"]


@pytest.mark.parametrize("fmt", ["json", "csv", "fhir", "pdf"])
def test_a_database_locked_before_the_audit_row_leaves_no_file(fmt: str, small: Any, tmp_path: Path) -> None:
    db, sid, url = small
    folder = tmp_path / "exports"
    folder.mkdir()
    lock = LockAfterWriting(url)
    try:
        with pytest.raises(StorageUnavailable, match="busy"):
            export_session(db, sid, fmt, folder / f"s.{fmt}", lock)
        assert lock.conn is not None  # the file was complete when the lock was taken
    finally:
        lock.release()
    assert os.listdir(folder) == []  # neither the file nor a temporary one
    assert db.audit_trail(action="export") == []


def test_a_locked_database_fails_the_export_command_in_one_line(small: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid, url = small
    lock = sqlite3.connect(str(sqlite_path(url)), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--out",
                            str(tmp_path / "l.json"), "--user", "jsmith")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert code == 2 and "busy" in _one_line(err)
    assert _files(tmp_path) == []


def test_a_cancelled_export_leaves_nothing(small: Any, tmp_path: Path) -> None:
    db, sid, _ = small

    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int, what: str) -> None:
        if done >= 2:
            raise Cancelled

    with pytest.raises(Cancelled):  # the cancel passes through as it is, not as an export error
        export_session(db, sid, "pdf", tmp_path / "c.pdf", cancel)
    assert _files(tmp_path) == [] and db.audit_trail(action="export") == []


def test_an_unwritable_path_is_one_line_and_leaves_nothing(small: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid, url = small
    (tmp_path / "a-file").write_text("x")
    code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--format", "csv",
                        "--out", str(tmp_path / "a-file" / "s.zip"), "--user", "jsmith")
    assert code == 2 and _one_line(err).startswith("chairside: cannot write")
    assert _files(tmp_path) == ["a-file"]


def test_a_real_record_needs_an_authenticated_user(small: Any, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db, sid, url = small
    code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--out", str(tmp_path / "a.json"))
    assert code == 2 and "--user" in _one_line(err)
    code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--out", str(tmp_path / "a.json"),
                        "--user", "jsmith", stdin="wrong password\n")
    assert code == 2 and _one_line(err)
    assert _files(tmp_path) == [] and db.audit_trail(action="export") == []


# ----------------------------------------------------------------------------------------- damaged record
def _garble_an_entry(url: str, sid: int) -> None:
    with sqlite3.connect(str(sqlite_path(url))) as conn:
        conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
        conn.execute("UPDATE entries SET data_json = '{\"text\": ' WHERE session_id = ? AND seq = 2", (sid,))
    conn.close()


@pytest.mark.parametrize("fmt", list(exports.FORMATS))
def test_garbage_in_an_entry_is_a_named_error_for_every_format(fmt: str, small: Any, tmp_path: Path) -> None:
    db, sid, url = small
    _garble_an_entry(url, sid)
    with pytest.raises(RecordDamaged, match=f"session {sid} cannot be exported: an entry's stored data"):
        export_session(db, sid, fmt, tmp_path / f"g.{fmt}")
    assert _files(tmp_path) == []


def test_damaged_records_fail_the_command_in_one_line_and_leave_no_file(small: Any, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db, sid, url = small
    out = tmp_path / "exports" / "d.json"
    code, _, err = _cli(capsys, monkeypatch, "export", "4242", "--db", url, "--out", str(out), "--user", "jsmith")
    assert code == 2 and "no session with id 4242" in _one_line(err)
    _garble_an_entry(url, sid)
    code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--format", "pdf", "--out",
                        str(out), "--user", "jsmith")
    assert code == 2 and "stored data is not readable" in _one_line(err)
    db.close()
    path = sqlite_path(url)
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    for fmt in ("json", "pdf"):
        code, _, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", f"sqlite:///{truncated}",
                            "--format", fmt, "--out", str(out), "--user", "jsmith")
        assert code == 2 and "damaged" in _one_line(err).lower()
    assert not out.parent.exists() or os.listdir(out.parent) == []


def test_a_mistyped_database_path_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-folder" / "recrod.sqlite3"
    code, _, err = _cli(capsys, monkeypatch, "export", "1", "--db", f"sqlite:///{missing}", "--out",
                        str(tmp_path / "x.json"))
    assert code == 2 and "no Chairside record at" in _one_line(err)
    assert _files(tmp_path) == []  # no empty database, no folder, no export


def test_the_review_window_says_a_damaged_record_in_words_and_writes_nothing(small: Any, qtbot: Any,
                                                                             tmp_path: Path) -> None:
    from console.review.review_window import ReviewWindow

    db, sid, url = small
    w = ReviewWindow(db, db.authenticate("jsmith", PASSWORD), sid)
    qtbot.addWidget(w)
    try:
        _garble_an_entry(url, sid)  # damaged after the window read the record
        out = tmp_path / "exports" / "w.pdf"
        with qtbot.waitSignal(w.exportFinished, timeout=30000) as sig:
            w.start_export("pdf", out)
        message, ok = sig.args
        assert ok is False and message.startswith("Export failed: session")
        assert "stored data is not readable" in message and "Traceback" not in message
        assert not out.parent.exists() or os.listdir(out.parent) == []
    finally:
        w.close()


def test_json_to_standard_output_is_audited_and_complete(small: Any, capsys: pytest.CaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db, sid, url = small
    code, out, err = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--out", "-", "--user", "jsmith")
    assert code == 0 and err == ""
    assert [e["data"]["text"] for e in json.loads(out)["entries"] if e["kind"] == "note"] == ["calm", "talkative"]
    assert db.audit_trail(action="export")[-1].detail == "format json to -"


def test_a_two_file_csv_export_appears_whole_or_not_at_all(small: Any, tmp_path: Path) -> None:
    db, sid, url = small
    lock = LockAfterWriting(url)
    try:
        with pytest.raises(StorageUnavailable):
            export_session(db, sid, "csv", tmp_path / "n.csv", lock)
    finally:
        lock.release()
    assert _files(tmp_path) == []
    export_session(db, sid, "csv", tmp_path / "n.csv")
    assert _files(tmp_path) == ["n-entries.csv", "n.csv"]


def test_the_export_verb_uses_the_shared_cli_log_in_when_there_is_one(small: Any, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from console.record import cli_support

    db, sid, url = small
    calls: list[tuple[str | None, str]] = []

    def authenticate_cli(database: Database, username: str | None, *, what: str = "") -> Any:
        calls.append((username, what))
        return database.authenticate("jsmith", PASSWORD)

    monkeypatch.setattr(cli_support, "authenticate_cli", authenticate_cli, raising=False)
    code, _, _ = _cli(capsys, monkeypatch, "export", str(sid), "--db", url, "--out", str(tmp_path / "a.json"),
                      "--user", "jsmith", stdin="")
    assert code == 0 and calls == [("jsmith", "chairside export")]
    assert db.audit_trail(action="export")[-1].username == "jsmith"

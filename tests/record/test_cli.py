"""The record's command-line verbs, run through ``console.cli.main`` as a user would."""

from __future__ import annotations

import io
import json

import pytest

from console.cli import main
from console.record import open_database
from tests.record.conftest import PASSWORD, drop_append_only_guard


def cli(capsys, monkeypatch, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def recorded(sqlite_url):
    """A database with a clinician, one signed session with notes, and one interrupted demo session."""
    db = open_database(sqlite_url)
    db.service(db.system_user()).add_user("carla", "Carla Clinician", "clinician", PASSWORD)
    svc = db.service(db.authenticate("carla", PASSWORD))
    p = svc.create_patient("PT-7", name="Pat Seven", weight_kg=80)
    s = svc.start_session(p.id, "iv-ketamine", "2", "chair 4", devices=["mp50"], details={"dose_mg": 40})
    note = svc.add_entry(s.id, "note", {"text": "calm"})
    svc.amend(s.id, note.id, "more detail", {"text": "calm, talkative"})
    svc.sign(s.id, PASSWORD)
    demo = db.service(db.demo_login())
    d = demo.start_session(demo.create_patient("DEMO-1").id, "iv-ketamine", "2", "chair 9")
    db.close()
    return sqlite_url, s.id, d.id


def test_users_add_list_disable_passwd(capsys, monkeypatch, sqlite_url):
    code, out, _ = cli(capsys, monkeypatch, "users", "add", "ada", "--role", "admin", "--name", "Ada Admin",
                       "--password-stdin", "--db", sqlite_url, stdin="a long password\n")
    assert code == 0 and "added ada (admin)" in out
    code, out, _ = cli(capsys, monkeypatch, "users", "add", "tom", "--role", "technician", "--password-stdin",
                       "--db", sqlite_url, stdin="tech password 1\n")
    assert code == 0
    code, out, _ = cli(capsys, monkeypatch, "users", "list", "--format", "json", "--db", sqlite_url)
    users = {u["username"]: u for u in json.loads(out)}
    assert users["ada"]["full_name"] == "Ada Admin" and users["tom"]["role"] == "technician"
    assert cli(capsys, monkeypatch, "users", "disable", "tom", "--db", sqlite_url)[0] == 0
    code, out, _ = cli(capsys, monkeypatch, "users", "list", "--db", sqlite_url)
    assert "DISABLED" in out and "ada" in out
    assert cli(capsys, monkeypatch, "users", "passwd", "ada", "--password-stdin", "--db", sqlite_url,
               stdin="new long password\n")[0] == 0
    db = open_database(sqlite_url)
    try:
        assert db.authenticate("ada", "new long password").role == "admin"
        trail = [(a.action, a.username) for a in db.audit_trail()]
        assert ("user_add", trail[0][1]) in trail and trail[0][1].startswith("cli:")
        assert {"user_add", "user_disable", "user_passwd"} <= {a for a, _ in trail}
    finally:
        db.close()


def test_users_errors_are_plain(capsys, monkeypatch, sqlite_url):
    code, _, err = cli(capsys, monkeypatch, "users", "add", "x", "--role", "admin", "--password-stdin",
                       "--db", sqlite_url, stdin="short\n")
    assert code == 2 and "at least 8 characters" in err
    code, _, err = cli(capsys, monkeypatch, "users", "disable", "ghost", "--db", sqlite_url)
    assert code == 2 and "no user named 'ghost'" in err
    with pytest.raises(SystemExit) as exc:
        cli(capsys, monkeypatch, "users", "add", "x", "--role", "pilot", "--db", sqlite_url)
    assert exc.value.code == 2


def test_sessions_table_and_json(capsys, monkeypatch, recorded):
    url, signed, demo = recorded
    code, out, _ = cli(capsys, monkeypatch, "sessions", "--db", url, "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and rows[signed]["status"] == "signed" and rows[signed]["entries"] == 3
    assert rows[demo]["status"] == "interrupted" and rows[demo]["demo"] is True
    assert rows[signed]["patient"] == "PT-7" and rows[signed]["protocol_version"] == "2"
    code, out, _ = cli(capsys, monkeypatch, "sessions", "--db", url)
    assert "DEMO" in out and "interrupted" in out and "iv-ketamine v2" in out
    code, out, _ = cli(capsys, monkeypatch, "sessions", "--db", url, "--status", "interrupted",
                       "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [demo]


def test_verify_exit_codes(capsys, monkeypatch, recorded):
    url, signed, _ = recorded
    code, out, _ = cli(capsys, monkeypatch, "verify", str(signed), "--db", url)
    assert code == 0 and out.startswith("intact")
    assert cli(capsys, monkeypatch, "verify", "--db", url)[0] == 0
    db = open_database(url)
    with db.engine.begin() as conn:
        drop_append_only_guard(conn)
        conn.exec_driver_sql("UPDATE entries SET data_json = '{\"text\":\"agitated\"}' WHERE seq = 1 "
                             f"AND session_id = {signed}")
    db.close()
    code, out, _ = cli(capsys, monkeypatch, "verify", str(signed), "--db", url)
    assert code == 1 and out.startswith("NOT intact") and f"session {signed}, entry #1" in out
    assert "changed" in out
    code, _, err = cli(capsys, monkeypatch, "verify", "999", "--db", url)
    assert code == 2 and "no session with id 999" in err


def test_export_json_has_the_complete_record(capsys, monkeypatch, recorded, tmp_path):
    url, signed, demo = recorded
    out_path = tmp_path / "out" / "session.json"
    code, _, err = cli(capsys, monkeypatch, "export", str(signed), "--db", url, "--format", "json",
                       "--out", str(out_path))
    assert code == 2 and "--user" in err and not out_path.parent.exists()  # a real record needs a log-in
    code, out, _ = cli(capsys, monkeypatch, "export", str(signed), "--db", url, "--format", "json",
                       "--out", str(out_path), "--user", "carla", stdin=PASSWORD + "\n")
    assert code == 0 and "3 entries, integrity ok" in out
    rec = json.loads(out_path.read_text(encoding="utf-8"))
    assert rec["session"]["id"] == signed and rec["session"]["protocol_id"] == "iv-ketamine"
    assert rec["session"]["details"] == {"dose_mg": 40} and rec["demo"] is False and "banner" not in rec
    assert rec["patient"]["code"] == "PT-7" and rec["patient"]["weight_kg"] == 80
    kinds = [e["kind"] for e in rec["entries"]]
    assert kinds == ["note", "amendment", "signature"]
    first = rec["entries"][0]
    assert set(first) >= {"id", "kind", "at", "entered_at", "user", "role", "data", "amends", "hash"}
    assert first["user"] == "carla" and first["role"] == "clinician" and first["data"] == {"text": "calm"}
    assert rec["entries"][1]["amends"] == first["id"]
    assert rec["integrity"]["ok"] is True and len(rec["integrity"]["head_hash"]) == 64
    assert rec["vitals_summary"] == {"numeric_rows": {}, "wave_seconds": {}, "wave_chunks": {}, "events": 0}
    # a demo session says so at the top
    demo_path = tmp_path / "demo.json"
    assert cli(capsys, monkeypatch, "export", str(demo), "--db", url, "--out", str(demo_path))[0] == 0
    drec = json.loads(demo_path.read_text(encoding="utf-8"))
    assert next(iter(drec)) == "banner" and drec["banner"].startswith("DEMO") and drec["demo"] is True


def test_export_errors_are_plain(capsys, monkeypatch, recorded, tmp_path):
    url, signed, _ = recorded
    code, _, err = cli(capsys, monkeypatch, "export", str(signed), "--db", url, "--format", "docx",
                       "--out", str(tmp_path / "x"))
    assert code == 2 and "unknown export format 'docx'" in err and "json" in err
    code, _, err = cli(capsys, monkeypatch, "export", "12345", "--db", url, "--out", str(tmp_path / "x"))
    assert code == 2 and "no session with id 12345" in err


def test_export_format_registry_is_extensible(recorded, tmp_path):
    from console import exports

    url, signed, _ = recorded
    seen = {}
    exports.register(exports.ExportFormat("probe", "Probe", ".p", __name__, "_probe_writer"))
    _PROBE_SEEN.append(seen)
    try:
        db = open_database(url)
        try:
            exports.export_session(db, signed, "probe", tmp_path / "p")
        finally:
            db.close()
        assert seen == {"n": 3, "out": tmp_path / "p"} and "probe" in [f.name for f in exports.formats()]
    finally:
        exports.unregister("probe")
        _PROBE_SEEN.clear()


_PROBE_SEEN: list[dict] = []


def _probe_writer(record, out, db, progress=None):
    _PROBE_SEEN[-1].update(n=len(record["entries"]), out=out)


def test_db_upgrade_and_status(capsys, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    code, _, err = cli(capsys, monkeypatch, "db", "status", "--db", url)
    assert code == 2 and "no database file" in err
    code, out, _ = cli(capsys, monkeypatch, "db", "upgrade", "--db", url)
    assert code == 0 and "created at revision 0008" in out
    code, out, _ = cli(capsys, monkeypatch, "db", "upgrade", "--db", url)
    assert code == 0 and "already at revision 0008" in out
    code, out, _ = cli(capsys, monkeypatch, "db", "status", "--db", url)
    assert code == 0 and "revision 0008 (up to date)" in out


def test_db_upgrade_from_older_revision_reports_backup(capsys, monkeypatch, tmp_path):
    from console.record.engine import make_engine
    from console.record.schema import _upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        _upgrade(conn, "0001")
    engine.dispose()
    code, out, _ = cli(capsys, monkeypatch, "db", "upgrade", "--db", url)
    assert code == 0 and "upgraded from 0001 to 0008" in out and "old.sqlite3.pre-0001-" in out


def test_newer_database_is_refused_by_every_command(capsys, monkeypatch, recorded):
    url, signed, _ = recorded
    db = open_database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0042'")
    db.close()
    for argv in (("db", "upgrade"), ("sessions",), ("verify",), ("users", "list")):
        code, _, err = cli(capsys, monkeypatch, *argv, "--db", url)
        assert code == 2 and "newer Chairside" in err


def test_a_registered_format_whose_package_is_missing_is_refused(capsys, monkeypatch, recorded, tmp_path):
    from console import exports

    url, signed, _ = recorded
    exports.register(exports.ExportFormat("ghost", "Ghost", ".g", "console.exports.json_record",
                                          requires="no_such_package_for_chairside"))
    try:
        code, _, err = cli(capsys, monkeypatch, "export", str(signed), "--db", url, "--format", "ghost",
                           "--out", str(tmp_path / "g"))
        assert code == 2 and "needs the Python package 'no_such_package_for_chairside'" in err
        assert not (tmp_path / "g").exists()
    finally:
        exports.unregister("ghost")


def test_users_password_prompt_typed_twice(capsys, monkeypatch, sqlite_url):
    answers = iter(["first long password", "second long password", "same long password", "same long password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = cli(capsys, monkeypatch, "users", "add", "ada", "--role", "admin", "--db", sqlite_url)
    assert code == 2 and "differ" in err
    code, out, _ = cli(capsys, monkeypatch, "users", "add", "ada", "--role", "admin", "--db", sqlite_url)
    assert code == 0 and "added ada" in out
    db = open_database(sqlite_url)
    try:
        assert db.authenticate("ada", "same long password").role == "admin"
    finally:
        db.close()


def test_sessions_filtered_by_patient(capsys, monkeypatch, recorded):
    url, signed, demo = recorded
    code, out, _ = cli(capsys, monkeypatch, "sessions", "--db", url, "--patient", "PT-7", "--format", "json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [signed]
    code, out, _ = cli(capsys, monkeypatch, "sessions", "--db", url, "--patient", "NOPE")
    assert code == 0 and "no patient with code NOPE" in out

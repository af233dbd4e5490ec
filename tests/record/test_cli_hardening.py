"""Every command-line verb of the record and device tools, given bad input as a hurried user or a broken disk
would: one line on stderr, exit 2, no traceback, and nothing left behind (issue 10, item 9).

Run as a user runs them: ``python -m console.cli`` in a subprocess, with standard input not a terminal.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.record import open_database
from tests.record.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "amber chair window"


def run(tmp_path: Path, *argv: str, stdin: str = "", env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """``chairside ARGV`` with the record, data and site folders inside ``tmp_path``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CHAIRSIDE_")}
    full_env.update(PYTHONPATH=str(ROOT), CHAIRSIDE_FAST_HASH="1", QT_QPA_PLATFORM="offscreen",
                    XDG_DATA_HOME=str(tmp_path / "xdg-data"), CHAIRSIDE_CONFIG=str(tmp_path / "none.toml"),
                    CHAIRSIDE_DB=f"sqlite:///{tmp_path / 'default-record.sqlite3'}")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "console.cli", *argv], input=stdin, capture_output=True,
                          text=True, env=full_env, cwd=tmp_path, timeout=120, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with exactly one line on stderr that says why, and no traceback anywhere."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], lines[0]


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def real_record(tmp_path: Path) -> Path:
    """A real record: an admin (ada), a clinician (carla) and one session of carla's."""
    path = tmp_path / "real.sqlite3"
    db = open_database(f"sqlite:///{path}")
    admin = db.service(db.system_user("test-setup"))
    admin.add_user("ada", "Ada Admin", "admin", ADMIN_PASSWORD)
    admin.add_user("carla", "Carla Clinician", "clinician", PASSWORD)
    svc = db.service(db.authenticate("carla", PASSWORD))
    svc.start_session(svc.create_patient("PT-1").id, "iv-ketamine", "2", "chair 1")
    db.close()
    return path


# ------------------------------------------------------------------------------------------- users
def test_users_add_with_stdin_at_its_end_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    assert_refused(run(tmp_path, "users", "add", "ada", "--role", "admin", "--db", str(path)),
                   "no password")
    assert not path.exists()


def test_users_add_into_a_missing_folder_creates_no_folder(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "users", "add", "ada", "--role", "admin", "--db",
                       str(tmp_path / "typo" / "x.sqlite3"), stdin=f"{ADMIN_PASSWORD}\n"), "does not exist")
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("weak", ["password", "12345678", "short"])
def test_users_add_refuses_weak_passwords_and_leaves_no_file(tmp_path: Path, weak: str) -> None:
    path = tmp_path / "new.sqlite3"
    assert_refused(run(tmp_path, "users", "add", "ada", "--role", "admin", "--db", str(path), stdin=f"{weak}\n"))
    assert not path.exists()


def test_the_first_user_must_be_an_admin(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    assert_refused(run(tmp_path, "users", "add", "carla", "--role", "clinician", "--db", str(path),
                       stdin=f"{PASSWORD}\n"), "admin")
    assert not path.exists()
    ok = run(tmp_path, "users", "add", "ada", "--role", "admin", "--db", str(path), stdin=f"{ADMIN_PASSWORD}\n",
             env={"LOGNAME": "mallory", "USER": "mallory"})
    assert ok.returncode == 0, ok.stderr
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT username FROM audit_log")]
    assert names and not any("mallory" in n for n in names)


def test_user_changes_need_an_admin_who_logs_in(tmp_path: Path, real_record: Path) -> None:
    db = str(real_record)
    before = fingerprint(real_record)
    assert_refused(run(tmp_path, "users", "disable", "carla", "--db", db, stdin="x\n"), "--user")
    assert_refused(run(tmp_path, "users", "disable", "carla", "--db", db, "--user", "carla",
                       stdin=f"{PASSWORD}\n"), "only an admin")
    assert_refused(run(tmp_path, "users", "add", "eve", "--role", "admin", "--db", db, "--user", "ada",
                       stdin="wrong password here\nanother long phrase\n"), "Wrong user name or password")
    with sqlite3.connect(real_record) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE username = 'eve'").fetchone() == (0,)
        actors = {r[0] for r in conn.execute("SELECT username FROM audit_log WHERE action LIKE 'user_%'")}
    assert "carla" not in actors  # the refused clinician changed nothing
    assert before != fingerprint(real_record)  # the failed log-ins themselves are audited
    done = run(tmp_path, "users", "disable", "carla", "--db", db, "--user", "ada", stdin=f"{ADMIN_PASSWORD}\n")
    assert done.returncode == 0 and "disabled carla" in done.stdout
    with sqlite3.connect(real_record) as conn:
        row = conn.execute("SELECT username FROM audit_log WHERE action = 'user_disable'").fetchone()
    assert row == ("ada",)


def test_lockout_and_unlock_through_the_command_line(tmp_path: Path, real_record: Path) -> None:
    env = {"CHAIRSIDE_LOGIN_THROTTLE_AFTER": "0", "CHAIRSIDE_LOGIN_LOCKOUT_AFTER": "2"}
    db = str(real_record)
    for _ in range(2):
        run(tmp_path, "users", "passwd", "carla", "--db", db, "--user", "carla", stdin="guess guess guess\n",
            env=env)
    # carla is locked: her right password is refused too, and an admin sees it
    assert_refused(run(tmp_path, "users", "passwd", "carla", "--db", db, "--user", "carla",
                       stdin=f"{PASSWORD}\n", env=env), "locked", "chairside users unlock carla")
    listing = run(tmp_path, "users", "list", "--db", db, "--format", "json", env=env)
    assert '"locked": true' in listing.stdout
    unlocked = run(tmp_path, "users", "unlock", "carla", "--db", db, "--user", "ada",
                   stdin=f"{ADMIN_PASSWORD}\n", env=env)
    assert unlocked.returncode == 0 and "unlocked carla (2 failed log-ins cleared)" in unlocked.stdout
    assert_refused(run(tmp_path, "users", "unlock", "ghost", "--db", db, "--user", "ada",
                       stdin=f"{ADMIN_PASSWORD}\n", env=env), "ghost")
    with sqlite3.connect(real_record) as conn:
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE target = 'user carla' ORDER BY id")]
    assert actions[-4:] == ["login_failed", "user_lockout", "login_locked", "user_unlock"]


# ------------------------------------------------------------------------------------------- read-only verbs
@pytest.mark.parametrize("argv", [("sessions",), ("users", "list"), ("db", "status")])
def test_read_only_verbs_never_create_a_database(tmp_path: Path, argv: tuple[str, ...]) -> None:
    before = tree(tmp_path)
    missing = tmp_path / "typo" / "record.sqlite3"
    assert_refused(run(tmp_path, *argv, "--db", str(missing)), "no database file")
    assert_refused(run(tmp_path, *argv))  # the default record does not exist either
    assert tree(tmp_path) == before


def test_db_upgrade_creates_a_record_but_never_the_folders_of_a_typo(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "db", "upgrade", "--db", str(tmp_path / "typo" / "r.sqlite3")), "does not exist")
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("argv", [("sessions",), ("users", "list"), ("db", "status"), ("db", "upgrade"),
                                  ("users", "disable", "x", "--user", "ada")])
def test_a_folder_or_a_foreign_file_is_refused_and_left_alone(tmp_path: Path, argv: tuple[str, ...]) -> None:
    assert_refused(run(tmp_path, *argv, "--db", str(tmp_path)))
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(os.urandom(8192))
    before, files = fingerprint(junk), tree(tmp_path)
    assert_refused(run(tmp_path, *argv, "--db", str(junk), stdin="x\n"))
    assert fingerprint(junk) == before and tree(tmp_path) == files  # no backup copy, no journal left


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_record_is_refused(tmp_path: Path, real_record: Path) -> None:
    real_record.chmod(0)
    try:
        assert_refused(run(tmp_path, "sessions", "--db", str(real_record)), "cannot read")
    finally:
        real_record.chmod(0o600)


@pytest.mark.parametrize("limit", ["-1", "0", "two", "1.5"])
def test_sessions_limit_must_be_a_positive_count(tmp_path: Path, real_record: Path, limit: str) -> None:
    assert_refused(run(tmp_path, "sessions", "--db", str(real_record), "--limit", limit), "--limit")


def test_sessions_status_must_be_a_known_one(tmp_path: Path, real_record: Path) -> None:
    assert_refused(run(tmp_path, "sessions", "--db", str(real_record), "--status", "singed"), "--status")
    ok = run(tmp_path, "sessions", "--db", str(real_record), "--limit", "1")
    assert ok.returncode == 0 and "PT-1" in ok.stdout


def test_unknown_verbs_and_options_are_one_line(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "sesions"), "invalid choice")
    assert_refused(run(tmp_path, "users", "add", "x", "--role", "pilot"), "--role")
    assert_refused(run(tmp_path, "users"), "required")


# ------------------------------------------------------------------------------------------- device verbs
def test_decode_with_the_simulator_invents_nothing(tmp_path: Path) -> None:
    capture = tmp_path / "random.bin"
    capture.write_bytes(os.urandom(4000))
    for fmt in ("table", "jsonl"):
        result = run(tmp_path, "decode", str(capture), "--protocol", "simulator", "--format", fmt)
        assert_refused(result, "no wire format")
        assert result.stdout == ""  # no heart rate of 72 or any other made-up value


def test_decode_says_when_random_bytes_are_not_the_protocol(tmp_path: Path) -> None:
    capture = tmp_path / "random.bin"
    capture.write_bytes(os.urandom(4000))
    result = run(tmp_path, "decode", str(capture), "--protocol", "intellivue", "--format", "jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert '"kind": "numeric"' not in result.stdout


@pytest.mark.parametrize("argv", [
    ("decode", "{missing}", "-p", "intellivue"),
    ("decode", "{folder}", "-p", "datex"),
    ("decode", "{missing}", "-p", "pilot"),
    ("replay", "{missing}", "-p", "intellivue", "--pty"),
    ("replay", "-p", "intellivue", "--pty"),
    ("replay", "{capture}", "-p", "simulator", "--pty"),
    ("replay", "{capture}", "-p", "intellivue", "--pty", "--speed", "nan"),
    ("replay", "{capture}", "-p", "intellivue", "--pty", "--rate", "-5"),
    ("replay", "-p", "intellivue", "--pty", "--session", "-3"),
    ("replay", "-p", "intellivue", "--pty", "--session", "3", "--db", "{missing}"),
    ("emulate", "-p", "simulator", "--pty"),
    ("emulate", "-p", "intellivue", "--pty", "--speed", "0"),
    ("emulate", "-p", "intellivue", "--pty", "--seconds", "inf"),
    ("emulate", "-p", "intellivue", "--pty", "--scenario", "bogus", "--seconds", "1"),
    ("emulate", "-p", "intellivue", "--listen", "not-a-url", "--seconds", "1"),
    ("emulate", "-p", "intellivue", "--pty", "--link", "{keep}", "--seconds", "1"),
    ("emulate", "-p", "intellivue", "--pty", "--link", "{folder}", "--seconds", "1"),
    ("replay", "{capture}", "-p", "intellivue", "--pty", "--link", "{keep}"),
    ("probe", "-p", "simulator", "--port", "socket://127.0.0.1:9"),
    ("probe", "-p", "intellivue", "--port", "x", "--baud", "-9600"),
    ("probe", "-p", "intellivue", "--port", "x", "--seconds", "-1"),
])
def test_device_verbs_refuse_bad_input_in_one_line(tmp_path: Path, argv: tuple[str, ...]) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"\x00" * 64)
    (tmp_path / "folder").mkdir()
    keep = tmp_path / "notes.txt"  # a file someone keeps: --link must never replace it with a symlink
    keep.write_text("do not lose me", encoding="utf-8")
    names = {"{missing}": str(tmp_path / "missing.bin"), "{folder}": str(tmp_path / "folder"),
             "{capture}": str(capture), "{keep}": str(keep)}
    before = tree(tmp_path)
    assert_refused(run(tmp_path, *[names.get(a, a) for a in argv]))
    assert tree(tmp_path) == before and keep.read_text(encoding="utf-8") == "do not lose me"

"""``chairside review`` as an auditor types it: straight to a session, read-only, and one line for bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.review.conftest import PASSWORD, ReviewRecord

ROOT = Path(__file__).resolve().parents[2]


def review(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "console.cli", "review", *args], check=False, input=stdin,
                          capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture
def record_copy(review_record: ReviewRecord, tmp_path: Path) -> Path:
    target = tmp_path / "copy.sqlite3"
    shutil.copy(review_record.path, target)
    for suffix in ("-wal", "-shm"):
        src = Path(str(review_record.path) + suffix)
        if src.exists():
            shutil.copy(src, Path(str(target) + suffix))
    return target


def test_an_auditor_opens_a_session_straight_from_the_command_line(record_copy: Path, tmp_path: Path) -> None:
    shot = tmp_path / "review.png"
    result = review("1", "--db", str(record_copy), "--user", "audrey", "--screenshot", str(shot),
                    "--quit-after", "2", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000 and "screenshot saved" in result.stdout


@pytest.mark.parametrize("args, words", [
    (("abc",), "SESSION must be a session number"),
    (("-3",), "SESSION must be a session number"),
    (("99999999999999999999999",), "SESSION must be a session number"),
    (("1", "--screenshot", "x.jpg"), "PNG"),
    (("1", "--quit-after", "0"), "positive"),
])
def test_bad_input_is_one_line_and_exit_2(record_copy: Path, args: tuple[str, ...], words: str) -> None:
    result = review(*args, "--db", str(record_copy), "--demo")
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_a_mistyped_database_path_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "record.sqlite3"
    result = review("1", "--db", str(missing), "--demo")
    assert result.returncode == 2 and "no database file" in result.stderr
    assert not missing.parent.exists()


def test_demo_is_refused_on_a_real_record(record_copy: Path) -> None:
    result = review("1", "--db", str(record_copy), "--demo")
    assert result.returncode == 2 and "holds real sessions" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_session_and_a_wrong_password_say_so(record_copy: Path) -> None:
    missing = review("999", "--db", str(record_copy), "--user", "audrey", stdin=PASSWORD + "\n")
    assert missing.returncode == 2 and "session 999" in missing.stderr and "Traceback" not in missing.stderr
    wrong = review("1", "--db", str(record_copy), "--user", "audrey", stdin="not the password\n")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr

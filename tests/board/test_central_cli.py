"""``chairside central`` from the command line: who may open it, what SQLite gets, the JSON scripts read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.board import AlarmStatus, ChairStatus, NumericStatus, Phase
from console.board.store import publish
from console.record import open_database
from devices import mdc

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery 9"


def central(*args: str, stdin: str = PASSWORD + "\n") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "console.cli", "central", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_sqlite_is_refused_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "record.sqlite3"
    result = central("--db", f"sqlite:///{db}", "--user", "x", "--format", "json", "--once")
    assert result.returncode == 2 and "shared PostgreSQL record" in result.stderr
    assert "Traceback" not in result.stderr and not db.exists()  # nothing created


@pytest.mark.parametrize("args, words", [
    (("--format", "json"), "add --once"),
    (("--once",), "--once goes with --format json"),
    (("--screenshot", "board.jpg"), "PNG"),
    (("--quit-after", "-1"), "positive"),
])
def test_bad_options_are_one_line(args: tuple[str, ...], words: str) -> None:
    result = central("--db", "postgresql+psycopg://nobody@127.0.0.1:1/x", *args)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.postgres
def test_json_once_prints_every_chair(pg_board_url: str) -> None:
    db = open_database(pg_board_url)
    try:
        admin = db.service(db.system_user("test"))
        admin.add_user("charge", "Charge Nurse", "clinician", PASSWORD)
        admin.add_user("audrey", "Audrey Auditor", "auditor", PASSWORD)
        publish(db.engine, ChairStatus(chair="3", phase=Phase.INFUSING, patient="PT-3",
                                       numerics={mdc.SPO2: NumericStatus(97.0, "%", 1.0)},
                                       alarms=(AlarmStatus("high", mdc.NIBP_SYS, "NBP sys 186 ≥ 180 mmHg"),),
                                       next_check="MOAA/S at 15 min"))
    finally:
        db.close()
    result = central("--db", pg_board_url, "--user", "charge", "--format", "json", "--once")
    assert result.returncode == 0, result.stderr
    board = json.loads(result.stdout)
    [chair] = board["chairs"]
    assert chair["chair"] == "3" and chair["online"] is True and chair["phase"] == "infusing"
    assert chair["patient"] == "PT-3" and chair["next_check"] == "MOAA/S at 15 min"
    assert chair["numerics"][str(mdc.SPO2)]["value"] == 97.0
    assert chair["alarms"][0]["priority"] == "high" and chair["alarms"][0]["mdc"] == mdc.NIBP_SYS
    denied = central("--db", pg_board_url, "--user", "audrey", "--format", "json", "--once")
    assert denied.returncode == 2 and "may open the board" in denied.stderr and denied.stdout == ""
    wrong = central("--db", pg_board_url, "--user", "charge", "--format", "json", "--once", stdin="nope\n")
    assert wrong.returncode == 2 and wrong.stdout == "" and "Traceback" not in wrong.stderr

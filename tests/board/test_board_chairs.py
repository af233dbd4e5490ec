"""Real chairs on a real shared record: headless chair processes publish to one board on PostgreSQL, a killed
chair goes offline by its heartbeat's age, a database restart is caught up, and publishing never holds up the
chair (its alarms and entries go on while the board's writes hang)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from console.board import OFFLINE_AFTER_S, BoardChair, board_snapshot
from console.board.chair_link import start_chair_publisher
from console.board.store import read_all
from console.runtime import ChairRuntime, ManualClock
from devices import mdc
from tests.runtime.conftest import bp, open_session, wait_for
from tests.runtime.test_headless_chair import _chair, _read_until

ROOT = Path(__file__).resolve().parents[2]


def _board(engine) -> dict[str, BoardChair]:
    now, stored = read_all(engine)
    return {c.chair: c for c in board_snapshot(now, stored)}


def _restart_postgres() -> None:
    """Stop the test cluster for a few seconds and start it again, as a server reboot would."""
    data = os.environ.get("CHAIRSIDE_TEST_PG_DATA")
    if not data:
        pytest.skip("CHAIRSIDE_TEST_PG_DATA is not set: .ci/start-postgres starts the cluster this test restarts")
    script = ROOT / ".ci" / "start-postgres"
    bin_dir = max(Path("/usr/lib/postgresql").glob("*/bin"))
    owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*owner, str(bin_dir / "pg_ctl"), "-D", f"{data}/data", "-m", "fast", "-w", "stop"],
                   check=True, capture_output=True)
    time.sleep(3.0)  # the chairs keep running meanwhile
    port = os.environ["CHAIRSIDE_TEST_PG_URL"].rsplit(":", 1)[1].split("/")[0]
    subprocess.run([*owner, str(bin_dir / "pg_ctl"), "-D", f"{data}/data", "-l", f"{data}/server.log", "-w",
                    "-t", "60", "-o", (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
                           "-c max_connections=200"), "start"], check=True, capture_output=True)
    assert script.exists()


#: chair name → (scenario, speed): a quiet chair, one whose BP climbs, and one that desaturates and recovers
CHAIRS = {"Chair 1": ("stable", "5"), "Chair 2": ("hypertensive", "5"), "Chair 3": ("desaturation", "20")}


def _spo2_alarm(engine, chair: str) -> bool:
    entry = _board(engine).get(chair)
    return entry is not None and any(a.mdc == mdc.SPO2 and a.priority == "high" for a in entry.alarms)


def _spo2(engine, chair: str) -> float | None:
    entry = _board(engine).get(chair)
    value = entry.numeric(mdc.SPO2) if entry is not None else None
    return value.value if value is not None else None


@pytest.mark.postgres
@pytest.mark.timeout(900)  # three chair processes, a desaturation, a crash and a server restart, end to end
def test_chairs_share_one_board_a_killed_chair_goes_offline_and_a_database_restart_is_caught_up(
        pg_board_url) -> None:
    chairs: dict[str, subprocess.Popen[str]] = {}
    engine = create_engine(pg_board_url, pool_pre_ping=True)
    try:
        for name, (scenario, speed) in CHAIRS.items():
            # one after the other: the first one creates the demo user the others reuse
            chairs[name] = _chair("--chair", name, "--db", pg_board_url, "--demo", "--scenario", scenario,
                                  "--speed", speed)
            _read_until(chairs[name], "publishing its status to the central board")
        assert wait_for(lambda: all(c in _board(engine) and _board(engine)[c].online for c in CHAIRS), 60)
        board = _board(engine)
        sessions = {}
        for name in CHAIRS:
            status = board[name].status
            assert status is not None and status.session_id is not None and status.demo
            assert status.devices and status.patient and status.patient.startswith("DEMO-")
            sessions[name] = status.session_id
        assert len(set(sessions.values())) == 3

        # Chair 3's desaturation (simulated minute 3) appears on the board as a high alarm; when the SpO2 is back
        # (minute 7) the board shows the recovered value, while the high alarm stays latched until someone
        # acknowledges it at the chair (IEC 60601-1-8: an unacknowledged high alarm does not vanish by itself)
        assert wait_for(lambda: _spo2_alarm(engine, "Chair 3"), 90)
        assert not _spo2_alarm(engine, "Chair 1")
        assert wait_for(lambda: (_spo2(engine, "Chair 3") or 0) >= 94, 120)
        assert _spo2_alarm(engine, "Chair 3")

        chairs["Chair 2"].send_signal(signal.SIGKILL)  # a crash: nothing says goodbye
        chairs["Chair 2"].wait(30)
        assert wait_for(lambda: not _board(engine)["Chair 2"].online, OFFLINE_AFTER_S + 30)
        board = _board(engine)
        assert board["Chair 1"].online and board["Chair 3"].online
        assert any(a.technical for a in board["Chair 2"].alarms)  # offline is itself an alarm on the board

        alive = ("Chair 1", "Chair 3")
        before = {name: read_seq(engine, name) for name in alive}
        rows_before = {name: _numeric_values(engine, sessions[name]) for name in alive}
        _restart_postgres()
        engine.dispose()
        # the chairs outlived the outage and publish again, without being restarted
        assert wait_for(lambda: all(read_seq(engine, n) > before[n] + 2 for n in alive), 90)
        assert all(chairs[n].poll() is None for n in alive)
        board = _board(engine)
        assert board["Chair 1"].online and board["Chair 3"].online and not board["Chair 2"].online
        # and they kept recording: more vitals than before the outage
        assert wait_for(lambda: all(_numeric_values(engine, sessions[n]) > rows_before[n] for n in alive), 90)
    finally:
        for proc in chairs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in chairs.values():
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        engine.dispose()
    assert all(chairs[n].returncode == 0 for n in ("Chair 1", "Chair 3"))
    from console.record import open_database

    db = open_database(pg_board_url)
    try:
        svc = db.service(db.system_user())
        for name in ("Chair 1", "Chair 3"):
            notes = [e.data["text"] for e in svc.entries(sessions[name]) if e.kind == "note"]
            assert not [n for n in notes if n.startswith("Vitals not recorded")], notes  # nothing was lost
            assert db.verify(sessions[name]).ok
    finally:
        db.close()


def _numeric_values(engine, session_id: int) -> int:
    """How many numeric values a session has in the record (both storage layouts)."""
    with engine.connect() as conn:
        blocks = conn.exec_driver_sql("SELECT coalesce(sum(n), 0) FROM vital_numeric_blocks WHERE session_id = "
                                      f"{int(session_id)}").scalar()
        rows = conn.exec_driver_sql(f"SELECT count(*) FROM vital_numerics WHERE session_id = {int(session_id)}"
                                    ).scalar()
    return int(blocks or 0) + int(rows or 0)


def read_seq(engine, chair: str) -> int:
    _, stored = read_all(engine)
    return next((s.seq for s in stored if s.chair == chair), -1)


@pytest.mark.postgres
def test_a_hanging_board_write_never_holds_up_the_chair(pg_board_url, tmp_path) -> None:
    """The board's table is locked by someone else for as long as the test lasts: the chair's alarm still
    fires, is shown and is written to the record, while the publisher waits on its own thread."""
    from console.record import open_database

    db = open_database(pg_board_url)
    clock = ManualClock(float(int(time.time())))
    runtime = ChairRuntime(db, chair="Chair 9", clock=clock, journal_path=tmp_path / "o.jsonl",
                           outbox_retry_interval=0.1)
    runtime.start(alarm_thread=False)
    publisher = None
    locker = create_engine(pg_board_url)
    conn = locker.connect()
    try:
        session, _user, svc = open_session(db, runtime)
        publisher = start_chair_publisher(db, runtime, interval_s=0.05)
        assert publisher is not None
        assert wait_for(lambda: publisher.published >= 1)
        trans = conn.begin()
        conn.exec_driver_sql("LOCK TABLE chair_status IN ACCESS EXCLUSIVE MODE")
        time.sleep(0.3)  # the publisher is now stuck in its write
        published = publisher.published
        runtime.ingest(bp(200, 120, clock.now()))
        runtime.tick()
        assert runtime.alarms.top() is not None
        assert wait_for(lambda: [e for e in svc.entries(session.id) if e.kind == "alarm"] != [], 30)
        assert publisher.published == published  # it really was stuck all along
        trans.rollback()
        assert wait_for(lambda: publisher.published > published, 30)
    finally:
        conn.close()
        locker.dispose()
        if publisher is not None:
            publisher.close()
        assert runtime.shutdown()
        db.close()


def test_a_sqlite_record_publishes_nothing(tmp_path) -> None:
    from console.record import open_database

    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        runtime = ChairRuntime(db, chair="solo", journal_path=tmp_path / "o.jsonl")
        assert start_chair_publisher(db, runtime) is None
    finally:
        db.close()



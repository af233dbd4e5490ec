"""Crash safety: a console killed with SIGKILL mid-session loses nothing it reported as saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import text

from console.record import open_database
from tests.conftest import PROJECT_ROOT
from tests.record.conftest import PASSWORD, make_user

pytestmark = pytest.mark.faults
ENTRIES_BEFORE_KILL = 40


def test_sigkill_mid_session_loses_no_committed_entry(db_url, backend):
    setup = open_database(db_url)
    make_user(setup, "carla", "clinician")
    setup.close()
    env = dict(os.environ, CHAIRSIDE_FAST_HASH="1", PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.record.crash_writer", db_url, "carla", PASSWORD],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    printed: list[str] = []
    session_id = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            word, value = line.split()
            if word == "session":
                session_id = int(value)
            else:
                printed.append(value)
            if len(printed) >= ENTRIES_BEFORE_KILL:
                break
        if len(printed) < ENTRIES_BEFORE_KILL:
            pytest.fail("the writer process stopped early: " + (proc.stderr.read() if proc.stderr else ""))
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: it is still adding entries and vitals
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    db = open_database(db_url)
    try:
        if backend == "sqlite":
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        svc = db.service(db.authenticate("carla", PASSWORD))
        stored = [e.id for e in svc.entries(session_id)]
        assert stored[:len(printed)] == printed  # every reported id is there, in order
        assert len(stored) - len(printed) <= 1  # at most the one committed while its id was being printed
        assert db.verify(session_id).ok
        [interrupted] = svc.interrupted_sessions()
        assert interrupted.id == session_id
        assert db.numerics(session_id).host_time.size > 0  # vitals up to the crash are there
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM vital_waves")).scalar() > 0
    finally:
        db.close()

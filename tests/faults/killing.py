"""SIGKILL trials: a recording console killed at seeded random moments, and what the record keeps.

:func:`run_kill_trials` is shared by ``test_kill.py`` (which asserts on it) and ``figures.py`` (which writes
the numbers to docs/faults.md). One trial: start :mod:`tests.faults.session_child` on the database, wait until
its session is open, let it record for a random 0.05-1.5 s, SIGKILL it, then open the database as the next
console would and check that

* every entry the child reported as written is in the session, in order, and every entry it reported as kept
  by the outbox is either written or still in the outbox journal (and is written once the session resumes);
* the hash chain verifies, SQLite's ``PRAGMA integrity_check`` says ``ok``;
* the session shows as interrupted and can be resumed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from console.record import EntryOutbox, open_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]
USERNAME = "kira"
PASSWORD = "correct horse 1"
#: how long a child may take to open its session (imports, schema check) before the trial counts as failed
STARTUP_TIMEOUT = 60.0


@dataclass(slots=True)
class TrialResult:
    """What one trial found."""

    session_id: int | None
    delay: float
    confirmed: int = 0  # entries the child reported as written
    kept: int = 0  # entries the child reported as kept by the outbox
    lost: int = 0  # reported (written or kept) but not in the record after recovery
    vitals_rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not self.problems and self.lost == 0


@dataclass(slots=True)
class KillFigures:
    """All trials of one run."""

    backend: str
    seed: int
    trials: list[TrialResult] = field(default_factory=list)

    @property
    def survived(self) -> int:
        return sum(t.survived for t in self.trials)

    @property
    def confirmed(self) -> int:
        return sum(t.confirmed + t.kept for t in self.trials)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.trials)

    @property
    def problems(self) -> list[str]:
        return [f"trial {i + 1}: {p}" for i, t in enumerate(self.trials) for p in t.problems]


def prepare(db_url: str) -> None:
    """Create the clinician the children log in as."""
    db = open_database(db_url)
    try:
        db.service(db.system_user("fault-tests")).add_user(USERNAME, "Kira Killtest", "clinician", PASSWORD)
    finally:
        db.close()


def _read_lines(stream, lines: list[str], ready: threading.Event) -> None:
    for line in stream:
        lines.append(line.strip())
        if line.startswith("session "):
            ready.set()
    ready.set()  # EOF: the child died before opening its session


def kill_one(db_url: str, seed: int, delay: float, busy_timeout_ms: int | None = None
             ) -> tuple[list[str], str, int]:
    """Run a child, kill it ``delay`` s after its session is open; (its stdout lines, stderr, return code)."""
    env = dict(os.environ, CHAIRSIDE_FAST_HASH="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-m", "tests.faults.session_child", db_url, USERNAME, PASSWORD,
                             str(seed)] + ([str(busy_timeout_ms)] if busy_timeout_ms is not None else []),
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines, ready), daemon=True)
    reader.start()
    try:
        ready.wait(STARTUP_TIMEOUT)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(10.0)
        stderr = proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return lines, stderr, proc.returncode


def check(db_url: str, lines: list[str], result: TrialResult) -> None:
    """Open the record as the next console would and compare it with what the child reported."""
    words = [line.split(maxsplit=1) for line in lines if line]
    written = [value for word, value in words if word == "entry"]
    kept = [value for word, value in words if word == "pending"]
    result.confirmed, result.kept = len(written), len(kept)
    sid = result.session_id
    assert sid is not None
    db = open_database(db_url)
    try:
        if db_url.startswith("sqlite"):
            with db.engine.connect() as conn:
                integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            if integrity != "ok":
                result.problems.append(f"PRAGMA integrity_check: {integrity}")
        svc = db.service(db.authenticate(USERNAME, PASSWORD))
        verified = db.verify(sid)
        if not verified.ok:
            result.problems.append(f"verify: {verified.summary()}")
        if sid not in {s.id for s in svc.interrupted_sessions()}:
            result.problems.append(f"session {sid} does not show as interrupted")
        stored = [e.id for e in svc.entries(sid)]
        missing_written = [i for i in written if i not in stored]
        if [i for i in stored if i in set(written)] != written:
            result.problems.append("the written entries are not in the order they were reported")
        # the outbox journal is replayed by the next console; entries it kept are written once resumed
        svc.resume_session(sid)
        outbox = EntryOutbox(svc)
        outbox.flush()
        client_ids = {e.client_id for e in svc.entries(sid)}
        missing_kept = [c for c in kept if c not in client_ids]
        result.lost = len(missing_written) + len(missing_kept)
        if result.lost:
            result.problems.append(f"{len(missing_written)} written and {len(missing_kept)} kept entries "
                                   "lost")
        if not db.verify(sid).ok:
            result.problems.append("verify fails after resuming")
        result.vitals_rows = len(db.numerics(sid))  # the one vitals reader: blocks and older per-value rows
    finally:
        db.close()


def run_kill_trials(db_url: str, trials: int = 20, seed: int = 20261125, backend: str = "sqlite",
                    progress=None) -> KillFigures:
    """Run ``trials`` kill trials on one database (prepared here); the delays follow ``seed``."""
    rng = random.Random(seed)
    prepare(db_url)
    figures = KillFigures(backend, seed)
    for n in range(trials):
        delay = rng.uniform(0.05, 1.5)
        # every other SQLite trial: another program takes the lock now and then and the console waits only
        # 20 ms for it, so some entries go through the outbox journal (see session_child)
        busy = 20 if db_url.startswith("sqlite") and n % 2 else None
        lines, stderr, code = kill_one(db_url, seed + n, delay, busy)
        sid = next((int(line.split()[1]) for line in lines if line.startswith("session ")), None)
        result = TrialResult(sid, delay)
        if code != -signal.SIGKILL:
            result.problems.append(f"the child ended with {code} before the kill: {stderr.strip()[-300:]}")
        elif sid is None:
            result.problems.append(f"the child never opened its session: {stderr.strip()[-300:]}")
        else:
            check(db_url, lines, result)
        figures.trials.append(result)
        if progress is not None:
            progress(n + 1, result)
    return figures

"""Child process of the kill trials: records a session the way the console does, until it is killed.

Usage: ``python -m tests.faults.session_child DB_URL USERNAME PASSWORD SEED [BUSY_TIMEOUT_MS]``

Prints ``session <id>`` once the session is open, then, for every clinical entry, ``entry <id>`` once
:meth:`EntryOutbox.add_entry` returned it as written, or ``pending <client id>`` once the outbox kept it (the
database was busy): either is the moment the UI tells the clinician the entry is safe. Meanwhile a
:class:`VitalsRecorder` stores the simulator's numerics and waves, as the station's recorder does. The entry
kinds, their data and the pauses between them follow ``SEED``; it never stops by itself. With
``BUSY_TIMEOUT_MS`` (SQLite) the console gives up on a lock after that long, and a thread standing in for
another program (a backup tool, a second reader gone wrong) takes the database's exclusive lock for a few tens
of milliseconds every ~0.1 s: entries written meanwhile are kept by the outbox, so its journal has to carry
them through the kill.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import threading
import time

from console.record import EntryOutbox, EntryRecord, open_database
from console.record.engine import sqlite_path
from devices.simulator import Simulator
from tests.payloads import valid

#: the kinds the child cycles through: what a clinician records during a treatment (valid payloads)
ENTRIES: tuple[str, ...] = ("precheck", "infusion_start", "observation", "side_effect", "alarm", "intervention",
                            "note", "infusion_rate")


def hold_locks_now_and_then(path: str, rng: random.Random) -> None:
    """Another program taking the exclusive lock briefly, over and over (runs until the process dies)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    while True:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(rng.uniform(0.02, 0.06))
        conn.execute("ROLLBACK")
        time.sleep(rng.uniform(0.05, 0.15))


def main() -> None:
    url, username, password, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    busy_timeout_ms = int(sys.argv[5]) if len(sys.argv) > 5 else None
    rng = random.Random(seed)
    db = (open_database(url) if busy_timeout_ms is None
          else open_database(url, busy_timeout_ms=busy_timeout_ms))
    svc = db.service(db.authenticate(username, password))
    patient = svc.create_patient(f"KILL-{seed}-{time.time_ns()}")
    session = svc.start_session(patient.id, "iv-ketamine-0.5", "1", "chair 1", devices=["simulator"])
    outbox = EntryOutbox(svc)
    recorder = db.vitals_recorder(session.id, flush_interval=0.01)
    simulator = Simulator("stable", seed=seed % 1000, start=time.time())
    path = sqlite_path(url)
    if busy_timeout_ms is not None and path is not None:
        threading.Thread(target=hold_locks_now_and_then, args=(str(path), random.Random(seed + 1)),
                         daemon=True).start()
    print(f"session {session.id}", flush=True)
    i = 0
    while True:
        recorder.submit(simulator.advance_sim(0.25))
        kind = ENTRIES[rng.randrange(len(ENTRIES))]
        data = valid(kind)
        if kind == "note":
            data["text"] += f" (note {i})"
        result = outbox.add_entry(session.id, kind, data)
        if isinstance(result, EntryRecord):
            print(f"entry {result.id}", flush=True)
        else:
            print(f"pending {result.client_id}", flush=True)
        i += 1
        time.sleep(rng.uniform(0.0, 0.02))


if __name__ == "__main__":
    main()

"""Child process of the kill trials: records a session the way the console does, until it is killed.

Usage: ``python -m tests.faults.session_child DB_URL USERNAME PASSWORD SEED``

Prints ``session <id>`` once the session is open, then, for every clinical entry, ``entry <id>`` once
:meth:`EntryOutbox.add_entry` returned it as written, or ``pending <client id>`` once the outbox kept it (the
database was busy): either is the moment the UI tells the clinician the entry is safe. Meanwhile a
:class:`VitalsRecorder` stores the simulator's numerics and waves, as the station's recorder does. The entry
kinds, their data and the pauses between them follow ``SEED``; it never stops by itself.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from console.record import EntryOutbox, EntryRecord, open_database
from devices.simulator import Simulator

#: (kind, data) the child cycles through: what a clinician records during a treatment
ENTRIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("precheck", {"checklist": {"consent": True, "fasting": True}, "baseline_vitals": {}}),
    ("infusion_start", {"drug": "ketamine", "rate_mg_per_kg_h": 0.5}),
    ("observation", {"scale": "MOAA/S", "score": 4}),
    ("side_effect", {"effect": "nausea", "severity": "mild"}),
    ("alarm", {"event": "start", "parameter": "SpO2", "value": 89}),
    ("intervention", {"action": "chin lift"}),
    ("note", {"text": "patient calm"}),
    ("infusion_rate", {"rate_mg_per_kg_h": 0.4}),
)


def main() -> None:
    url, username, password, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    db = open_database(url)
    svc = db.service(db.authenticate(username, password))
    patient = svc.create_patient(f"KILL-{seed}-{time.time_ns()}")
    session = svc.start_session(patient.id, "iv-ketamine-0.5", "1", "chair 1", devices=["simulator"])
    outbox = EntryOutbox(svc)
    recorder = db.vitals_recorder(session.id, flush_interval=0.05)
    simulator = Simulator("stable", seed=seed % 1000, start=time.time())
    print(f"session {session.id}", flush=True)
    i = 0
    while True:
        recorder.submit(simulator.advance_sim(0.25))
        kind, data = ENTRIES[rng.randrange(len(ENTRIES))]
        result = outbox.add_entry(session.id, kind, dict(data, n=i))
        if isinstance(result, EntryRecord):
            print(f"entry {result.id}", flush=True)
        else:
            print(f"pending {result.client_id}", flush=True)
        i += 1
        time.sleep(rng.uniform(0.0, 0.02))


if __name__ == "__main__":
    main()

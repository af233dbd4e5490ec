"""Helper process for test_crash.py: records a session until it is killed.

Usage: python -m tests.record.crash_writer DB_URL USERNAME PASSWORD
Prints ``session <id>`` and then ``entry <id>`` after each entry is committed (flushing stdout), while a
vitals recorder writes numerics and waves in the background. It never stops by itself.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from console.record import open_database
from devices import mdc
from devices.model import Numeric, WaveBlock


def main() -> None:
    url, username, password = sys.argv[1:4]
    db = open_database(url)
    svc = db.service(db.authenticate(username, password))
    patient = svc.create_patient("CRASH-1")
    session = svc.start_session(patient.id, "iv", "1", "chair 1")
    print(f"session {session.id}", flush=True)
    rec = db.vitals_recorder(session.id, flush_interval=0.05)
    i = 0
    t = time.time()
    while True:
        rec.submit([Numeric(mdc.HEART_RATE, "HR", 70.0 + i % 5, "/min", host_time=t + i),
                    WaveBlock(mdc.ECG_II, "ECG II", t + i, 500.0, np.sin(np.arange(500) / 20.0), "mV")])
        e = svc.add_entry(session.id, "note", {"text": f"note {i}"})
        print(f"entry {e.id}", flush=True)
        i += 1
        if i % 10 == 0:
            rec.flush()  # so some vitals are certainly on disk before the kill


if __name__ == "__main__":
    main()

"""Fixtures for the Qt-free chair runtime: a SQLite record, a demo clinician and a runtime on a manual clock."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from console.record import open_database
from console.runtime import ChairRuntime, ManualClock
from devices import mdc
from devices.model import Numeric, Sample, State


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "record.db"


@pytest.fixture
def db(db_path):
    database = open_database(f"sqlite:///{db_path}", busy_timeout_ms=100)
    yield database
    database.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(float(int(time.time())))


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def runtime(db, clock, lines, tmp_path) -> Iterator[ChairRuntime]:
    rt = ChairRuntime(db, chair="7", clock=clock, on_change=lines.append, journal_path=tmp_path / "outbox.jsonl",
                      outbox_retry_interval=0.1)
    rt.start(alarm_thread=False)  # the tests tick by hand, so every evaluation is deterministic
    yield rt
    assert rt.shutdown(), "a runtime thread did not stop"


def open_session(db, runtime: ChairRuntime):
    """A demo clinician starts a session at the chair; the runtime records into it."""
    user = db.demo_login()
    svc = db.service(user)
    patient = svc.create_patient("P-001", weight_kg=70)
    session = svc.start_session(patient.id, "iv-ketamine-0.5", "1", runtime.chair, devices=["Simulator"])
    runtime.open_session(session.id, user)
    assert runtime.drain()
    return session, user, svc


def bp(sys_: float, dia: float, t: float) -> list[Sample]:
    return [Numeric(mdc.NIBP_SYS, "NBP sys", sys_, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_DIA, "NBP dia", dia, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_MEAN, "NBP mean", (sys_ + 2 * dia) / 3, "mm[Hg]", State.NONE, t, t)]


def wait_for(predicate, timeout: float = 30.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds (a liveness bound for a noisy machine, not a speed target)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())

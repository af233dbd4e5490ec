"""Fixtures of the review tests: one record database with three sessions whose contents are known.

* ``A``: a 50-minute simulated ``hypertensive`` session with waves (patient P-1, chair "Chair 1"), signed; it
  has a grade-2 side effect, an amended note and (the BP reaches 180) an alarm entry;
* ``B``: a 25-minute simulated session without waves, a week later (P-1), never signed (interrupted);
* ``C``: written entry by entry two weeks later (P-2, chair "Chair 2"), with known scores and BPs, a grade-3
  side effect, an amended CADSS total, a late note and missed BP checks; never signed (interrupted).

The database is built once per test session; tests that change it work on a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.clinical import entries as build
from console.clinical.protocols import ProtocolLibrary
from console.clinical.scales import ScaleLibrary
from console.clinical.vitals import vitals_snapshot
from console.record import Database, UserContext, open_database
from console.record.simulation import SimClock
from devices import mdc
from devices.model import State
from tests.review.sample import SampleSession, build_sample_session

PASSWORD = "correct horse 1"
DAY = 86400.0
T_A = 1_700_000_000.0
T_B = T_A + 7 * DAY
T_C = T_A + 14 * DAY


@dataclass
class KnownC:
    """Ids and times of session C's entries."""

    session_id: int
    patient_id: int
    t0: float
    ids: dict[str, str]


@dataclass
class ReviewRecord:
    path: Path
    a: SampleSession
    b: SampleSession
    c: KnownC

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


def _snap(sys: float, dia: float, at: float) -> dict:
    return vitals_snapshot({mdc.NIBP_SYS: (sys, State.NONE, at), mdc.NIBP_DIA: (dia, State.NONE, at)})


def _build_c(url: str) -> KnownC:
    t0 = T_C
    clock = SimClock(t0)
    db = open_database(url, clock=clock)
    try:
        svc = db.service(db.simulation_login())
        scales = ScaleLibrary.builtin()
        protocol = ProtocolLibrary.builtin().get("iv-ketamine-0.5")
        patient = svc.create_patient("P-2", weight_kg=60.0)
        sid = svc.start_session(patient.id, protocol.id, protocol.effective_version, "Chair 2").id
        ids: dict[str, str] = {}

        def at(offset: float) -> None:
            clock.t = t0 + offset

        moaas, cadss = scales.get("moaas"), scales.get("cadss6")
        cadss_items = [it.id for it in cadss.items]

        def cadss_answers(total: int) -> dict[str, int]:
            out, left = {}, total
            for iid in cadss_items:
                out[iid] = min(4, left)
                left -= out[iid]
            return out

        at(60)
        ids["precheck"] = svc.add_entry(
            sid,
            "precheck",
            build.precheck_data(
                identity_confirmed=True,
                consent_on_file=True,
                fasting=True,
                escort_arranged=True,
                baseline_vitals=_snap(130, 80, t0 + 50),
            ),
        ).id
        at(120)
        svc.add_entry(
            sid,
            "questionnaire",
            build.questionnaire_data(
                scales.get("phq9"), {str(i): (3 if i <= 6 else 2 if i <= 7 else 0) for i in range(1, 10)}
            ),
        )
        svc.add_entry(
            sid,
            "questionnaire",
            build.questionnaire_data(scales.get("gad7"), {str(i): (3 if i <= 5 else 0) for i in range(1, 8)}),
        )
        at(180)
        svc.add_entry(
            sid, "observation", build.observation_data(moaas, {"score": 5}, vitals=_snap(132, 82, t0 + 170))
        )
        svc.add_entry(
            sid,
            "observation",
            build.observation_data(cadss, cadss_answers(3), vitals=_snap(132, 82, t0 + 170)),
        )
        at(300)
        ids["infusion_start"] = svc.add_entry(
            sid, "infusion_start", build.infusion_start_data(protocol.plan(60.0), route="IV")
        ).id
        at(2700)
        ids["moaas40"] = svc.add_entry(
            sid, "observation", build.observation_data(moaas, {"score": 3}, vitals=_snap(165, 95, t0 + 2690))
        ).id
        ids["cadss40"] = svc.add_entry(
            sid,
            "observation",
            build.observation_data(
                cadss, cadss_answers(10), vitals=_snap(165, 95, t0 + 2690), baseline_total=3
            ),
        ).id
        at(2760)
        ids["side_effect"] = svc.add_entry(
            sid,
            "side_effect",
            build.side_effect_data("vomiting", onset=t0 + 2750, grade=3, outcome="resolved"),
        ).id
        at(3000)
        ids["infusion_stop"] = svc.add_entry(
            sid, "infusion_stop", build.infusion_stop_data(completed=True, dose_given_mg=30.0)
        ).id
        at(3060)
        svc.add_entry(
            sid, "observation", build.observation_data(moaas, {"score": 4}, vitals=_snap(150, 100, t0 + 3050))
        )
        svc.add_entry(
            sid,
            "observation",
            build.observation_data(
                cadss, cadss_answers(7), vitals=_snap(150, 100, t0 + 3050), baseline_total=3
            ),
        )
        at(3200)
        ids["amendment"] = svc.amend(
            sid,
            ids["cadss40"],
            "miscounted item 6",
            build.observation_data(
                cadss, cadss_answers(14), vitals=_snap(165, 95, t0 + 2690), baseline_total=3
            ),
        ).id
        at(3800)
        ids["late_note"] = svc.add_entry(
            sid, "note", build.note_data("IV site checked, no swelling"), at=t0 + 3000
        ).id
        return KnownC(sid, patient.id, t0, ids)
    finally:
        db.close()




@pytest.fixture(scope="session")
def review_record(tmp_path_factory: pytest.TempPathFactory, _fast_hashing: None) -> ReviewRecord:
    path = tmp_path_factory.mktemp("review") / "record.sqlite3"
    url = f"sqlite:///{path}"
    a = build_sample_session(
        url,
        minutes=50,
        scenario="hypertensive",
        seed=3,
        start=T_A,
        patient_code="P-1",
        chair="Chair 1",
        waves=True,
        sign=True,
        phq9=14,
        gad7=11,
        side_effect_grade=2,
    )
    b = build_sample_session(
        url,
        minutes=25,
        scenario="stable",
        seed=4,
        start=T_B,
        patient_code="P-1",
        chair="Chair 1",
        waves=False,
        sign=False,
        phq9=9,
        gad7=6,
        side_effect_grade=1,
    )
    c = _build_c(url)
    db = open_database(url)
    try:
        db.service(db.system_user()).add_user("audrey", "Audrey Auditor", "auditor", PASSWORD)
    finally:
        db.close()
    return ReviewRecord(path, a, b, c)


@pytest.fixture
def db(review_record: ReviewRecord) -> Iterator[Database]:
    """The shared review database, opened for one test."""
    d = open_database(review_record.url)
    yield d
    d.close()


@pytest.fixture
def auditor(db: Database) -> UserContext:
    return db.authenticate("audrey", PASSWORD)


@pytest.fixture
def db_copy(review_record: ReviewRecord, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the review database (for tampering)."""
    target = tmp_path / "copy.sqlite3"
    shutil.copy(review_record.path, target)
    for suffix in ("-wal", "-shm"):
        src = Path(str(review_record.path) + suffix)
        if src.exists():
            shutil.copy(src, Path(str(target) + suffix))
    d = open_database(f"sqlite:///{target}")
    yield d
    d.close()


def tamper(db: Database, sql: str, **params: object) -> None:
    """Change stored rows behind the application's back, as someone with file access could: drop the
    append-only triggers (when the schema has them), then run raw SQL."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS entries_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS entries_no_delete")
        conn.execute(text(sql), params)

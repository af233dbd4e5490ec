"""Realistic simulated sessions with known entries for the review tests (no Qt).

:func:`build_sample_session` records one whole IV-ketamine session into a record database the way the console
would: the physiological simulator's numerics and waves through a :class:`~console.record.VitalsRecorder`, and
a clinician's entries (pre-check, questionnaires, observations with scores, infusion start/stop, a side
effect, an amendment, discharge and the signature) at the moments they describe. The database is opened with a
simulated clock, so only the demo ``simulation`` clinician writes and every session is flagged DEMO.

This is the review tests' own fixture builder, with entries tests can point at;
``chairside simulate-session`` (:mod:`console.record.simulation`) records sessions for users and the
benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.clinical import entries as build
from console.clinical.protocols import ProtocolLibrary
from console.clinical.scales import ScaleLibrary
from console.record import DEMO_PASSWORD, open_database
from console.record.simulation import SimClock
from devices import mdc
from devices.model import Numeric, State
from devices.simulator.core import Simulator

#: when, in minutes after the session start, the sample session's infusion starts and how long it runs
INFUSION_AT_MIN = 5.0
INFUSION_MIN = 40.0


@dataclass
class SampleSession:
    """What :func:`build_sample_session` made: ids and the entry ids worth pointing at in tests."""

    session_id: int
    patient_id: int
    start: float
    end: float
    entry_ids: dict[str, str] = field(default_factory=dict)


def _latest(samples: list[Any], latest: dict[int, tuple[Any, Any, float]]) -> None:
    for s in samples:
        if isinstance(s, Numeric) and not (s.state & State.MEASURING):
            latest[int(s.mdc)] = (s.value, s.state, s.host_time)


def build_sample_session(
    url: str,
    *,
    minutes: float = 60.0,
    scenario: str = "hypertensive",
    seed: int = 1,
    start: float = 1_700_000_000.0,
    patient_code: str = "DEMO-001",
    chair: str = "Chair 1",
    waves: bool = True,
    sign: bool = True,
    phq9: int = 14,
    gad7: int = 11,
    side_effect_grade: int = 2,
) -> SampleSession:
    """Record one simulated session of ``minutes`` into the database at ``url`` and close it.

    The infusion starts at 5 min and runs 40 min; observations (MOAA/S, CADSS-6) at baseline, 40 min, the end
    of the infusion and before discharge; NIBP every 5 min from the simulator. ``phq9``/``gad7`` are the
    pre-session totals; the patient is created on first use.
    """
    clock = SimClock(start)
    db = open_database(url, clock=clock)
    try:
        return _record(
            db,
            clock,
            minutes=minutes,
            scenario=scenario,
            seed=seed,
            start=start,
            patient_code=patient_code,
            chair=chair,
            waves=waves,
            sign=sign,
            phq9=phq9,
            gad7=gad7,
            side_effect_grade=side_effect_grade,
        )
    finally:
        db.close()


def _answers(total: int, n_items: int, item_ids: list[str], top: int) -> dict[str, int]:
    """Item answers adding up to ``total`` (filled from the first item, ``top`` at most each)."""
    out: dict[str, int] = {}
    left = total
    for i, iid in enumerate(item_ids):
        v = min(top, left) if i < n_items else 0
        out[iid] = v
        left -= v
    return out


def _record(
    db: Any,
    clock: SimClock,
    *,
    minutes: float,
    scenario: str,
    seed: int,
    start: float,
    patient_code: str,
    chair: str,
    waves: bool,
    sign: bool,
    phq9: int,
    gad7: int,
    side_effect_grade: int,
) -> SampleSession:
    user = db.simulation_login()
    svc = db.service(user)
    protocol = ProtocolLibrary.builtin().get("iv-ketamine-0.5")
    scales = ScaleLibrary.builtin()
    patient = svc.find_patient(patient_code) or svc.create_patient(patient_code, weight_kg=70.0)
    info = svc.start_session(
        patient.id,
        protocol.id,
        protocol.effective_version,
        chair,
        devices=[{"protocol": "simulator", "scenario": scenario}],
        details={"weight_kg": 70.0, "simulated": True},
    )
    sid = info.id
    sim = Simulator(
        scenario,
        seed=seed,
        start=start,
        waves=waves,
        auto_infusion_at=INFUSION_AT_MIN * 60,
        auto_infusion_min=INFUSION_MIN,
        mark_demo=True,
        nibp_interval=300.0,
        nibp_first_at=30.0,
    )
    rec = db.vitals_recorder(sid)
    latest: dict[int, tuple[Any, Any, float]] = {}
    made = SampleSession(sid, patient.id, start, start + minutes * 60.0)
    moaas, cadss = scales.get("moaas"), scales.get("cadss6")
    cadss_ids = [it.id for it in cadss.items]

    def obs(point: str, moaas_score: int, cadss_total: int, base: int | None) -> None:
        snap = dict(latest)
        svc.add_entry(
            sid,
            "observation",
            build.observation_data(moaas, {"score": moaas_score}, vitals=snap, point=point),
        )
        svc.add_entry(
            sid,
            "observation",
            build.observation_data(
                cadss, _answers(cadss_total, 6, cadss_ids, 4), vitals=snap, baseline_total=base, point=point
            ),
        )

    inf_start = INFUSION_AT_MIN * 60.0
    inf_end = inf_start + INFUSION_MIN * 60.0
    total = minutes * 60.0
    script: list[tuple[float, str]] = [
        (60.0, "precheck"),
        (90.0, "questionnaires"),
        (120.0, "baseline_obs"),
        (inf_start, "infusion_start"),
        (inf_start + 20 * 60, "side_effect"),
        (inf_start + 25 * 60, "note"),
        (inf_start + 40 * 60 - 30, "obs40"),
        (inf_end, "infusion_stop"),
        (inf_end + 60, "obs_end"),
        (inf_end + 120, "amend_note"),
        (total - 240, "obs_discharge"),
        (total - 120, "discharge"),
        (total - 60, "sign"),
    ]
    script = [(t, what) for t, what in script if t < total]
    alarm_done = False
    t = 0.0
    for at, what in script + [(total, "end")]:
        while t < at:
            step = min(30.0, at - t)
            samples = sim.advance_sim(step)
            t += step
            _latest(samples, latest)
            rec.submit(samples)
            sbp = latest.get(mdc.NIBP_SYS)
            if not alarm_done and sbp and sbp[0] is not None and sbp[0] >= 180:
                alarm_done = True
                clock.t = start + t
                svc.add_entry(
                    sid,
                    "alarm",
                    {
                        "event": "start",
                        "time": start + t,
                        "priority": "high",
                        "message": f"NBP sys {sbp[0]:g} >= 180 mmHg",
                        "key": "nibp_sys_high",
                        "value": float(sbp[0]),
                    },
                )
        clock.t = start + at
        if what == "precheck":
            made.entry_ids[what] = svc.add_entry(
                sid,
                "precheck",
                build.precheck_data(
                    identity_confirmed=True,
                    consent_on_file=True,
                    fasting=True,
                    escort_arranged=True,
                    weight_kg=70.0,
                    baseline_vitals=dict(latest),
                ),
            ).id
        elif what == "questionnaires":
            svc.add_entry(
                sid,
                "questionnaire",
                build.questionnaire_data(
                    scales.get("phq9"), _answers(phq9, 8, [str(i) for i in range(1, 10)], 3)
                ),
            )
            svc.add_entry(
                sid,
                "questionnaire",
                build.questionnaire_data(
                    scales.get("gad7"), _answers(gad7, 7, [str(i) for i in range(1, 8)], 3)
                ),
            )
        elif what == "baseline_obs":
            obs("baseline", 5, 0, None)
        elif what == "infusion_start":
            plan = protocol.plan(70.0)
            made.entry_ids[what] = svc.add_entry(
                sid, "infusion_start", build.infusion_start_data(plan, route="IV")
            ).id
        elif what == "side_effect":
            made.entry_ids[what] = svc.add_entry(
                sid,
                "side_effect",
                build.side_effect_data(
                    "nausea",
                    onset=start + at - 60,
                    grade=side_effect_grade,
                    outcome="improving",
                    intervention={
                        "type": "drug",
                        "drug": "ondansetron",
                        "dose": "4 mg",
                        "route": "IV",
                        "time": start + at,
                    },
                ),
            ).id
        elif what == "note":
            made.entry_ids[what] = svc.add_entry(sid, "note", build.note_data("Patient calm, eyes closed")).id
        elif what == "obs40":
            obs("40", 4, 12, 0)
        elif what == "infusion_stop":
            made.entry_ids[what] = svc.add_entry(
                sid, "infusion_stop", build.infusion_stop_data(completed=True, dose_given_mg=35.0)
            ).id
        elif what == "obs_end":
            obs("end", 4, 8, 0)
        elif what == "amend_note" and "note" in made.entry_ids:
            made.entry_ids[what] = svc.amend(
                sid, made.entry_ids["note"], "wrong patient state written", {"text": "Patient calm, talking"}
            ).id
        elif what == "obs_discharge":
            obs("discharge", 5, 0, 0)
        elif what == "discharge":
            from console.clinical.discharge import CRITERION_KEYS, CriterionResult

            results = [CriterionResult(k, k.replace("_", " "), True, "") for k in CRITERION_KEYS]
            made.entry_ids[what] = svc.add_entry(
                sid,
                "discharge",
                build.discharge_data(
                    results,
                    ready_minutes=max(0.0, minutes - INFUSION_AT_MIN - INFUSION_MIN),
                    vitals=dict(latest),
                ),
            ).id
        elif what == "sign" and sign:
            made.entry_ids[what] = svc.sign(sid, DEMO_PASSWORD, "authored").id
    rec.close()
    return made

"""Builds a realistic saved session through the public record API (service + vitals recorder + simulator).

``chairside simulate-session`` was not available when these tests were written, so this builds the same kind
of session itself: a simulated patient's numerics and waves recorded by the real :class:`VitalsRecorder`, and
the clinical entries of a whole treatment (pre-checks, questionnaires, dosing, observations, a side effect
that is later amended, alarms, discharge and a signature) written through :class:`SessionService`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical.discharge import evaluate
from console.clinical.entries import (
    discharge_data,
    esketamine_dose_data,
    infusion_start_data,
    infusion_stop_data,
    note_data,
    observation_data,
    precheck_data,
    questionnaire_data,
    side_effect_data,
)
from console.record import Database, UserContext
from devices import mdc
from devices.simulator.core import Simulator

PASSWORD = "correct horse 1"


@dataclass
class Built:
    session_id: int
    t0: float  # simulated time 0 (POSIX seconds)
    seconds: float
    user: UserContext
    side_effect_id: str


def clinician(db: Database, username: str = "jsmith", full_name: str = "Dr Jane Smith") -> UserContext:
    db.service(db.system_user("test-setup")).add_user(username, full_name, "clinician", PASSWORD)
    return db.authenticate(username, PASSWORD)


def _vitals(hr: float, sbp: float, dbp: float, spo2: float, at: float) -> dict[int, tuple[float, int, float]]:
    return {
        mdc.HEART_RATE: (hr, 0, at),
        mdc.NIBP_SYS: (sbp, 0, at),
        mdc.NIBP_DIA: (dbp, 0, at),
        mdc.SPO2: (spo2, 0, at),
    }


def build_session(
    db: Database,
    *,
    minutes: float = 6.0,
    demo: bool = False,
    esketamine: bool = False,
    waves: bool = True,
    seed: int = 3,
    sign: bool = True,
) -> Built:
    """Record a session of ``minutes`` simulated minutes that ended a moment ago."""
    user = db.demo_login() if demo else clinician(db)
    svc = db.service(user)
    protocols = ProtocolLibrary.builtin()
    scales = ScaleLibrary.builtin()
    protocol = protocols.get("esketamine-56" if esketamine else "iv-ketamine-0.5")
    code = "DEMO-1" if demo else "P-0042"
    import datetime as _dt

    patient = svc.create_patient(
        code, name="Ada Example", birth_date=_dt.date(1980, 5, 17), sex="female", weight_kg=70.0
    )
    plan = protocol.plan(None if esketamine else 70.0)
    sid = svc.start_session(
        patient.id,
        protocol.id,
        protocol.effective_version,
        "Chair 2",
        devices=[{"name": "sim", "protocol": "simulator"}],
        details={
            "protocol_tag": protocol.version_tag,
            "protocol": protocol.to_dict(),
            "dose_plan": plan.as_dict(),
            "weight_kg": 70.0,
            "age_years": 46,
        },
    ).id
    seconds = minutes * 60.0
    t0 = time.time() - seconds - 5.0
    sim = Simulator(
        "stable",
        seed=seed,
        start=t0,
        waves=waves,
        auto_infusion_at=60.0,
        auto_infusion_min=max(1.0, minutes / 2),
        nibp_interval=60.0,
        nibp_first_at=20.0,
        mark_demo=demo,
    )
    rec = db.vitals_recorder(sid)
    try:
        step = 30.0
        done = 0.0
        while done < seconds:
            rec.submit(sim.advance_sim(min(step, seconds - done)))
            done += step
    finally:
        rec.close()

    base_at = t0 + 10
    svc.add_entry(
        sid,
        "precheck",
        precheck_data(
            identity_confirmed=True,
            consent_on_file=True,
            fasting=True,
            escort_arranged=True,
            weight_kg=70.0,
            concomitant={
                "benzodiazepines": False,
                "sedative_hypnotics": False,
                "psychostimulants": False,
                "maois": False,
                "opioids": False,
            },
            iv_site="left antecubital",
            baseline_vitals=_vitals(72, 124, 78, 98, base_at),
        ),
        at=base_at,
    )
    svc.add_entry(
        sid,
        "questionnaire",
        questionnaire_data(scales.get("phq9"), {str(i): 1 for i in range(1, 10)} | {"9": 0}),
        at=t0 + 15,
    )
    svc.add_entry(
        sid,
        "questionnaire",
        questionnaire_data(scales.get("gad7"), {str(i): 2 for i in range(1, 8)}),
        at=t0 + 20,
    )
    moaas = scales.get("moaas")
    svc.add_entry(sid, "observation", observation_data(moaas, {"score": 5}, point="baseline"), at=t0 + 25)
    if esketamine:
        for n in (1, 2):
            svc.add_entry(
                sid,
                "esketamine_dose",
                esketamine_dose_data(n, devices_planned=2, lot="LOT-A1"),
                at=t0 + 60 + (n - 1) * 60,
            )
    else:
        svc.add_entry(sid, "infusion_start", infusion_start_data(plan, route="IV"), at=t0 + 60)
    svc.add_entry(
        sid,
        "observation",
        observation_data(
            scales.get("cadss6"),
            {"1": 2, "2": 1, "6": 1, "7": 0, "15": 1, "22": 0},
            baseline_total=0,
            vitals=_vitals(80, 134, 86, 97, t0 + 150),
        ),
        at=t0 + 150,
    )
    se = svc.add_entry(
        sid,
        "side_effect",
        side_effect_data(
            "Nausea",
            onset=t0 + 170,
            grade=1,
            intervention={
                "type": "drug",
                "drug": "ondansetron",
                "dose": "4 mg",
                "route": "IV",
                "time": t0 + 180,
            },
            outcome="resolved",
        ),
        at=t0 + 175,
    )
    svc.add_entry(
        sid,
        "alarm",
        {
            "event": "start",
            "time": t0 + 200,
            "alarm_id": 1,
            "key": "spo2_low",
            "category": "physiological",
            "priority": "high",
            "mdc": mdc.SPO2,
            "parameter": "SpO2",
            "message": "SpO2 89 < 92 %",
            "value": 89,
            "unit": "%",
            "limit": 92,
            "limit_text": "< 92",
            "values": {},
            "started": t0 + 200,
            "source": "sim",
            "demo": demo,
            "protocol_version": protocol.version_tag,
            "user": None,
        },
        at=t0 + 200,
    )
    svc.add_entry(
        sid,
        "alarm",
        {
            "event": "end",
            "time": t0 + 230,
            "alarm_id": 1,
            "key": "spo2_low",
            "category": "physiological",
            "priority": "high",
            "mdc": mdc.SPO2,
            "parameter": "SpO2",
            "message": "SpO2 89 < 92 %",
            "value": 95,
            "unit": "%",
            "limit": 92,
            "limit_text": "< 92",
            "values": {},
            "started": t0 + 200,
            "source": "sim",
            "demo": demo,
            "protocol_version": protocol.version_tag,
            "user": None,
            "duration_s": 30.0,
        },
        at=t0 + 230,
    )
    if not esketamine:
        svc.add_entry(
            sid,
            "infusion_stop",
            infusion_stop_data(dose_given_mg=35.0, volume_given_ml=35.0),
            at=t0 + 60 + seconds / 2,
        )
    svc.add_entry(sid, "note", note_data("Patient comfortable, lights dimmed."), at=t0 + 240)
    end_at = t0 + seconds - 20
    results = evaluate(
        {
            "alert_oriented": True,
            "able_to_walk": True,
            "escort_present": True,
            "instructions_given": True,
            "vitals_near_baseline": True,
        },
        last_moaas=5,
    )
    svc.add_entry(
        sid, "observation", observation_data(moaas, {"score": 5}, point="discharge"), at=end_at - 10
    )
    svc.add_entry(sid, "discharge", discharge_data(results, ready_minutes=round(seconds / 60)), at=end_at)
    svc.amend(
        sid,
        se.id,
        "grade entered wrongly: ondansetron was needed",
        side_effect_data(
            "Nausea",
            onset=t0 + 170,
            grade=2,
            intervention={
                "type": "drug",
                "drug": "ondansetron",
                "dose": "4 mg",
                "route": "IV",
                "time": t0 + 180,
            },
            outcome="resolved",
        ),
    )
    if sign:
        svc.sign(sid, PASSWORD if not demo else "demo", "authored")
    return Built(sid, t0, seconds, user, se.id)

"""A complete, realistic session recorded headless: the physiological simulator feeds a chair runtime (the same
:class:`~console.runtime.ChairRuntime` as the console's: live buffers, the alarm engine, the vitals recorder and
the storage writer) while a scripted "simulation" clinician makes the entries a clinician would, following the
protocol's schedule. Alarms therefore fire and are recorded exactly as at a real chair.

Used by ``chairside simulate-session`` (demos, reviews, exports) and ``benchmarks/bench_record.py``.
Everything is flagged DEMO, and only a database holding demo data only is written to (checked before anything
is created). Times are simulated: the session is placed so that it ends about now (one stepped clock drives the
simulator, the runtime and the record, which accepts such a clock only for demo accounts), so the entries are
neither late nor in the future.

The clinical content comes from :mod:`console.clinical` (protocol ``iv-ketamine-0.5``, the MOAA/S, CADSS-6,
PHQ-9 and GAD-7 scales, entry payload builders, the discharge checklist and the schedule engine, which logs a
``check_overdue`` entry for anything the script missed). Sessions shorter than 120 minutes run the same script
compressed in time (the infusion too), and say so in a note.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from console.record.database import DEMO_PASSWORD, open_database
from console.record.demo import resolve_demo_database
from console.record.errors import RecordError
from console.record.vitals import RecorderStatus
from devices import mdc
from devices.model import Numeric

PROTOCOL_ID = "iv-ketamine-0.5"
STEP_S = 5.0  # simulated seconds advanced between looks at the script
FULL_MINUTES = 120.0


@dataclass(frozen=True, slots=True)
class SimulationResult:
    session_id: int
    entries: int
    minutes: float
    wall_seconds: float
    recorder: RecorderStatus


class SimClock:
    """A settable simulated wall clock (POSIX seconds in ``t``) in the form ``open_database(clock=...)`` takes,
    for scripts that build records without a runtime (the review tests' sample sessions)."""

    def __init__(self, t: float) -> None:
        self.t = float(t)

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def check_scenario(scenario: str) -> None:
    """Refuse an unknown simulator scenario with the list of known ones (before anything is created)."""
    from devices.simulator import SCENARIOS

    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")


def simulate_session(url: str | None, minutes: float = 120.0, scenario: str = "stable", seed: int = 0,
                     *, speed: float | None = None, chair: str = "Simulation chair",
                     log: Callable[[str], None] | None = None) -> SimulationResult:
    """Record one whole simulated session into the database at ``url``; returns its id and figures.

    ``speed``: simulated seconds per real second (``None``: as fast as possible).
    """
    from console.alarms import AlarmLimits
    from console.clinical import ProtocolLibrary, ScaleLibrary
    from console.clinical import discharge as discharge_mod
    from console.clinical import entries as payload
    from console.clinical.schedule import schedule_from_entries
    from console.clinical.vitals import vitals_snapshot
    from console.runtime import ChairRuntime, ManualClock, record_clock
    from console.runtime.chair import baseline_bp
    from devices.simulator import Simulator

    # everything is checked before anything is created: a refused run leaves no patient, session or file
    if not 5 <= minutes <= 24 * 60:
        raise ValueError(f"a simulated session lasts 5 to 1440 minutes, not {minutes:g}")
    check_scenario(scenario)
    if isinstance(seed, bool) or seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, not {seed!r}")
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be positive, not {speed:g}")
    url = resolve_demo_database(url)  # the record's one demo policy: a real record is refused
    say = log or (lambda _m: None)
    wall_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    protocol = ProtocolLibrary.builtin().get(PROTOCOL_ID)
    scales = ScaleLibrary.builtin()
    f = min(1.0, minutes / FULL_MINUTES)  # time compression of the script for short sessions
    infusion_min = float(protocol.dose["duration_min"]) * f

    t0 = time.time() - minutes * 60.0 - 60.0
    # one stepped clock for the simulator, the chair runtime (alarm timing) and the record (entry times)
    clock = ManualClock(t0)
    db = open_database(url, clock=record_clock(clock))
    runtime = ChairRuntime(db, chair=chair, clock=clock,
                           on_change=lambda line: say(line) if " alarm " in f" {line} " else None)
    try:
        runtime.start(alarm_thread=False)  # the script ticks the alarms after every step: reproducible
        user = db.simulation_login()
        svc = db.service(user)
        weight = round(float(rng.uniform(55, 95)), 1)
        patient = svc.create_patient(
            f"SIM-{seed}-{uuid.uuid4().hex[:6]}", name="Simulated Patient (DEMO)",
            birth_date=date(int(rng.integers(1950, 2000)), int(rng.integers(1, 13)),
                            int(rng.integers(1, 28))),
            sex=str(rng.choice(["female", "male"])), weight_kg=weight)
        plan = protocol.plan(weight)
        session = svc.start_session(
            patient.id, protocol.id, protocol.effective_version, chair,
            devices=[{"profile": "simulator", "protocol": "simulator", "scenario": scenario, "seed": seed}],
            details={"dose": plan.as_dict(), "protocol": protocol.to_dict(),
                     "simulation": {"scenario": scenario, "seed": seed, "minutes": minutes, "speed": "max"}})
        sid = session.id
        say(f"session {sid}: patient {patient.code}, {weight} kg, {plan.summary()}")
        sim = Simulator(scenario, seed, waves=True, start=t0, mark_demo=True, source="simulator")
        runtime.open_session(sid, user, limits=AlarmLimits.from_dict(protocol.alarm_limits,
                                                                      protocol.version_tag))
        runtime.drain()  # the recorder is started by the writer thread
        bp_times: list[float] = []
        written: list[Any] = []
        state: dict[str, Any] = {"baseline": None, "moaas": None, "cadss_base": None}

        def latest() -> dict[int, tuple[float | None, Any, float]]:
            return runtime.live.latest_vitals()  # what the console's panel reads too

        def add(kind: str, data: dict[str, Any]) -> None:
            # through the chair's writer, in order with the alarm entries; the scripted clinician waits
            written.append(runtime.submit_entry(sid, kind, data, user=user).result())

        def snap() -> dict[str, Any]:
            return vitals_snapshot(latest())

        def observe(point: str, moaas: int, cadss: dict[str, int]) -> None:
            m = scales.get("moaas")
            add("observation", payload.observation_data(
                m, {"score": moaas}, vitals=snap(), point=point,
                baseline_total=None if point == "baseline" else 5))
            c = scales.get("cadss6")
            add("observation", payload.observation_data(
                c, cadss, vitals=snap(), point=point,
                baseline_total=None if point == "baseline" else state["cadss_base"]))
            state["moaas"] = moaas
            if point == "baseline":
                state["cadss_base"] = sum(cadss.values())

        def cadss(level: int) -> dict[str, int]:
            items = ["1", "2", "6", "7", "15", "22"]
            return {i: min(4, max(0, level + int(rng.integers(-1, 2)))) if level else 0 for i in items}

        def precheck() -> None:
            state["baseline"] = snap()
            add("precheck", payload.precheck_data(
                identity_confirmed=True, consent_on_file=True, fasting=True, escort_arranged=True,
                medication_changes="none", weight_kg=weight, iv_site="left antecubital fossa, 22G",
                concomitant={k: False for k in payload.CONCOMITANT_KEYS}, baseline_vitals=latest()))
            baseline = baseline_bp(state["baseline"])
            if baseline is not None:  # the rise rules compare against it, as at the console
                runtime.set_baseline(*baseline)

        def questionnaires() -> None:
            phq = {str(i): int(rng.integers(0, 3)) for i in range(1, 10)}
            phq["9"] = 0
            add("questionnaire", payload.questionnaire_data(scales.get("phq9"), phq, timing="before"))
            gad = {str(i): int(rng.integers(0, 3)) for i in range(1, 8)}
            add("questionnaire", payload.questionnaire_data(scales.get("gad7"), gad, timing="before"))

        def predose_and_start() -> None:
            now_vitals = latest()
            bp = now_vitals.get(mdc.NIBP_SYS), now_vitals.get(mdc.NIBP_DIA)
            sbp = bp[0][0] if bp[0] else None
            dbp = bp[1][0] if bp[1] else None
            check = protocol.check_predose_bp(sbp, dbp)
            if check.hold:
                add("hold_override", payload.hold_override_data(
                    check, "Repeat reading after 5 min rest similar; patient asymptomatic, proceeding per "
                           "prescriber's instruction", sbp=sbp, dbp=dbp))
            sim.start_infusion(infusion_min)
            add("infusion_start", payload.infusion_start_data(plan, route="IV",
                                                              protocol_tag=protocol.version_tag))

        def side_effect_nausea() -> None:
            when = datetime.fromtimestamp(clock.now(), UTC)
            add("side_effect", payload.side_effect_data(
                "Nausea", onset=when, grade=2, outcome="improving",
                intervention={"type": "drug", "drug": "ondansetron", "dose": "4 mg", "route": "IV",
                              "time": when}))
            add("intervention", {"type": "drug", "drug": "ondansetron", "dose": "4 mg", "route": "IV",
                                 "indication": "nausea", "time": when.isoformat(),
                                 "effect": "nausea settling"})

        def side_effect_dissociation() -> None:
            when = datetime.fromtimestamp(clock.now(), UTC)
            add("side_effect", payload.side_effect_data(
                "Dissociation", onset=when, grade=1, outcome="resolved",
                intervention={"type": "non_drug", "action": "reassurance, lights dimmed", "time": when}))

        def stop() -> None:
            sim.stop_infusion()
            add("infusion_stop", payload.infusion_stop_data(completed=True, dose_given_mg=plan.dose_mg,
                                                            volume_given_ml=plan.volume_ml))

        def discharge() -> None:
            results = discharge_mod.evaluate(
                {k: True for k in discharge_mod.CRITERION_KEYS}, baseline_vitals=state["baseline"],
                current_vitals=snap(), last_moaas=state["moaas"], tolerances=protocol.discharge)
            unmet = discharge_mod.unmet(results)
            add("discharge", payload.discharge_data(
                results, ready_minutes=round(discharge_checks - start), vitals=latest(),
                override_reason="" if not unmet else "Reviewed at the chair: trending to baseline, "
                                                      "asymptomatic, escort present",
                notes="Written instructions given: no driving until tomorrow."))

        start = max(5 * f, 1.0)  # a pre-dose BP (30 s measurement) is in before the pre-dose check
        monitoring_min = float(protocol.schedule.get("monitoring", {}).get("min", 30)) * f
        # the protocol's "before discharge" checks fall due at the end of its monitoring period
        discharge_checks = min(start + infusion_min + monitoring_min, minutes - 6 * f)
        script: list[tuple[float, Callable[[], object]]] = [
            (0.5 * f, precheck),
            (0.0, lambda: sim.measure_nibp_now()),
            (2.0 * f, questionnaires),
            (3.0 * f, lambda: observe("baseline", 5, cadss(0))),
            (start, predose_and_start),
            (start + 18 * f, side_effect_nausea),
            (start + 25 * f, side_effect_dissociation),
            (start + 30 * f, lambda: add("note", payload.note_data("Patient calm, talking about music."))),
            (start + infusion_min - 0.5 * f, lambda: sim.measure_nibp_now()),
            (start + infusion_min, lambda: observe("40", 4, cadss(2))),
            (start + infusion_min + 0.2 * f, stop),
            (start + infusion_min + 1.5 * f, lambda: observe("end", 5, cadss(1))),
            (start + infusion_min + 15 * f, lambda: add("note", payload.note_data(
                "Resting comfortably; vitals returning towards baseline."))),
            (discharge_checks - 1.0 * f, lambda: sim.measure_nibp_now()),
            (discharge_checks, lambda: observe("discharge", 5, cadss(0))),
            (minutes - 5 * f, discharge),  # ready earlier; waited for the escort
        ]
        if f < 1.0:
            script.insert(0, (0.2 * f, lambda: add("note", payload.note_data(
                f"Simulation compressed to {minutes:g} minutes (script times x{f:.2f}, infusion "
                f"{infusion_min:.1f} min); not a clinical timeline."))))
        script.sort(key=lambda s: s[0])

        elapsed = 0.0
        end_s = minutes * 60.0
        next_check = 60.0
        i = 0
        while elapsed < end_s:
            step = min(STEP_S, end_s - elapsed)
            samples = sim.advance_sim(step)
            elapsed += step
            clock.set(t0 + elapsed)
            for s in samples:
                if isinstance(s, Numeric) and s.mdc == mdc.NIBP_SYS and s.value is not None and (
                        not bp_times or s.device_time != bp_times[-1]):
                    bp_times.append(s.device_time if s.device_time is not None else s.host_time)
            runtime.ingest(samples)  # live buffers, the alarm engine's inbox, the recorder
            runtime.tick()  # the alarm thread's job at a real chair
            if runtime.writer.backlog:
                runtime.drain()  # alarm entries are written at the simulated moment, not minutes later
            while i < len(script) and script[i][0] * 60.0 <= elapsed:
                script[i][1]()
                i += 1
            if elapsed >= next_check:  # what the console's schedule panel would flag as overdue
                next_check += 60.0
                status = schedule_from_entries(protocol, written, clock.now(), bp_times=bp_times)
                for cp in status.unlogged:
                    add("check_overdue", payload.check_overdue_data(cp))
            recorder = runtime.recorder
            if int(elapsed) % 600 == 0 and recorder is not None:
                recorder.flush()  # keeps memory flat when the simulation runs far ahead of the disk
            if speed:
                ahead = elapsed / speed - (time.perf_counter() - wall_start)
                if ahead > 0:
                    time.sleep(ahead)
        recorder = runtime.recorder
        runtime.close_session()  # the recorder writes what it holds, on the writer thread
        runtime.drain()
        if recorder is None:
            raise RecordError("the vitals recorder did not start (see the log); the session stays unsigned")
        rec_status = recorder.status()
        svc.sign(sid, DEMO_PASSWORD, meaning="authored")
        entries = svc.session(sid).entry_count
        alarms = sum(1 for e in svc.entries(sid) if e.kind == "alarm")
        say(f"session {sid}: {entries} entries ({alarms} alarm events), {rec_status.numerics_written} numeric "
            f"rows, {rec_status.wave_chunks_written} wave chunks")
        return SimulationResult(sid, entries, minutes, time.perf_counter() - wall_start, rec_status)
    finally:
        if not runtime.shutdown():
            say("a chair thread did not stop in time")
        db.close()

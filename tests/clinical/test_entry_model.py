"""What the console's own builders write always fits the entry model the service enforces, and the one
effective-record function's rules on small, hand-made histories."""

from __future__ import annotations

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical.amendments import effective_record
from console.clinical.discharge import CRITERIA, CriterionResult
from console.clinical.entries import (
    check_overdue_data,
    discharge_data,
    esketamine_dose_data,
    hold_override_data,
    infusion_pause_data,
    infusion_rate_data,
    infusion_resume_data,
    infusion_start_data,
    infusion_stop_data,
    note_data,
    observation_data,
    precheck_data,
    questionnaire_data,
    side_effect_data,
)
from console.clinical.entry_model import USER_KINDS, payload_problems, validate_payload
from console.clinical.schedule import schedule_from_entries
from devices import mdc
from devices.model import State

T = 1_700_000_000.0
LIVE = {mdc.HEART_RATE: (72.0, State.NONE, T), mdc.NIBP_SYS: (128.0, State.NONE, T - 30),
        mdc.NIBP_DIA: (82.0, State.NONE, T - 30), mdc.SPO2: (None, State.SENSOR_OFF, T)}


def built() -> list[tuple[str, dict]]:
    """(kind, payload) as the panel and the simulator build them, one or more per builder."""
    scales, p = ScaleLibrary.builtin(), ProtocolLibrary.builtin().get("iv-ketamine-0.5")
    partly = [CriterionResult(k, label, k != "able_to_walk") for k, label, _ in CRITERIA]
    schedule = schedule_from_entries(p, [{"kind": "infusion_start", "at": T, "data": {}}], T + 16 * 60)
    return [
        ("precheck", precheck_data(identity_confirmed=True, consent_on_file=False, fasting=True,
                                   escort_arranged=True, weight_kg="72,5", concomitant={"opioids": True},
                                   baseline_vitals=LIVE)),
        ("questionnaire", questionnaire_data(scales.get("phq9"), {str(i): 1 for i in range(1, 10)})),
        ("questionnaire", questionnaire_data(scales.get("gad7"), {str(i): 3 for i in range(1, 8)}, timing="after")),
        ("observation", observation_data(scales.get("moaas"), {"score": 4}, vitals=LIVE, baseline_total=5,
                                         point="40")),
        ("observation", observation_data(scales.get("cadss6"), {"1": 2, "2": 2, "6": 1, "7": 0, "15": 1, "22": 0},
                                         baseline_total=0)),
        ("observation", observation_data(scales.get("quick_dissociation"), {"score": 6})),
        ("observation", observation_data(scales.get("rass"), {"score": -2}, point="baseline")),
        ("hold_override", hold_override_data(p.check_predose_bp(150, 95), "repeat BP 138/88 after rest",
                                             sbp=150, dbp=95, age_years=44)),
        ("infusion_start", infusion_start_data(p.plan(70), route="IV", protocol_tag=p.version_tag)),
        ("infusion_pause", infusion_pause_data("patient asked for a pause")),
        ("infusion_resume", infusion_resume_data("", rate_ml_h=40)),
        ("infusion_rate", infusion_rate_data("40", "nausea", previous_rate_ml_h=52.5)),
        ("infusion_stop", infusion_stop_data(completed=False, reason="BP 182/104", dose_given_mg=12.5,
                                             volume_given_ml=12.5)),
        ("infusion_stop", infusion_stop_data(dose_given_mg=35)),
        ("esketamine_dose", esketamine_dose_data(2, devices_planned=3, lot="AB12")),
        ("side_effect", side_effect_data("Nausea", onset=T, grade=2, outcome="resolved",
                                         intervention={"type": "drug", "drug": "ondansetron", "dose": "4 mg",
                                                       "route": "IV", "time": T + 120})),
        ("side_effect", side_effect_data("Anxiety", onset=T, grade=4, intervention={
            "type": "non_drug", "action": "Lights dimmed", "time": T})),
        ("side_effect", {**side_effect_data("Nausea", onset=T, grade=1), "effect_id": "nausea"}),  # the form's
        ("note", note_data(" patient asleep ")),
        ("check_overdue", check_overdue_data(schedule.get("bp@10"))),
        ("discharge", discharge_data(partly, override_reason="left in wheelchair with escort", vitals=LIVE,
                                     ready_minutes=0)),
        ("discharge", discharge_data([CriterionResult(k, label, True) for k, label, _ in CRITERIA])),
    ]


def test_every_builder_output_fits_the_model() -> None:
    for kind, data in built():
        assert payload_problems(kind, data) is None, (kind, payload_problems(kind, data))
        assert validate_payload(kind, data) == data  # returned as it will be stored


def test_the_builders_cover_every_clinical_kind_but_the_engine_written_ones() -> None:
    assert {k for k, _ in built()} == set(USER_KINDS) - {"alarm", "intervention"}  # those two: tests/payloads.py


def test_alarm_engine_events_fit_the_model() -> None:
    """Start, end, acknowledgement, audio pause and its end, as the engine emits them for the record."""
    from tests.alarms.helpers import engine, events, series

    eng = engine()
    series(eng, mdc.SPO2, [85] * 11, 0.0)
    eng.pause_audio("nurse.kim", 11.5)
    series(eng, mdc.SPO2, [97] * 6, 11.0)
    for alarm in eng.visible():
        eng.acknowledge(alarm.id, "nurse.kim", 30.0)
    eng.resume_audio("nurse.kim", 31.0)
    emitted = events(eng)
    assert {e["event"] for e in emitted} == {"start", "end", "ack", "pause", "pause_end"}
    for event in emitted:
        assert payload_problems("alarm", event) is None, event


def test_a_correction_replaces_the_payload_and_the_chain_keeps_every_reason() -> None:
    moaas = ScaleLibrary.builtin().get("moaas")
    entries = [
        {"id": "a", "seq": 1, "kind": "observation", "at": T, "data": observation_data(moaas, {"score": 3})},
        {"id": "b", "seq": 2, "kind": "note", "at": T + 1, "data": {"text": "x"}},
        {"id": "c", "seq": 3, "kind": "amendment", "at": T + 2, "amends": "a", "user": "ana", "role": "clinician",
         "entered_at": T + 2, "data": {"reason": "wrong button", "data": observation_data(moaas, {"score": 4})}},
        {"id": "d", "seq": 4, "kind": "amendment", "at": T + 3, "amends": "b", "user": "bo", "role": "clinician",
         "entered_at": T + 3, "data": {"reason": "typo", "data": {"text": "y"}}},
        {"id": "e", "seq": 5, "kind": "amendment", "at": T + 4, "amends": "a", "user": "bo", "role": "clinician",
         "entered_at": T + 4, "data": {"reason": "second look", "data": observation_data(moaas, {"score": 5})}},
        {"id": "f", "seq": 6, "kind": "amendment", "at": T + 5, "amends": "zz", "data": {"reason": "?"}},
    ]
    record = effective_record(reversed(entries))  # order given does not matter: sequence order does
    a, b = record.entries
    assert (a.id, a.data["total"], a.original_data["total"], a.amended, a.legacy) == ("a", 5, 3, True, False)
    assert [(c.seq, c.reason, c.by) for c in a.corrections] == [(3, "wrong button", "ana"), (5, "second look", "bo")]
    assert (b.data, [c.reason for c in b.corrections]) == ({"text": "y"}, ["typo"])
    assert [o["id"] for o in record.orphans] == ["f"]


def test_legacy_partial_corrections_patch_and_are_flagged() -> None:
    """The issue's three readers gave {'grade': 3}, {'effect': 'nausea', 'grade': 3} and {'effect': 'nausea',
    'grade': 4} for these rows; there is now one answer, and it keeps every recorded field in view."""
    entries = [
        {"id": "a", "seq": 1, "kind": "side_effect", "data": {"effect": "nausea", "grade": 2}},
        {"id": "b", "seq": 2, "kind": "amendment", "amends": "a", "data": {"reason": "r1", "data": {"grade": 3}}},
        {"id": "c", "seq": 3, "kind": "amendment", "amends": "b", "data": {"reason": "r2", "data": {"grade": 4}}},
    ]
    [eff] = effective_record(entries).entries
    assert eff.data == {"effect": "nausea", "grade": 4}
    assert [c.reason for c in eff.corrections] == ["r1", "r2"]
    assert eff.legacy and len(eff.problems) == 3  # the original and both corrections


def test_entries_still_waiting_in_the_outbox_are_all_kept_in_order() -> None:
    """The panel shows stored entries then those the outbox still holds (no id, no number yet)."""
    stored = {"id": "a", "seq": 1, "kind": "note", "at": T, "data": {"text": "stored"}}
    pending = [{"client_id": f"c{i}", "kind": "note", "at": T + i, "data": {"text": f"pending {i}"}}
               for i in (1, 2)]
    eff = effective_record([stored, *pending]).entries
    assert [e.data["text"] for e in eff] == ["stored", "pending 1", "pending 2"]

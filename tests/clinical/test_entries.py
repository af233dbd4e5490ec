"""Entry payloads: what each form stores, and the messages for wrong values."""

from __future__ import annotations

import json

import pytest

from console.clinical import ProtocolLibrary, ScaleLibrary
from console.clinical.discharge import CRITERIA, CriterionResult
from console.clinical.entries import (check_overdue_data, discharge_data, esketamine_dose_data, hold_override_data,
                                      infusion_pause_data, infusion_rate_data, infusion_start_data,
                                      infusion_stop_data, note_data, observation_data, precheck_data,
                                      questionnaire_data, side_effect_data)
from console.clinical.schedule import schedule_from_entries
from devices import mdc
from devices.model import State

T = 1_700_000_000.0


@pytest.fixture(scope="module")
def scales() -> ScaleLibrary:
    return ScaleLibrary.builtin()


@pytest.fixture(scope="module")
def protocols() -> ProtocolLibrary:
    return ProtocolLibrary.builtin()


def live():
    return {mdc.HEART_RATE: (72.0, State.NONE, T), mdc.NIBP_SYS: (128.0, State.NONE, T - 30),
            mdc.NIBP_DIA: (82.0, State.NONE, T - 30), mdc.SPO2: (None, State.SENSOR_OFF, T)}


def json_ok(data):
    return json.loads(json.dumps(data, allow_nan=False)) == data


def test_moaas_observation_data(scales):
    data = observation_data(scales.get("moaas"), {"score": 4}, vitals=live(), baseline_total=5, point="40")
    assert data["scale"] == "moaas" and data["items"] == {"score": 4} and data["total"] == 4
    assert data["flags"] == [{"id": "sedation", "message": "Sedation: MOAA/S below the pre-dose score",
                              "urgent": False}]
    assert data["vitals"][str(mdc.NIBP_SYS)] == {"label": "NBP sys", "value": 128.0, "unit": "mm[Hg]",
                                                "at": "2023-11-14T22:12:50.000000Z", "state": []}
    assert data["vitals"][str(mdc.SPO2)]["state"] == ["sensor_off"]
    assert json_ok(data)


def test_cadss6_observation_has_subscales(scales):
    data = observation_data(scales.get("cadss6"), {"1": 2, "2": 2, "6": 1, "7": 0, "15": 1, "22": 0},
                            baseline_total=0)
    assert data["total"] == 6
    assert data["subscales"] == {"depersonalization": 1, "derealization": 5, "amnesia": 0}
    assert [f["id"] for f in data["flags"]] == ["dissociation"]


def test_quick_rating_is_stored_as_not_validated(scales):
    data = observation_data(scales.get("quick_dissociation"), {"score": 6})
    assert data["validated"] is False and data["additional_only"] is True


def test_questionnaire_data_has_band_loinc_and_item9_flag(scales):
    answers = {str(i): 1 for i in range(1, 10)}
    data = questionnaire_data(scales.get("phq9"), answers, timing="before")
    assert (data["total"], data["band"], data["loinc"], data["timing"]) == (9, "mild", "44261-6", "before")
    assert data["flags"][0]["urgent"] is True
    with pytest.raises(ValueError, match="is not answered"):
        questionnaire_data(scales.get("gad7"), {"1": 1})


def test_precheck_data(protocols):
    data = precheck_data(identity_confirmed=True, consent_on_file=True, fasting=True, escort_arranged=False,
                         medication_changes=" started sertraline ", weight_kg="72,5",
                         concomitant={"benzodiazepines": False, "opioids": True}, baseline_vitals=live())
    assert data["escort_arranged"] is False and data["medication_changes"] == "started sertraline"
    assert data["weight_kg"] == 72.5 and data["concomitant"] == {"benzodiazepines": False, "opioids": True}
    assert data["baseline_vitals"][str(mdc.HEART_RATE)]["value"] == 72.0
    with pytest.raises(ValueError, match="Consent on file must be answered yes or no"):
        precheck_data(identity_confirmed=True, consent_on_file=None, fasting=True, escort_arranged=True)
    with pytest.raises(ValueError, match="outside 20 to 300 kg"):
        precheck_data(identity_confirmed=True, consent_on_file=True, fasting=True, escort_arranged=True,
                      weight_kg=700)


def test_precheck_baseline_bp_counts_for_the_schedule(protocols):
    pre = precheck_data(identity_confirmed=True, consent_on_file=True, fasting=True, escort_arranged=True,
                        baseline_vitals=live())
    s = schedule_from_entries(protocols.get("iv-ketamine-0.5"), [{"kind": "precheck", "at": T, "data": pre}], T)
    assert s.get("bp@baseline").state == "done"


def test_hold_override_needs_a_reason(protocols):
    check = protocols.get("iv-ketamine-0.5").check_predose_bp(150, 95)
    with pytest.raises(ValueError, match="Reason for proceeding above the hold limit is required"):
        hold_override_data(check, "  ", sbp=150, dbp=95)
    data = hold_override_data(check, "repeat BP 138/88 after rest, discussed with Dr B", sbp=150, dbp=95)
    assert data["limit"] == "140/90" and data["sbp"] == 150.0


def test_infusion_entries(protocols):
    p = protocols.get("iv-ketamine-0.5")
    start = infusion_start_data(p.plan(70), route="IV", protocol_tag=p.version_tag)
    assert start == {"dose_mg": 35.0, "mg_per_kg": 0.5, "weight_kg": 70.0, "duration_min": 40.0,
                     "concentration_mg_per_ml": 1.0, "volume_ml": 35.0, "rate_ml_h": 52.5, "route": "IV",
                     "protocol": "iv-ketamine-0.5@1"}
    with pytest.raises(ValueError, match="Reason for pausing is required"):
        infusion_pause_data("")
    with pytest.raises(ValueError, match="Reason for the rate change is required"):
        infusion_rate_data(40, "")
    with pytest.raises(ValueError, match="equals the current rate"):
        infusion_rate_data(52.5, "x", previous_rate_ml_h=52.5)
    with pytest.raises(ValueError, match="New pump rate"):
        infusion_rate_data("fast", "nausea")
    assert infusion_rate_data("40", "nausea", previous_rate_ml_h=52.5)["rate_ml_h"] == 40.0
    with pytest.raises(ValueError, match="Reason for stopping early is required"):
        infusion_stop_data(completed=False)
    assert infusion_stop_data(dose_given_mg=35)["completed"] is True


def test_esketamine_dose_data():
    assert esketamine_dose_data(2, devices_planned=3, lot="AB12") == {
        "device_number": 2, "devices_planned": 3, "device_mg": 28.0, "lot": "AB12"}
    with pytest.raises(ValueError, match="device number must be 1 to 2"):
        esketamine_dose_data(3, devices_planned=2)


def test_side_effect_data():
    data = side_effect_data("Nausea", onset=T, grade=2, outcome="resolved",
                            intervention={"type": "drug", "drug": "ondansetron", "dose": "4 mg", "route": "IV",
                                          "time": T + 120})
    assert data == {"name": "Nausea", "onset": "2023-11-14T22:13:20.000000Z", "grade": 2,
                    "grade_label": "moderate", "outcome": "resolved", "notes": "",
                    "intervention": {"type": "drug", "drug": "ondansetron", "dose": "4 mg", "route": "IV",
                                     "time": "2023-11-14T22:15:20.000000Z"}}
    nd = side_effect_data("Anxiety", onset=T, grade=1, intervention={"type": "non_drug",
                                                                     "action": "Lights dimmed", "time": T})
    assert nd["intervention"]["action"] == "Lights dimmed"
    with pytest.raises(ValueError, match="grade must be 1"):
        side_effect_data("Nausea", onset=T, grade=5)
    with pytest.raises(ValueError, match="Drug dose is required"):
        side_effect_data("Nausea", onset=T, grade=2, intervention={"type": "drug", "drug": "x", "route": "IV",
                                                                   "time": T})
    with pytest.raises(ValueError, match="Onset time is not a valid date and time"):
        side_effect_data("Nausea", onset="yesterday", grade=1)
    with pytest.raises(ValueError, match="outcome must be one of"):
        side_effect_data("Nausea", onset=T, grade=1, outcome="fine")


def test_note_and_overdue(protocols):
    assert note_data(" patient asleep ") == {"text": "patient asleep"}
    with pytest.raises(ValueError, match="Note is required"):
        note_data("")
    s = schedule_from_entries(protocols.get("iv-ketamine-0.5"), [{"kind": "infusion_start", "at": T, "data": {}}],
                              T + 16 * 60)
    data = check_overdue_data(s.get("bp@10"))
    assert data == {"key": "bp@10", "what": "bp", "label": "BP at 10 min", "state": "overdue",
                    "due_at": "2023-11-14T22:23:20.000000Z"}


def test_discharge_needs_reason_when_a_criterion_is_not_met():
    met = [CriterionResult(k, label, True) for k, label, _ in CRITERIA]
    assert discharge_data(met, ready_minutes=0)["all_met"] is True
    partly = [CriterionResult(k, label, k != "able_to_walk") for k, label, _ in CRITERIA]
    with pytest.raises(ValueError, match="Reason for discharge with criteria not met is required"):
        discharge_data(partly)
    data = discharge_data(partly, override_reason="left in wheelchair with escort")
    assert data["unmet"] == ["Able to walk steadily"]


def test_effective_entries_apply_the_latest_amendment():
    from console.clinical.amendments import effective_entries

    entries = [
        {"id": "a", "kind": "observation", "at": T, "data": {"scale": "moaas", "total": 3}},
        {"id": "b", "kind": "note", "at": T + 1, "data": {"text": "x"}},
        {"id": "c", "kind": "amendment", "at": T + 2, "amends": "a",
         "data": {"reason": "wrong button", "data": {"scale": "moaas", "total": 4}}},
        {"id": "d", "kind": "amendment", "at": T + 3, "amends": "a",
         "data": {"reason": "second look", "data": {"scale": "moaas", "total": 5}}},
    ]
    eff = effective_entries(entries)
    assert [(e.id, e.kind, e.data.get("total"), e.amended) for e in eff] == [
        ("a", "observation", 5, True), ("b", "note", None, False)]
    assert eff[0].at == T

"""Discharge checklist, REMS monitoring form and side-effect catalogue."""

from __future__ import annotations

import datetime as dt

import pytest

from console.clinical import ClinicalDataError
from console.clinical.discharge import all_met, evaluate, unmet
from console.clinical.rems import REMS_FIELDS, fill_rems
from console.clinical.side_effects import load_catalogue
from console.clinical.vitals import vitals_snapshot
from devices import mdc
from devices.model import State

T = 1_700_000_000.0
MIN = 60.0
CONFIRM = {"alert_oriented": True, "able_to_walk": True, "escort_present": True, "instructions_given": True}


def snap(sbp, dbp, hr=70, spo2=98, at=T):
    return vitals_snapshot({mdc.NIBP_SYS: (sbp, State.NONE, at), mdc.NIBP_DIA: (dbp, State.NONE, at),
                            mdc.HEART_RATE: (hr, State.NONE, at), mdc.SPO2: (spo2, State.NONE, at)})


def test_all_criteria_met():
    res = evaluate(CONFIRM, baseline_vitals=snap(125, 80), current_vitals=snap(135, 85, 80), last_moaas=5)
    assert all_met(res)
    assert [r.key for r in res] == ["vitals_near_baseline", "alert_oriented", "moaas_5", "able_to_walk",
                                    "escort_present", "instructions_given"]


def test_vitals_far_from_baseline_and_moaas_below_5_are_not_met():
    res = evaluate(CONFIRM, baseline_vitals=snap(125, 80), current_vitals=snap(150, 85, spo2=92), last_moaas=4)
    bad = {r.key: r.detail for r in unmet(res)}
    assert bad == {"vitals_near_baseline": "SBP 150 vs baseline 125 (more than 20 apart); SpO2 92 % below 94 %",
                   "moaas_5": "last MOAA/S 4"}


def test_unconfirmed_items_are_not_met_and_data_beats_confirmation():
    res = evaluate({"moaas_5": True}, last_moaas=3)
    assert {r.key: r.met for r in res}["moaas_5"] is False
    assert {r.key: r.met for r in res}["escort_present"] is None
    assert not all_met(res)
    res = evaluate({"vitals_near_baseline": True})  # no BP to judge: clinician's word is kept, and says so
    assert res[0].met is True and res[0].detail == "confirmed by the clinician"


def esketamine_session():
    return [
        {"kind": "precheck", "at": T - 10 * MIN, "data": {
            "concomitant": {"benzodiazepines": False, "sedative_hypnotics": False, "psychostimulants": True,
                            "maois": False, "opioids": False},
            "baseline_vitals": snap(132, 84, at=T - 12 * MIN)}},
        {"kind": "esketamine_dose", "at": T, "data": {"device_number": 1, "device_mg": 28, "lot": "L1"}},
        {"kind": "esketamine_dose", "at": T + 5 * MIN, "data": {"device_number": 2, "device_mg": 28, "lot": "L1"}},
        {"kind": "esketamine_dose", "at": T + 10 * MIN, "data": {"device_number": 3, "device_mg": 28, "lot": "L2"}},
        {"kind": "observation", "at": T + 41 * MIN, "data": {
            "scale": "cadss6", "total": 9, "flags": [{"id": "dissociation", "message": "", "urgent": False}],
            "vitals": snap(148, 92, at=T + 38 * MIN)}},
        {"kind": "side_effect", "at": T + 30 * MIN, "data": {"name": "Nausea", "grade": 2}},
        {"kind": "discharge", "at": T + 125 * MIN, "data": {
            "ready_minutes": 120, "criteria": {"vitals_near_baseline": True},
            "vitals": snap(130, 82, at=T + 122 * MIN)}},
    ]


def test_rems_form_filled_from_entries():
    form = fill_rems(esketamine_session(),
                     patient={"name": "Jane Doe", "birth_date": dt.date(1970, 5, 1), "sex": "F"},
                     provider={"name": "Dr A", "phone": "555", "email": "a@x.org"},
                     setting={"name": "Clinic", "address": "1 Main St"})
    v = form.values
    assert v["dose"] == "84 mg" and v["lot_numbers"] == "L1, L2"
    assert v["concomitant_psychostimulants"] is True and v["concomitant_opioids"] is False
    assert v["monitoring_duration_min"] == 125 and v["ready_to_leave_min"] == 120
    assert (v["bp_before_administration"], v["bp_at_40_min"], v["bp_before_completion"]) == \
        ("132/84", "148/92", "130/82")
    assert v["vitals_acceptable_before"] is True and v["vitals_acceptable_before_completion"] is True
    assert (v["sedation"], v["dissociation"], v["respiratory_depression"]) == (False, True, False)
    assert v["serious_adverse_events"] == "none"
    assert v["patient_birth_date"] == "1970-05-01"
    assert form.complete and form.missing == []


def test_rems_form_lists_missing_required_fields():
    entries = esketamine_session()[1:3]  # two devices, nothing else
    form = fill_rems(entries, patient={"name": "Jane Doe"})
    labels = {label for _, label, _ in REMS_FIELDS}
    assert set(form.missing) <= labels
    assert "Patient date of birth" in form.missing and "Monitoring provider e-mail" in form.missing
    assert "Blood pressure at about 40 min" in form.missing and "Concomitant opioids" in form.missing
    assert "Patient name" not in form.missing
    assert form.values["dose"] == "56 mg"


def test_rems_override_leaves_pre_dose_acceptability_to_the_clinician():
    entries = esketamine_session() + [{"kind": "hold_override", "at": T - MIN, "data": {"reason": "x"}}]
    assert fill_rems(entries).values["vitals_acceptable_before"] is None


def test_side_effect_catalogue():
    cat = load_catalogue()
    ids = [e.id for e in cat.for_route("intranasal")]
    assert ids[:4] == ["dissociation", "dizziness", "nausea", "sedation"]
    assert "emergence_reaction" not in ids and "emergence_reaction" in [e.id for e in cat.for_route("IV")]
    assert cat.get("dissociation").frequency_pct == 41
    assert sorted(cat.grades) == [1, 2, 3, 4]
    assert "ondansetron" in [d.drug for d in cat.drug_interventions]


def test_bad_catalogue_file(tmp_path):
    p = tmp_path / "se.json"
    p.write_text('{"format": "chairside-side-effects/1", "version": 1, "effects": []}', encoding="utf-8")
    with pytest.raises(ClinicalDataError, match="'effects' must not be empty"):
        load_catalogue(p)

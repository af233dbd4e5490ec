"""Protocol templates: dose arithmetic, hold limits, alarm limits and site overrides."""

from __future__ import annotations

import json

import pytest

from console.clinical import ALARM_LIMIT_KEYS, ClinicalDataError, ProtocolLibrary, load_protocol_file
from console.clinical.protocols import device_count, dose_mg, pump_rate_ml_h

EXPECTED_ALARMS = {"sbp_high": 180, "dbp_high": 110, "sbp_rise": 40, "dbp_rise": 25, "spo2_low": 92,
                   "spo2_critical": 88, "hr_high": 120, "hr_low": 45, "rr_low": 8, "etco2_low": 20,
                   "etco2_high": 60, "persistence_s": 10, "stale_s": 10}


@pytest.fixture(scope="module")
def lib() -> ProtocolLibrary:
    return ProtocolLibrary.builtin()


def test_builtin_templates(lib):
    assert lib.ids() == ["esketamine-56", "esketamine-84", "im-ketamine", "iv-ketamine-0.5"]
    assert lib.get("iv-ketamine-0.5").version_tag == "iv-ketamine-0.5@1"


def test_every_template_has_exactly_the_alarm_keys(lib):
    assert tuple(EXPECTED_ALARMS) == ALARM_LIMIT_KEYS
    for p in lib:
        assert p.alarm_limits == EXPECTED_ALARMS, p.id


def test_iv_dose_and_pump_rate(lib):
    plan = lib.get("iv-ketamine-0.5").plan(70)
    assert (plan.dose_mg, plan.duration_min, plan.rate_ml_h, plan.volume_ml) == (35.0, 40.0, 52.5, 35.0)
    plan = lib.get("iv-ketamine-0.5").plan(82.4, mg_per_kg=0.75, concentration_mg_per_ml=2, duration_min=60)
    assert (plan.dose_mg, plan.rate_ml_h) == (61.8, 30.9)
    assert plan.summary() == "61.8 mg (0.75 mg/kg x 82.4 kg) = 30.9 mL at 2 mg/mL over 60 min at 30.9 mL/h"


def test_dose_arithmetic_functions():
    assert dose_mg(70, 0.5) == 35.0
    assert pump_rate_ml_h(35, 1, 40) == 52.5
    assert (device_count(56), device_count(84)) == (2, 3)
    with pytest.raises(ValueError, match="not a whole number of 28 mg devices"):
        device_count(50)
    with pytest.raises(ValueError, match="concentration"):
        pump_rate_ml_h(35, 0, 40)


@pytest.mark.parametrize(("weight", "message"), [(None, "weight (kg) is needed"), (0, "above zero"),
                                                 (7, "outside 20 to 300 kg"), ("70", "must be a number")])
def test_bad_weight_is_refused_with_reason(lib, weight, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lib.get("iv-ketamine-0.5").plan(weight)


def test_dose_outside_protocol_range_is_refused(lib):
    with pytest.raises(ValueError, match=r"1.5 mg/kg is outside this protocol's range 0.5 to 1 mg/kg"):
        lib.get("iv-ketamine-0.5").plan(70, mg_per_kg=1.5)


def test_esketamine_devices(lib):
    plan = lib.get("esketamine-84").plan()
    assert (plan.dose_mg, plan.devices, plan.device_mg, plan.device_interval_min) == (84.0, 3, 28.0, 5.0)
    assert lib.get("esketamine-56").plan().devices == 2


def test_im_is_a_bolus_with_volume(lib):
    plan = lib.get("im-ketamine").plan(80)
    assert (plan.dose_mg, plan.volume_ml, plan.rate_ml_h) == (40.0, 0.8, None)


@pytest.mark.parametrize(("pid", "sbp", "dbp", "age", "hold", "limit"), [
    ("iv-ketamine-0.5", 140, 90, 40, False, "140/90"),
    ("iv-ketamine-0.5", 141, 80, 40, True, "140/90"),
    ("iv-ketamine-0.5", 120, 91, 70, True, "140/90"),   # no age rule for IV
    ("esketamine-56", 145, 85, 64, True, "140/90"),
    ("esketamine-56", 145, 85, 65, False, "150/90"),
    ("esketamine-84", 151, 85, 70, True, "150/90"),
    ("esketamine-84", 150, 91, 70, True, "150/90"),
    ("esketamine-84", 145, 85, None, True, "140/90"),  # unknown age: the stricter limit
])
def test_predose_hold_limits(lib, pid, sbp, dbp, age, hold, limit):
    check = lib.get(pid).check_predose_bp(sbp, dbp, age)
    assert check.hold is hold
    assert f"{check.sbp_max:g}/{check.dbp_max:g}" == limit
    if hold:
        assert check.message == f"Pre-dose BP {sbp}/{dbp} is above the hold limit {limit}: record a reason to proceed"


def test_missing_predose_bp_holds(lib):
    assert lib.get("iv-ketamine-0.5").check_predose_bp(None, None).hold


def _site(tmp_path, obj):
    p = tmp_path / "site.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    return p


def test_site_overrides_any_number_and_tags_the_version(tmp_path):
    site = _site(tmp_path, {"format": "chairside-site/1", "site": "North clinic", "version": 3, "overrides": {
        "*": {"alarm_limits": {"sbp_high": 170}},
        "iv-ketamine-0.5": {"dose": {"duration_min": 60}, "schedule": {"bp": {"every_min": 15}}},
        "esketamine-84": {"hold_limits": {"age_rules": {"0": {"sbp_max": 160}}}},
    }})
    lib = ProtocolLibrary.for_site(site)
    iv = lib.get("iv-ketamine-0.5")
    assert iv.version_tag == "iv-ketamine-0.5@1+site-3"
    assert iv.alarm_limits["sbp_high"] == 170 and iv.alarm_limits["dbp_high"] == 110
    assert iv.plan(70).rate_ml_h == 35.0
    assert iv.schedule["bp"]["every_min"] == 15
    assert iv.to_dict()["version_tag"] == "iv-ketamine-0.5@1+site-3" and iv.site_name == "North clinic"
    assert lib.get("esketamine-84").hold_limits_for(70) == (160.0, 90.0)
    assert lib.get("esketamine-56").effective_version == "1+site-3"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"iv-ketamine-0.5": {"alarm_limits": {"sbp_high": "high"}}}, "must be a number"),
    ({"iv-ketamine-0.5": {"alarm_limits": {"nope": 1}}}, "alarm_limits.nope: is not a setting"),
    ({"iv-ketamine-0.5": {"route": 3}}, "only numbers can be overridden"),
    ({"unknown-protocol": {}}, "overrides for unknown templates: unknown-protocol"),
    ({"iv-ketamine-0.5": {"alarm_limits": {"hr_low": 130}}}, "'hr_low' must be below 'hr_high'"),
])
def test_bad_site_overrides_are_refused_clearly(tmp_path, overrides, message):
    site = _site(tmp_path, {"format": "chairside-site/1", "version": 2, "overrides": overrides})
    with pytest.raises(ClinicalDataError, match=message.replace("(", r"\(")):
        ProtocolLibrary.for_site(site)


def test_template_leaving_out_an_alarm_key_gets_the_rule_default(tmp_path, lib):
    """Protocol files override the alarm rule table by rule id: a new rule needs no edit of every template."""
    d = lib.get("iv-ketamine-0.5").to_dict()
    d["alarm_limits"] = {"sbp_high": 170}
    p = tmp_path / "t.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    limits = load_protocol_file(p).alarm_limits
    assert limits == {**EXPECTED_ALARMS, "sbp_high": 170}


def test_template_with_an_unknown_alarm_key_is_refused(tmp_path, lib):
    d = lib.get("iv-ketamine-0.5").to_dict()
    d["alarm_limits"]["spo2_lo"] = 90
    p = tmp_path / "t.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ClinicalDataError, match="alarm_limits: unknown keys: spo2_lo"):
        load_protocol_file(p)


def test_template_with_bad_schedule_point_is_refused(tmp_path, lib):
    d = lib.get("iv-ketamine-0.5").to_dict()
    d["schedule"]["observations"][0]["at"] = ["baseline", "lunch"]
    p = tmp_path / "t.json"
    p.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ClinicalDataError, match="time point 'lunch'"):
        load_protocol_file(p)


def test_alarm_engine_accepts_every_templates_limits(lib):
    from console.alarms.limits import AlarmLimits

    for p in lib:
        limits = AlarmLimits.from_dict(p.alarm_limits, p.version_tag)
        assert limits.protocol_version == p.version_tag
        assert limits.to_dict() == p.alarm_limits

"""The ``data`` payload of every entry kind the session record stores, built and validated here.

Each builder takes what a form collected and returns a JSON-able dict, or raises ``ValueError`` with a message
naming the field and what is wrong, so the form can show it next to the value and keep what was typed.
Times inside data are stored as UTC ISO text; the entry's own ``at`` is set by the record service.
The shapes built here are the ones :mod:`console.clinical.entry_model` checks at the service (a builder's
output always passes it; ``tests/clinical/test_entry_model.py`` holds them to that).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from console.clinical._common import is_int, is_number, iso_utc
from console.clinical.discharge import CRITERION_KEYS, CriterionResult
from console.clinical.entry_model import CONCOMITANT_KEYS, GRADES, MAX_TEXT, OUTCOMES
from console.clinical.protocols import DosePlan, HoldCheck, check_weight
from console.clinical.scales import Scale, ScaleResult
from console.clinical.schedule import Checkpoint
from console.clinical.vitals import vitals_snapshot

#: labels of the concomitant medication classes the esketamine REMS form asks about (yes/no each)
CONCOMITANT_LABELS: dict[str, str] = {
    "benzodiazepines": "Benzodiazepines",
    "sedative_hypnotics": "Non-benzodiazepine sedative hypnotics",
    "psychostimulants": "Psychostimulants",
    "maois": "MAOIs",
    "opioids": "Opioids",
}


# -- small validators ---------------------------------------------------------------------------------------------
def _text(value: Any, what: str, *, required: bool = False, min_len: int = 1) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    value = value.strip()
    if required and len(value) < min_len:
        raise ValueError(f"{what} is required" if min_len <= 1 else
                         f"{what} is required (at least {min_len} characters)")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{what} is too long ({len(value)} characters, at most {MAX_TEXT})")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be answered yes or no")
    return value


def _num(value: Any, what: str, *, lo: float | None = None, hi: float | None = None,
         allow_zero: bool = False) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not a number") from None
    if not is_number(value) or math.isinf(value):
        raise ValueError(f"{what} must be a number")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'zero or more' if allow_zero else 'above zero'}")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ValueError(f"{what} {value:g} is outside {lo:g} to {hi:g}")
    return float(value)


def _time(value: Any, what: str) -> str:
    try:
        return iso_utc(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a valid date and time") from None


def _snapshot(vitals: Mapping[Any, Any] | None) -> dict[str, Any]:
    """Accept either ``latest_vitals()`` (int codes -> tuples) or an already-built snapshot."""
    if not vitals:
        return {}
    if all(isinstance(k, str) and isinstance(v, Mapping) for k, v in vitals.items()):
        return {k: dict(v) for k, v in vitals.items()}
    return vitals_snapshot(vitals)


# -- builders -----------------------------------------------------------------------------------------------------
def precheck_data(*, identity_confirmed: bool, consent_on_file: bool, fasting: bool, escort_arranged: bool,
                  medication_changes: str = "", weight_kg: float | str | None = None,
                  concomitant: Mapping[str, bool] | None = None, iv_site: str = "",
                  baseline_vitals: Mapping[Any, Any] | None = None, notes: str = "") -> dict[str, Any]:
    """Pre-treatment checks. Recorded as answered (a "no" is recorded, the panel warns about it)."""
    data: dict[str, Any] = {
        "identity_confirmed": _bool(identity_confirmed, "Identity confirmed"),
        "consent_on_file": _bool(consent_on_file, "Consent on file"),
        "fasting": _bool(fasting, "Fasting"),
        "escort_arranged": _bool(escort_arranged, "Escort / transport home arranged"),
        "medication_changes": _text(medication_changes, "Medication changes"),
        "iv_site": _text(iv_site, "IV site"),
        "notes": _text(notes, "Notes"),
    }
    if weight_kg is not None and weight_kg != "":
        data["weight_kg"] = check_weight(_num(weight_kg, "Weight (kg)"))
    conc = dict(concomitant or {})
    unknown = [k for k in conc if k not in CONCOMITANT_KEYS]
    if unknown:
        raise ValueError(f"unknown concomitant medication class: {', '.join(unknown)}")
    data["concomitant"] = {k: _bool(conc[k], CONCOMITANT_LABELS[k]) for k in CONCOMITANT_KEYS if k in conc}
    data["baseline_vitals"] = _snapshot(baseline_vitals)
    return data


def _scored(scale: Scale, answers: Mapping[Any, Any] | ScaleResult,
            baseline_total: int | None) -> ScaleResult:
    if isinstance(answers, ScaleResult):
        if answers.scale_id != scale.id:
            raise ValueError(f"result of {answers.scale_id} given for {scale.title}")
        return answers
    return scale.score(answers, baseline_total)  # ScoreError is a ValueError with every problem listed


def _scale_fields(scale: Scale, result: ScaleResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scale": scale.id, "scale_version": scale.version, "title": scale.title,
        "items": dict(result.items), "total": result.total,
    }
    if result.subscales:
        data["subscales"] = dict(result.subscales)
    if result.band is not None:
        data["band"] = result.band
    data["flags"] = [f.as_dict() for f in result.flags]
    if scale.loinc:
        data["loinc"] = scale.loinc
    if not scale.validated:
        data["validated"] = False
    if scale.additional_only:
        data["additional_only"] = True
    if scale.licensed:
        data["licensed_wording"] = True
    if result.baseline_total is not None:
        data["baseline_total"] = result.baseline_total
    return data


def questionnaire_data(scale: Scale, answers: Mapping[Any, Any] | ScaleResult, *,
                       timing: str = "before") -> dict[str, Any]:
    """A before/after questionnaire (PHQ-9, GAD-7) with total, band, LOINC code and flags."""
    if timing not in ("before", "after"):
        raise ValueError("timing must be 'before' or 'after' the treatment")
    data = _scale_fields(scale, _scored(scale, answers, None))
    data["timing"] = timing
    return data


def observation_data(scale: Scale, answers: Mapping[Any, Any] | ScaleResult, *,
                     vitals: Mapping[Any, Any] | None = None, baseline_total: int | None = None,
                     point: str | None = None) -> dict[str, Any]:
    """A rating at the chair (MOAA/S, CADSS-6, RASS, 0-10) with a snapshot of the live vitals."""
    data = _scale_fields(scale, _scored(scale, answers, baseline_total))
    data["vitals"] = _snapshot(vitals)
    if point is not None:
        data["point"] = _text(point, "Time point")
    return data


def hold_override_data(check: HoldCheck, reason: str, *, sbp: float | None, dbp: float | None,
                       age_years: float | None = None) -> dict[str, Any]:
    """Proceeding despite a hold limit: the reason is required (at least a few words)."""
    data: dict[str, Any] = {
        "reason": _text(reason, "Reason for proceeding above the hold limit", required=True, min_len=5),
        "limit": f"{check.sbp_max:g}/{check.dbp_max:g}",
        "message": check.message,
        "sbp": None if sbp is None else _num(sbp, "Systolic BP"),
        "dbp": None if dbp is None else _num(dbp, "Diastolic BP"),
    }
    if age_years is not None:
        data["age_years"] = _num(age_years, "Age", allow_zero=True)
    return data


def infusion_start_data(plan: DosePlan, *, route: str, protocol_tag: str = "") -> dict[str, Any]:
    """Start of an infusion (or the IM injection, for a bolus protocol)."""
    data = {k: v for k, v in plan.as_dict().items() if k in (
        "dose_mg", "mg_per_kg", "weight_kg", "duration_min", "concentration_mg_per_ml", "volume_ml", "rate_ml_h")}
    _num(plan.dose_mg, "Dose (mg)")
    if plan.rate_ml_h is not None:
        _num(plan.rate_ml_h, "Pump rate (mL/h)")
    data["route"] = _text(route, "Route", required=True)
    if protocol_tag:
        data["protocol"] = protocol_tag
    return data


def infusion_pause_data(reason: str) -> dict[str, Any]:
    return {"reason": _text(reason, "Reason for pausing", required=True)}


def infusion_resume_data(reason: str = "", *, rate_ml_h: float | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"reason": _text(reason, "Reason")}
    if rate_ml_h is not None:
        data["rate_ml_h"] = _num(rate_ml_h, "Pump rate (mL/h)", hi=10_000)
    return data


def infusion_rate_data(rate_ml_h: float | str, reason: str, *, previous_rate_ml_h: float | None = None) -> dict[str, Any]:
    """A pump-rate change; the reason is required."""
    rate = _num(rate_ml_h, "New pump rate (mL/h)", hi=10_000)
    if previous_rate_ml_h is not None and abs(rate - previous_rate_ml_h) < 1e-9:
        raise ValueError(f"the new rate equals the current rate ({rate:g} mL/h)")
    data: dict[str, Any] = {"rate_ml_h": rate, "reason": _text(reason, "Reason for the rate change", required=True)}
    if previous_rate_ml_h is not None:
        data["previous_rate_ml_h"] = float(previous_rate_ml_h)
    return data


def infusion_stop_data(*, completed: bool = True, reason: str = "", dose_given_mg: float | None = None,
                       volume_given_ml: float | None = None) -> dict[str, Any]:
    """End of the infusion; stopping before the planned dose needs a reason."""
    data: dict[str, Any] = {"completed": _bool(completed, "Completed")}
    data["reason"] = _text(reason, "Reason for stopping early", required=not completed)
    if dose_given_mg is not None:
        data["dose_given_mg"] = _num(dose_given_mg, "Dose given (mg)", allow_zero=True)
    if volume_given_ml is not None:
        data["volume_given_ml"] = _num(volume_given_ml, "Volume given (mL)", allow_zero=True)
    return data


def esketamine_dose_data(device_number: int, *, devices_planned: int, device_mg: float = 28.0,
                         lot: str = "") -> dict[str, Any]:
    """One nasal device given (device n of N, 28 mg each)."""
    if not is_int(device_number) or not 1 <= device_number <= devices_planned:
        raise ValueError(f"device number must be 1 to {devices_planned} (got {device_number!r})")
    return {"device_number": device_number, "devices_planned": devices_planned,
            "device_mg": _num(device_mg, "Device strength (mg)"), "lot": _text(lot, "Lot number")}


def side_effect_data(name: str, *, onset: Any, grade: int, intervention: Mapping[str, Any] | None = None,
                     outcome: str = "ongoing", notes: str = "") -> dict[str, Any]:
    """A side effect with its CTCAE grade (1-4), the intervention (drug or non-drug) and the outcome.

    ``intervention`` is ``None`` (none given), ``{"type": "drug", "drug", "dose", "route", "time"}`` or
    ``{"type": "non_drug", "action", "time"}``.
    """
    if not is_int(grade) or grade not in GRADES:
        raise ValueError(f"grade must be 1 (mild), 2 (moderate), 3 (severe) or 4 (life-threatening), not {grade!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of: {', '.join(OUTCOMES)}")
    data: dict[str, Any] = {
        "name": _text(name, "Side effect", required=True), "onset": _time(onset, "Onset time"),
        "grade": grade, "grade_label": GRADES[grade], "outcome": outcome, "notes": _text(notes, "Notes"),
    }
    if intervention is None or intervention.get("type") in (None, "none"):
        data["intervention"] = None
    elif intervention.get("type") == "drug":
        data["intervention"] = {
            "type": "drug", "drug": _text(intervention.get("drug"), "Drug", required=True),
            "dose": _text(intervention.get("dose"), "Drug dose", required=True),
            "route": _text(intervention.get("route"), "Drug route", required=True),
            "time": _time(intervention.get("time"), "Time the drug was given"),
        }
    elif intervention.get("type") == "non_drug":
        data["intervention"] = {
            "type": "non_drug", "action": _text(intervention.get("action"), "Intervention", required=True),
            "time": _time(intervention.get("time"), "Intervention time"),
        }
    else:
        raise ValueError("intervention type must be none, drug or non_drug")
    return data


def note_data(text: str) -> dict[str, Any]:
    return {"text": _text(text, "Note", required=True)}


def check_overdue_data(checkpoint: Checkpoint) -> dict[str, Any]:
    """Record that a scheduled check was not done on time (written once per checkpoint)."""
    return {"key": checkpoint.key, "what": checkpoint.what, "label": checkpoint.label,
            "state": checkpoint.state,
            "due_at": None if checkpoint.due_at is None else iso_utc(checkpoint.due_at)}


def discharge_data(results: list[CriterionResult], *, ready_minutes: float | None = None,
                   override_reason: str = "", vitals: Mapping[Any, Any] | None = None,
                   notes: str = "") -> dict[str, Any]:
    """Discharge with the checklist as judged; an unmet criterion needs an override reason."""
    keys = [r.key for r in results]
    missing = [k for k in CRITERION_KEYS if k not in keys]
    if missing:
        raise ValueError(f"discharge checklist incomplete: {', '.join(missing)}")
    unmet = [r.label for r in results if r.met is not True]
    reason = _text(override_reason, "Reason for discharge with criteria not met", required=bool(unmet), min_len=5)
    data: dict[str, Any] = {
        "criteria": {r.key: r.met for r in results},
        "criteria_detail": {r.key: r.detail for r in results if r.detail},
        "all_met": not unmet, "unmet": unmet, "override_reason": reason,
        "vitals": _snapshot(vitals), "notes": _text(notes, "Notes"),
    }
    if ready_minutes is not None:
        data["ready_minutes"] = _num(ready_minutes, "Minutes until ready to leave", allow_zero=True)
    return data

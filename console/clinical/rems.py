"""Esketamine REMS patient monitoring form: its fields, and filling them from a session's entries.

The form is due within 7 days of the treatment. What the record cannot know (provider and setting details,
patient identity) is passed in; everything else comes from the entries. :attr:`RemsForm.missing` lists the
required fields still empty, so the clinician sees what to complete before submitting.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.clinical._common import field as _field
from console.clinical._common import to_epoch
from console.clinical.vitals import bp_from_snapshot

#: (key, label, required) in the order of the form
REMS_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("patient_name", "Patient name", True),
    ("patient_birth_date", "Patient date of birth", True),
    ("patient_sex", "Patient sex", True),
    ("concomitant_benzodiazepines", "Concomitant benzodiazepines", True),
    ("concomitant_sedative_hypnotics", "Concomitant non-benzodiazepine sedative hypnotics", True),
    ("concomitant_psychostimulants", "Concomitant psychostimulants", True),
    ("concomitant_maois", "Concomitant MAOIs", True),
    ("concomitant_opioids", "Concomitant opioids", True),
    ("provider_name", "Monitoring provider name", True),
    ("provider_phone", "Monitoring provider phone", True),
    ("provider_email", "Monitoring provider e-mail", True),
    ("setting_name", "Healthcare setting name", True),
    ("setting_address", "Healthcare setting address", True),
    ("treatment_date", "Treatment date", True),
    ("dose", "Dose (56 / 84 / other mg)", True),
    ("dose_mg", "Dose given (mg)", False),
    ("lot_numbers", "Lot number(s)", True),
    ("monitoring_duration_min", "Monitoring duration from first device to end of monitoring (min)", True),
    ("ready_to_leave_min", "When the patient would have been ready to leave (min)", True),
    ("vitals_acceptable_before", "Vital signs acceptable before administration", True),
    ("vitals_acceptable_before_completion", "Vital signs acceptable before completion of monitoring", True),
    ("bp_before_administration", "Blood pressure before administration", True),
    ("bp_at_40_min", "Blood pressure at about 40 min", True),
    ("bp_before_completion", "Blood pressure before completion of monitoring", True),
    ("sedation", "Sedation occurred", True),
    ("dissociation", "Dissociation occurred", True),
    ("respiratory_depression", "Respiratory depression occurred", True),
    ("serious_adverse_events", "Serious adverse events", True),
    ("due_by", "Form due by", False),
)
REMS_LABELS: dict[str, str] = {k: label for k, label, _ in REMS_FIELDS}
#: a BP counts as "at 40 min" within this many minutes of it
BP_40_WINDOW_MIN = 10.0


@dataclass(frozen=True, slots=True)
class RemsForm:
    """The filled form: ``values`` by field key (``None`` = unknown) and the labels of missing required fields."""

    values: dict[str, Any]
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def _bp_readings(entries: list[Any], extra: Iterable[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """All BP readings (time, sys, dia) found in entry snapshots plus ``extra`` from the stored numerics."""
    out = [(float(t), float(s), float(d)) for t, s, d in extra]
    for e in entries:
        data = _field(e, "data") or {}
        for key in ("vitals", "baseline_vitals"):
            snap = data.get(key) if isinstance(data, dict) else None
            if isinstance(snap, dict):
                bp = bp_from_snapshot(snap)
                if bp is not None:
                    out.append((bp[2] if bp[2] is not None else to_epoch(_field(e, "at")), bp[0], bp[1]))
    return sorted(set(out))


def _bp(r: tuple[float, float, float] | None) -> str | None:
    return None if r is None else f"{r[1]:g}/{r[2]:g}"


def fill_rems(entries: Iterable[Any], *, patient: Mapping[str, Any] | None = None,
              provider: Mapping[str, Any] | None = None, setting: Mapping[str, Any] | None = None,
              bp_readings: Iterable[tuple[float, float, float]] = ()) -> RemsForm:
    """Fill the REMS form from entries (dicts or objects with ``kind``, ``at``, ``data``).

    ``patient`` has ``name``, ``birth_date``, ``sex``; ``provider`` ``name``, ``phone``, ``email``; ``setting``
    ``name``, ``address``. ``bp_readings`` adds (time, sys, dia) from the stored numerics.
    """
    entries = sorted(entries, key=lambda e: to_epoch(_field(e, "at")) or 0.0)
    patient, provider, setting = dict(patient or {}), dict(provider or {}), dict(setting or {})
    v: dict[str, Any] = {k: None for k, _, _ in REMS_FIELDS}
    v["patient_name"] = patient.get("name") or None
    bd = patient.get("birth_date")
    v["patient_birth_date"] = bd.isoformat() if isinstance(bd, (_dt.date, _dt.datetime)) else (bd or None)
    v["patient_sex"] = patient.get("sex") or None
    for k in ("name", "phone", "email"):
        v[f"provider_{k}"] = provider.get(k) or None
    for k in ("name", "address"):
        v[f"setting_{k}"] = setting.get(k) or None

    by_kind: dict[str, list[Any]] = {}
    for e in entries:
        by_kind.setdefault(_field(e, "kind"), []).append(e)

    prechecks = by_kind.get("precheck", [])
    if prechecks:
        conc = (_field(prechecks[-1], "data") or {}).get("concomitant") or {}
        for k in ("benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois", "opioids"):
            if isinstance(conc.get(k), bool):
                v[f"concomitant_{k}"] = conc[k]

    doses = by_kind.get("esketamine_dose", [])
    first = to_epoch(_field(doses[0], "at")) if doses else None
    if doses:
        total = sum(float((_field(e, "data") or {}).get("device_mg", 28)) for e in doses)
        v["dose_mg"] = total
        v["dose"] = f"{total:g} mg" if total in (56.0, 84.0) else f"other ({total:g} mg)"
        lots = sorted({(_field(e, "data") or {}).get("lot") for e in doses} - {None, ""})
        v["lot_numbers"] = ", ".join(lots) or None
        day = _dt.datetime.fromtimestamp(first, _dt.timezone.utc).astimezone().date()
        v["treatment_date"] = day.isoformat()
        v["due_by"] = (day + _dt.timedelta(days=7)).isoformat()

    discharge = by_kind.get("discharge", [])
    end = to_epoch(_field(discharge[-1], "at")) if discharge else None
    if discharge:
        d = _field(discharge[-1], "data") or {}
        if d.get("ready_minutes") is not None:
            v["ready_to_leave_min"] = d["ready_minutes"]
        crit = (d.get("criteria") or {}).get("vitals_near_baseline")
        if isinstance(crit, bool):
            v["vitals_acceptable_before_completion"] = crit
    if first is not None and end is not None:
        v["monitoring_duration_min"] = round((end - first) / 60.0)

    readings = _bp_readings(entries, bp_readings)
    if first is not None:
        before = [r for r in readings if r[0] <= first]
        v["bp_before_administration"] = _bp(before[-1] if before else None)
        target = first + 40 * 60.0
        near = [r for r in readings if abs(r[0] - target) <= BP_40_WINDOW_MIN * 60.0]
        v["bp_at_40_min"] = _bp(min(near, key=lambda r: abs(r[0] - target)) if near else None)
        if before and not by_kind.get("hold_override"):
            v["vitals_acceptable_before"] = True  # with an override, the clinician must answer it
    if end is not None:
        upto = [r for r in readings if r[0] <= end and (first is None or r[0] > first)]
        v["bp_before_completion"] = _bp(upto[-1] if upto else None)

    observations = by_kind.get("observation", [])
    side = by_kind.get("side_effect", [])
    names = [str((_field(e, "data") or {}).get("name", "")).lower() for e in side]
    flags = {f.get("id") for e in observations for f in ((_field(e, "data") or {}).get("flags") or [])
             if isinstance(f, dict)}
    if observations or side or discharge:
        v["sedation"] = "sedation" in flags or any("sedation" in n for n in names)
        v["dissociation"] = "dissociation" in flags or any("dissociation" in n for n in names)
        v["respiratory_depression"] = any("respiratory depression" in n for n in names)
        serious = [(_field(e, "data") or {}).get("name") for e in side
                   if ((_field(e, "data") or {}).get("grade") or 0) >= 3]
        v["serious_adverse_events"] = ", ".join(str(s) for s in serious) if serious else "none"

    missing = [label for key, label, required in REMS_FIELDS if required and v[key] in (None, "")]
    return RemsForm(v, missing)

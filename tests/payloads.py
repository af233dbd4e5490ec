"""A valid payload of every kind a user may add, for tests that need "some entry of kind X".

They are what the console's builders (``console.clinical.entries``) produce, written out so a test reads
plainly; ``tests/clinical/test_entry_model.py`` checks every one against the entry model.
"""

from __future__ import annotations

import copy
from typing import Any

SNAPSHOT: dict[str, dict[str, Any]] = {
    "150037": {"label": "NIBP sys", "value": 128.0, "unit": "mmHg", "at": "2026-11-25T14:00:00Z", "state": []},
}


def moaas(score: int = 5, **extra: Any) -> dict[str, Any]:
    """A MOAA/S observation as the panel stores it."""
    return {"scale": "moaas", "scale_version": 1, "title": "MOAA/S", "items": {"score": score}, "total": score,
            "flags": [], "vitals": {}, **extra}


def cadss6(total_items: tuple[int, ...] = (0, 0, 0, 0, 0, 0), **extra: Any) -> dict[str, Any]:
    ids = ("1", "2", "6", "7", "15", "22")
    items = dict(zip(ids, total_items, strict=True))
    return {"scale": "cadss6", "scale_version": 1, "title": "CADSS-6", "items": items,
            "total": sum(items.values()), "flags": [], "vitals": {}, **extra}


_VALID: dict[str, dict[str, Any]] = {
    "precheck": {"identity_confirmed": True, "consent_on_file": True, "fasting": True, "escort_arranged": True,
                 "medication_changes": "", "iv_site": "left forearm", "notes": "", "weight_kg": 72.5,
                 "concomitant": {"opioids": False}, "baseline_vitals": SNAPSHOT},
    "questionnaire": {"scale": "gad7", "scale_version": 1, "title": "GAD-7",
                      "items": {str(i): 1 for i in range(1, 8)}, "total": 7, "band": "mild", "flags": [],
                      "timing": "before"},
    "hold_override": {"reason": "anxious, BP settles when calm", "limit": "150/90", "message": "BP above limit",
                      "sbp": 152.0, "dbp": 88.0},
    "infusion_start": {"dose_mg": 36.0, "mg_per_kg": 0.5, "weight_kg": 72.0, "duration_min": 40.0,
                       "rate_ml_h": 54.0, "route": "IV"},
    "infusion_pause": {"reason": "patient asked for a break"},
    "infusion_resume": {"reason": "", "rate_ml_h": 54.0},
    "infusion_rate": {"rate_ml_h": 30.0, "reason": "nausea", "previous_rate_ml_h": 54.0},
    "infusion_stop": {"completed": True, "reason": "", "dose_given_mg": 36.0},
    "esketamine_dose": {"device_number": 1, "devices_planned": 3, "device_mg": 28.0, "lot": "A1"},
    "observation": moaas(4),
    "side_effect": {"name": "Nausea", "onset": "2026-11-25T14:20:00Z", "grade": 2, "grade_label": "moderate",
                    "outcome": "improving", "notes": "",
                    "intervention": {"type": "drug", "drug": "ondansetron", "dose": "4 mg", "route": "IV",
                                     "time": "2026-11-25T14:22:00Z"}},
    "intervention": {"type": "non_drug", "action": "lights dimmed", "time": "2026-11-25T14:22:00Z"},
    "note": {"text": "patient calm"},
    "check_overdue": {"key": "obs:moaas:20", "what": "observation", "label": "MOAA/S at 20 min",
                      "state": "overdue", "due_at": "2026-11-25T14:20:00Z"},
    "alarm": {"event": "start", "time": 1_764_079_200.0, "alarm_id": 1, "key": "spo2_low", "priority": "high",
              "parameter": "SpO2", "message": "SpO2 low", "value": 88.0, "unit": "%"},
    "discharge": {"criteria": {k: True for k in ("vitals_near_baseline", "alert_oriented", "moaas_5", "able_to_walk", "escort_present",
                                                    "instructions_given")},
                  "criteria_detail": {}, "all_met": True, "unmet": [], "override_reason": "", "vitals": {},
                  "notes": ""},
}


def valid(kind: str) -> dict[str, Any]:
    """A fresh copy of a valid payload of ``kind`` (every user kind has one)."""
    return copy.deepcopy(_VALID[kind])


def kinds() -> tuple[str, ...]:
    return tuple(_VALID)

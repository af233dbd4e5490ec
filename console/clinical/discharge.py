"""Discharge criteria checklist.

A patient may leave when vitals are back near baseline, they are alert and oriented, MOAA/S is 5, they can
walk, an escort is present and written instructions (no driving until the next day) were given. Two criteria
are evaluated from data (vitals against baseline with the template's ``discharge`` tolerances, and the last
MOAA/S); the others are the clinician's confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices import mdc

from console.clinical.vitals import snapshot_value

#: (key, label, evaluated automatically?) in the order the checklist shows them
CRITERIA: tuple[tuple[str, str, bool], ...] = (
    ("vitals_near_baseline", "Vital signs back near baseline", True),
    ("alert_oriented", "Alert and oriented", False),
    ("moaas_5", "MOAA/S 5 (responds readily to name)", True),
    ("able_to_walk", "Able to walk steadily", False),
    ("escort_present", "Escort present to take the patient home", False),
    ("instructions_given", "Written instructions given (no driving until the next day)", False),
)
CRITERION_KEYS: tuple[str, ...] = tuple(k for k, _, _ in CRITERIA)
#: tolerances used when a template has no ``discharge`` section
DEFAULT_TOLERANCES: dict[str, float] = {"sbp_within": 20, "dbp_within": 15, "hr_within": 20, "spo2_min": 94}


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One line of the checklist: ``met`` is ``None`` when it cannot be judged (no data, not confirmed)."""

    key: str
    label: str
    met: bool | None
    detail: str = ""
    automatic: bool = False


def vitals_near_baseline(baseline: Mapping[str, Any] | None, current: Mapping[str, Any] | None,
                         tolerances: Mapping[str, float] | None = None) -> tuple[bool | None, str]:
    """Compare two vitals snapshots: (met, plain explanation). ``None`` when either has no usable BP."""
    tol = dict(DEFAULT_TOLERANCES)
    tol.update(tolerances or {})
    if not baseline:
        return None, "no baseline vitals recorded (save the pre-check)"
    if not current:
        return None, "no current vitals from the monitor"
    pairs = ((mdc.NIBP_SYS, "sbp_within", "SBP"), (mdc.NIBP_DIA, "dbp_within", "DBP"),
             (mdc.HEART_RATE, "hr_within", "HR"))
    problems: list[str] = []
    compared = 0
    for code, key, name in pairs:
        b, c = snapshot_value(baseline, code), snapshot_value(current, code)
        if b is None or c is None:
            continue
        compared += 1
        if abs(c - b) > tol[key]:
            problems.append(f"{name} {c:g} vs baseline {b:g} (more than {tol[key]:g} apart)")
    spo2 = snapshot_value(current, mdc.SPO2)
    if spo2 is not None and spo2 < tol["spo2_min"]:
        problems.append(f"SpO2 {spo2:g} % below {tol['spo2_min']:g} %")
    if snapshot_value(current, mdc.NIBP_SYS) is None or snapshot_value(baseline, mdc.NIBP_SYS) is None:
        return None, "take a blood pressure to compare with baseline"
    if problems:
        return False, "; ".join(problems)
    return True, f"{compared} vital signs within tolerance of baseline"


def evaluate(confirmations: Mapping[str, bool], *, baseline_vitals: Mapping[str, Any] | None = None,
             current_vitals: Mapping[str, Any] | None = None, last_moaas: int | None = None,
             tolerances: Mapping[str, float] | None = None) -> list[CriterionResult]:
    """The checklist with automatic criteria evaluated and the clinician's confirmations applied.

    A clinician's explicit confirmation of an automatic criterion is kept only when the data cannot judge it
    (no BP, no MOAA/S recorded); data that says "not met" is never overridden silently.
    """
    out: list[CriterionResult] = []
    for key, label, automatic in CRITERIA:
        confirmed = confirmations.get(key)
        if key == "vitals_near_baseline":
            met, detail = vitals_near_baseline(baseline_vitals, current_vitals, tolerances)
            if met is None and confirmed is not None:
                met, detail = bool(confirmed), "confirmed by the clinician"
        elif key == "moaas_5":
            if last_moaas is None:
                met, detail = (None, "no MOAA/S recorded") if confirmed is None else \
                    (bool(confirmed), "confirmed by the clinician")
            else:
                met, detail = last_moaas == 5, f"last MOAA/S {last_moaas}"
        else:
            met = None if confirmed is None else bool(confirmed)
            detail = ""
        out.append(CriterionResult(key, label, met, detail, automatic))
    return out


def all_met(results: list[CriterionResult]) -> bool:
    """True only when every criterion is met (an unknown one is not met)."""
    return all(r.met is True for r in results)


def unmet(results: list[CriterionResult]) -> list[CriterionResult]:
    """Criteria not met or not judged, in checklist order."""
    return [r for r in results if r.met is not True]

"""The course of one patient: per session the scores, vitals extremes, side effects and dose (no Qt).

Values come from the entries as corrected by their amendments
(:func:`~console.review.timeline.effective_entries`) and from the stored NIBP readings. Blood pressure:

* readings are the completed NIBP measurements of the session plus every BP in an entry's vitals snapshot;
* the baseline is the pre-check's baseline BP, else the last reading before dosing started, else the first
  one;
* the peak is the highest systolic and the highest diastolic; the rise is each minus its baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from console.clinical._common import to_epoch
from console.clinical.vitals import bp_from_snapshot
from console.review.timeline import EffectiveEntry, effective_entries
from console.review.trends import NibpReadings, load_nibp

_DOSING_KINDS = ("infusion_start", "esketamine_dose")


@dataclass(frozen=True, slots=True)
class CourseRow:
    """One session of a patient's course. ``None`` where the session has no such value."""

    session_id: int
    started_at: datetime
    status: str
    demo: bool
    protocol: str
    phq9: int | None
    gad7: int | None
    peak_cadss: int | None
    lowest_moaas: int | None
    baseline_bp: tuple[float, float] | None
    peak_bp: tuple[float, float] | None
    bp_rise: tuple[float, float] | None
    side_effects: tuple[str, ...]
    dose_mg: float | None
    #: ``given``, ``devices``, ``planned`` (no stop recorded) or ``""`` (no dosing recorded)
    dose_basis: str
    amended: bool

    @property
    def side_effects_text(self) -> str:
        return ", ".join(self.side_effects) if self.side_effects else "none"


def _score(entries: Iterable[EffectiveEntry], kind: str, scale_prefix: str) -> list[int]:
    out = []
    for e in entries:
        if e.kind == kind and str(e.data.get("scale", "")).lower().startswith(scale_prefix):
            total = e.data.get("total")
            if isinstance(total, (int, float)) and not isinstance(total, bool):
                out.append(int(total))
    return out


def _before(entries: Sequence[EffectiveEntry], scale: str) -> int | None:
    """The last pre-session total of a questionnaire (``timing`` before, or untimed)."""
    vals = [
        e
        for e in entries
        if e.kind == "questionnaire"
        and e.data.get("scale") == scale
        and e.data.get("timing", "before") == "before"
    ]
    total = vals[-1].data.get("total") if vals else None
    return int(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None


def bp_readings(
    entries: Sequence[EffectiveEntry], nibp: NibpReadings | None
) -> list[tuple[float, float, float]]:
    """(time, sys, dia) of every BP reading: stored NIBP measurements and BPs in entry snapshots."""
    out: list[tuple[float, float, float]] = []
    if nibp is not None:
        for t, s, d in zip(nibp.t.tolist(), nibp.sys.tolist(), nibp.dia.tolist(), strict=True):
            if np.isfinite(s) and np.isfinite(d):
                out.append((t, s, d))
    for e in entries:
        for key in ("vitals", "baseline_vitals"):
            snap = e.data.get(key)
            if isinstance(snap, dict) and (bp := bp_from_snapshot(snap)) is not None:
                at = bp[2] if bp[2] is not None else to_epoch(e.at)
                out.append((float(at or 0.0), bp[0], bp[1]))
    return sorted(set(out))


def baseline_bp(
    entries: Sequence[EffectiveEntry], readings: Sequence[tuple[float, float, float]]
) -> tuple[float, float] | None:
    """The session's baseline BP (see the module docstring)."""
    for e in entries:
        if e.kind == "precheck" and isinstance(e.data.get("baseline_vitals"), dict):
            bp = bp_from_snapshot(e.data["baseline_vitals"])
            if bp is not None:
                return bp[0], bp[1]
    starts = [to_epoch(e.at) for e in entries if e.kind in _DOSING_KINDS]
    start = min((s for s in starts if s is not None), default=None)
    if start is not None:
        before = [r for r in readings if r[0] <= start]
        if before:
            return before[-1][1], before[-1][2]
    return (readings[0][1], readings[0][2]) if readings else None


def _dose(entries: Sequence[EffectiveEntry]) -> tuple[float | None, str]:
    """(mg, basis): ``given`` (infusion stop), ``devices`` (nasal devices given) or ``planned`` (only the
    start was recorded, e.g. an interrupted session: the planned dose is not proof it was all given)."""
    given = _numbers(e.data.get("dose_given_mg") for e in entries if e.kind == "infusion_stop")
    if given:
        return given[-1], "given"
    devices = [e.data.get("device_mg", 28.0) for e in entries if e.kind == "esketamine_dose"]
    if devices:
        return float(sum(d for d in devices if isinstance(d, (int, float)))), "devices"
    planned = _numbers(e.data.get("dose_mg") for e in entries if e.kind == "infusion_start")
    return (planned[0], "planned") if planned else (None, "")


def _numbers(values: Iterable[object]) -> list[float]:
    """The numeric values among ``values`` (entries written by older versions may hold anything)."""
    return [float(v) for v in values if isinstance(v, (int, float))]


def course_row(info: Any, entries: Sequence[Any], nibp: NibpReadings | None = None) -> CourseRow:
    """The course values of one session from its :class:`SessionInfo`, entries and NIBP readings."""
    eff = effective_entries(entries)
    cadss = _score(eff, "observation", "cadss")
    moaas = _score(eff, "observation", "moaas")
    readings = bp_readings(eff, nibp)
    base = baseline_bp(eff, readings)
    peak = (max(r[1] for r in readings), max(r[2] for r in readings)) if readings else None
    rise = (peak[0] - base[0], peak[1] - base[1]) if peak and base else None
    effects = tuple(
        f"{e.data.get('name', '?')} (grade {e.data.get('grade', '?')})"
        for e in eff
        if e.kind == "side_effect"
    )
    return CourseRow(
        info.id,
        info.started_at,
        info.display_status,
        info.demo,
        f"{info.protocol_id} v{info.protocol_version}",
        _before(eff, "phq9"),
        _before(eff, "gad7"),
        max(cadss) if cadss else None,
        min(moaas) if moaas else None,
        base,
        peak,
        rise,
        effects,
        *_dose(eff),
        any(e.kind == "amendment" for e in entries),
    )


def course_rows(db: Any, svc: Any, patient_id: int) -> list[CourseRow]:
    """Every session of a patient, oldest first."""
    sessions = sorted(svc.sessions(patient_id=patient_id), key=lambda s: (s.started_at, s.id))
    return [course_row(s, svc.entries(s.id), load_nibp(db, s.id)) for s in sessions]

"""What an infusion actually gave: the volume and dose worked out from its entries, the pump rates and the clock.

A pure function of the (corrected) entries, so the stop confirmation, the stored ``infusion_stop`` and any later
reader compute the same figures. The pump rate in force over each running stretch is integrated; paused time
gives nothing; the total is capped at the planned volume (the pump stops at its volume to be infused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from console.clinical._common import field, to_epoch
from console.clinical.protocols import DosePlan

#: the planned dose counts as given when at least this share of the planned volume ran in (a pump stopped a
#: few seconds before its volume-to-be-infused is a completed infusion; a minute early on 40 is not)
COMPLETE_SHARE = 0.99
#: entries that end a running stretch at their time
_STRETCH_END = ("infusion_pause", "infusion_rate", "infusion_resume", "infusion_stop")


@dataclass(frozen=True, slots=True)
class StopSummary:
    """What stopping the infusion now would record: the confirm strip shows it before the clinician agrees."""

    minutes_running: float
    volume_ml: float
    dose_mg: float
    planned_dose_mg: float
    planned_volume_ml: float | None
    completed: bool

    def text(self) -> str:
        """``"Stopped early: 0.0 of 35 mg given (0.0 of 35 mL) after 0 min"`` for the confirm strip."""
        head = "Planned dose given" if self.completed else "Stopped early"
        vol = f"{self.volume_ml:.1f}" + (f" of {self.planned_volume_ml:g}" if self.planned_volume_ml else "")
        return (f"{head}: {self.dose_mg:.1f} of {self.planned_dose_mg:g} mg given ({vol} mL) after "
                f"{self.minutes_running:.0f} min running")


def infusion_given(entries: Iterable[Any], plan: DosePlan, now: float) -> StopSummary:
    """The volume and dose given by ``now`` (entries after ``now`` are ignored), and whether that is the plan."""
    volume = running = 0.0
    rate: float | None = None
    since: float | None = None  # start of the current running stretch
    for e in sorted(entries, key=lambda e: to_epoch(field(e, "at")) or 0.0):
        at = to_epoch(field(e, "at"))
        kind = field(e, "kind")
        data = field(e, "data") or {}
        if at is None or at > now:
            continue
        if kind in _STRETCH_END and since is not None and rate is not None:
            volume += rate * (at - since) / 3600.0
            running += at - since
        if kind == "infusion_start":
            rate, since = data.get("rate_ml_h", plan.rate_ml_h), at
        elif kind == "infusion_pause" or kind == "infusion_stop":
            since = None
        elif kind == "infusion_resume":
            rate, since = data.get("rate_ml_h", rate), at
        elif kind == "infusion_rate":
            rate = data.get("rate_ml_h", rate)
            since = at if since is not None else None
    if since is not None and rate is not None:
        volume += rate * (now - since) / 3600.0
        running += now - since
    planned_ml = plan.volume_ml
    if planned_ml is not None:
        volume = min(volume, planned_ml)
    conc = plan.concentration_mg_per_ml
    dose = volume * conc if conc else (plan.dose_mg * volume / planned_ml if planned_ml else 0.0)
    done = planned_ml is not None and volume >= planned_ml * COMPLETE_SHARE
    return StopSummary(running / 60.0, round(volume, 2), round(dose, 2), plan.dose_mg, planned_ml, done)

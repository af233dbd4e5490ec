"""Vitals snapshots: what the live monitor showed when an entry was written, in a JSON-able form.

The window passes ``latest_vitals() -> {mdc code: (value, state, time)}``; a snapshot stores it keyed by the MDC
code as text, with the label and unit so a reader needs no code table: ``{"150021": {"label": "NBP sys",
"value": 128, "unit": "mm[Hg]", "at": "2023-11-14T22:13:20.000000Z", "state": []}}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from console.clinical._common import iso_utc, to_epoch
from devices import mdc
from devices.model import State, state_names

#: the codes a blood-pressure reading is read from, in order of preference (non-invasive first)
BP_CODES: tuple[tuple[int, int], ...] = ((mdc.NIBP_SYS, mdc.NIBP_DIA), (mdc.ABP_SYS, mdc.ABP_DIA))


def _state_list(state: Any) -> list[str]:
    if isinstance(state, State):
        return state_names(state)
    if isinstance(state, (list, tuple)):
        return [str(s) for s in state]
    if state in (None, 0, ""):
        return []
    return [str(state)]


def vitals_snapshot(latest: Mapping[int, Any] | None) -> dict[str, dict[str, Any]]:
    """A JSON-able snapshot of ``latest_vitals()``; unusable tuples and non-numbers are skipped, never fatal."""
    snap: dict[str, dict[str, Any]] = {}
    for code, entry in (latest or {}).items():
        try:
            value, state, at = entry
            code = int(code)
        except (TypeError, ValueError):
            continue
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value)):
            continue
        p = mdc.PARAMETERS.get(code)
        snap[str(code)] = {
            "label": p.label if p else str(code), "value": value, "unit": p.unit if p else "",
            "at": _iso(at), "state": _state_list(state),
        }
    return snap


def _iso(at: Any) -> str | None:
    try:
        t = to_epoch(at)
    except (TypeError, ValueError):
        return None
    return None if t is None else iso_utc(t)


_UNUSABLE_NAMES = {"invalid", "questionable", "unavailable"}


def snapshot_value(snapshot: Mapping[str, Any], code: int) -> float | None:
    """A usable value of ``code`` from a snapshot, or ``None``."""
    v = snapshot.get(str(code))
    if not isinstance(v, Mapping) or v.get("value") is None:
        return None
    if _UNUSABLE_NAMES & set(v.get("state") or []):
        return None
    return float(v["value"])


def bp_from_snapshot(snapshot: Mapping[str, Any]) -> tuple[float, float, float | None] | None:
    """(systolic, diastolic, measurement time) from a snapshot, or ``None`` when it holds no usable BP."""
    for sys_code, dia_code in BP_CODES:
        s, d = snapshot_value(snapshot, sys_code), snapshot_value(snapshot, dia_code)
        if s is not None and d is not None:
            try:
                at = to_epoch(snapshot[str(sys_code)].get("at"))
            except (TypeError, ValueError):
                at = None
            return s, d, at
    return None


def bp_text(snapshot: Mapping[str, Any]) -> str:
    """``"128/82"`` or ``"--/--"``."""
    bp = bp_from_snapshot(snapshot)
    return "--/--" if bp is None else f"{bp[0]:g}/{bp[1]:g}"

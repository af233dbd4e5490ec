"""Markers on the review timeline, plain-text descriptions of entries, and amendments applied (no Qt).

An auditor reads entries as they were recorded; a correction is an ``amendment`` entry pointing at the
original. The corrected view comes from :func:`console.clinical.amendments.effective_record` (re-exported here as
:func:`effective_entries` for the browser and course views); :func:`entry_text` is the full description shown
when hovering a marker, with every correction and what the entry now reads.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from console.clinical._common import to_epoch
from console.clinical.amendments import EffectiveEntry, effective_entries, effective_record
from console.clinical.entry_model import CORRECTION_FIELD
from console.session_panel.summary import KIND_WORDS, entry_summary

#: marker categories, in the order of the legend; each entry kind belongs to one
CATEGORIES: tuple[str, ...] = (
    "infusion",
    "observation",
    "side_effect",
    "alarm",
    "overdue",
    "amendment",
    "signature",
    "other",
)
_KIND_CATEGORY: dict[str, str] = {
    "infusion_start": "infusion",
    "infusion_pause": "infusion",
    "infusion_resume": "infusion",
    "infusion_rate": "infusion",
    "infusion_stop": "infusion",
    "esketamine_dose": "infusion",
    "hold_override": "infusion",
    "observation": "observation",
    "questionnaire": "observation",
    "side_effect": "side_effect",
    "intervention": "side_effect",
    "alarm": "alarm",
    "check_overdue": "overdue",
    "amendment": "amendment",
    "signature": "signature",
}
CATEGORY_WORDS: dict[str, str] = {
    "infusion": "Dosing",
    "observation": "Observation",
    "side_effect": "Side effect",
    "alarm": "Alarm",
    "overdue": "Overdue",
    "amendment": "Amendment",
    "signature": "Signature",
    "other": "Other",
}


def category_of(kind: str) -> str:
    """The marker category of an entry kind (``"other"`` for pre-checks, notes, discharge, ...)."""
    return _KIND_CATEGORY.get(kind, "other")


def local_time(at: Any, seconds: bool = True) -> str:
    """Local wall-clock time of a datetime/POSIX time, ``"--"`` when unknown."""
    try:
        t = to_epoch(at)
    except (TypeError, ValueError):
        return "--"
    if t is None:
        return "--"
    return _dt.datetime.fromtimestamp(t).strftime("%H:%M:%S" if seconds else "%H:%M")


def local_datetime(at: Any) -> str:
    """``"2023-11-14 23:13:20"`` in local time, ``"--"`` when unknown."""
    try:
        t = to_epoch(at)
    except (TypeError, ValueError):
        return "--"
    return "--" if t is None else _dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def describe_entry(entry: Any) -> str:
    """One line saying what an entry records (no time), e.g. ``"MOAA/S 4, BP 150/95"``."""
    text = entry_summary(entry)
    # entry_summary starts with "HH:MM  "; the review shows times (and the kind) in their own columns
    text = text.split("  ", 1)[1] if "  " in text[:8] else text
    word = KIND_WORDS.get(getattr(entry, "kind", ""), "")
    if word and text.startswith(word + ": "):
        text = text[len(word) + 2 :]
    return text


@dataclass(frozen=True, slots=True)
class Marker:
    """One event on the timeline: an entry (``entry_id`` set) or a device alarm (``entry_id`` None)."""

    t: float
    kind: str
    category: str
    title: str
    text: str
    entry_id: str | None = None
    seq: int | None = None
    #: the entry's effective payload (amendments applied); ``None`` for amendments and device alarms
    data: dict[str, Any] | None = None
    amended: bool = False


def payload_text(kind: str, data: dict[str, Any]) -> str:
    """What a payload of ``kind`` says, as :func:`describe_entry` words it (for corrected payloads)."""
    text = describe_entry(_Shown(kind, data))
    correction = data.get(CORRECTION_FIELD)
    return text + (f" (correction: {correction})" if isinstance(correction, str) and correction else "")


@dataclass(frozen=True, slots=True)
class _Shown:
    kind: str
    data: dict[str, Any]
    at: Any = None


def entry_text(entry: Any, effective: EffectiveEntry | None = None) -> str:
    """The full hover text of an entry: what, when it describes, when entered, who and role, late, and (for an
    amended entry, given its :class:`EffectiveEntry`) every correction and what the entry now reads."""
    lines = [
        f"#{entry.seq} {KIND_WORDS.get(entry.kind, entry.kind)}: {describe_entry(entry)}",
        f"describes {local_datetime(entry.at)}",
        f"entered {local_datetime(entry.entered_at)} by {entry.username} ({entry.role})",
    ]
    if entry.late:
        lines.append("LATE ENTRY (written more than 5 min after the time it describes)")
    if entry.kind == "amendment":
        d = entry.data if isinstance(entry.data, dict) else {}
        lines.append(
            f"amends entry #{d.get('original_seq', '?')} ({d.get('original_kind', '?')}); "
            f"reason: {d.get('reason', '')}"
        )
        corrected = d.get("data")
        if isinstance(corrected, dict):
            lines.append("corrected to: " + payload_text(str(d.get("original_kind", "")), corrected))
    if effective is not None:
        for c in effective.corrections:
            lines.append(f"AMENDED by #{c.seq} ({c.by}, {local_datetime(c.entered_at)}): {c.reason}")
        if effective.amended:
            lines.append("now reads: " + payload_text(effective.kind, effective.data))
        for problem in effective.problems:
            lines.append(f"NOT IN TODAY'S FORMAT: {problem}")
    return "\n".join(lines)


def markers_from_entries(
    entries: Sequence[Any], device_alarms: Iterable[tuple[float, str]] = ()
) -> list[Marker]:
    """Timeline markers, in time order: one per entry (at the time it describes) and per device alarm.

    An original entry's marker carries its effective payload (``data``), from :func:`effective_record`."""
    effective = effective_record(entries).by_id()
    out: list[Marker] = []
    for e in entries:
        t = to_epoch(e.at)
        if t is None:
            continue
        eff = effective.get(e.id)
        out.append(
            Marker(
                t,
                e.kind,
                category_of(e.kind),
                KIND_WORDS.get(e.kind, e.kind),
                entry_text(e, eff),
                e.id,
                e.seq,
                None if eff is None else eff.data,
                eff is not None and eff.amended,
            )
        )
    for t, text in device_alarms:
        out.append(
            Marker(
                float(t),
                "device_alarm",
                "alarm",
                "Monitor alarm",
                f"Monitor alarm: {text}\nat {local_datetime(t)} (from the device, not a clinical entry)",
            )
        )
    out.sort(key=lambda m: (m.t, m.seq if m.seq is not None else -1))
    return out


def next_marker(markers: Sequence[Marker], t: float, direction: int) -> Marker | None:
    """The first marker strictly after ``t`` (direction +1) or before it (-1), allowing 0.5 s slack."""
    if direction > 0:
        return next((m for m in markers if m.t > t + 0.5), None)
    return next((m for m in reversed(markers) if m.t < t - 0.5), None)


def nearest_marker(markers: Sequence[Marker], t: float, within: float) -> Marker | None:
    """The marker closest to ``t`` if it lies within ``within`` seconds."""
    best = min(markers, key=lambda m: abs(m.t - t), default=None)
    return best if best is not None and abs(best.t - t) <= within else None


__all__ = [
    "CATEGORIES",
    "CATEGORY_WORDS",
    "EffectiveEntry",
    "Marker",
    "category_of",
    "describe_entry",
    "effective_entries",
    "entry_text",
    "local_datetime",
    "local_time",
    "markers_from_entries",
    "nearest_marker",
    "next_marker",
    "payload_text",
]

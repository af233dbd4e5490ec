"""Reading a session through its amendments.

The record never changes an entry: a correction is an ``amendment`` entry naming the original (``amends``) and
holding the corrected ``data`` with a reason. What the schedule, discharge checklist and REMS form should judge
is the corrected content, at the original entry's time; :func:`effective_entries` gives that view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from console.clinical._common import field


@dataclass(frozen=True, slots=True)
class EffectiveEntry:
    """An entry as currently corrected: original kind and time, latest amended data."""

    id: Any
    kind: str
    at: Any
    data: dict[str, Any]
    amended: bool = False


def amended_id(entry: Any) -> Any:
    """The id of the entry an amendment corrects (``amends`` attribute, or ``data["amends"]``), else ``None``."""
    target = field(entry, "amends")
    if target is None:
        data = field(entry, "data") or {}
        target = data.get("amends") if isinstance(data, dict) else None
    return target


def effective_entries(entries: Iterable[Any]) -> list[EffectiveEntry]:
    """Entries with amendments applied (later amendments win) and amendment entries themselves left out."""
    entries = list(entries)
    corrected: dict[Any, dict[str, Any]] = {}
    for e in entries:
        if field(e, "kind") == "amendment":
            data = field(e, "data") or {}
            target = amended_id(e)
            if target is not None and isinstance(data.get("data"), dict):
                corrected[target] = data["data"]
    out: list[EffectiveEntry] = []
    for e in entries:
        kind = field(e, "kind")
        if kind == "amendment":
            continue
        eid = field(e, "id")
        data = corrected.get(eid, field(e, "data") or {})
        out.append(EffectiveEntry(eid, kind, field(e, "at"), data, eid in corrected))
    return out

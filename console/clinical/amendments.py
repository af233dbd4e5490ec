"""Reading a session through its amendments: the ONE place that applies corrections.

The record never changes an entry: a correction is an ``amendment`` entry naming the original (``amends``) and
holding, in ``data["data"]``, the **complete corrected payload** of the original's kind (what the amend form
sends; the service validates it as such) with the reason. So:

* the effective payload of an entry is the payload of its latest correction (in sequence order), or its own
  payload when it was never corrected;
* every correction is kept in :attr:`EffectiveEntry.corrections`, oldest first, with reason, who and when;
* a correction always names the original entry (the service refuses to amend an amendment). A legacy record
  written before that rule may hold an amendment of an amendment: it is read as a correction of the same
  original, and flagged;
* a legacy amendment whose data is not a complete payload of the original's kind (older versions stored partial
  patches such as ``{"total": 14}``) is applied as a patch over the payload it corrected, and flagged, so no
  recorded field disappears from view;
* there is no "struck" or "voided" state in the record: an entry is corrected, never removed.

The session panel, the review window (timeline, log, browser, course), and every export and the PDF read
entries through :func:`effective_record` / :func:`effective_entries`; nothing else applies amendments.
Entries may be service records (attributes) or exported dicts (keys, ``user`` for the user name).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.clinical._common import field as get
from console.clinical.entry_model import payload_problems


@dataclass(frozen=True, slots=True)
class Correction:
    """One amendment of an entry: the corrected payload, why, who and when."""

    id: Any
    seq: int | None
    reason: str
    by: str
    role: str
    at: Any
    entered_at: Any
    data: dict[str, Any]
    #: why this correction does not fit today's model (legacy rows), else ``None``
    problem: str | None = None
    #: the amendment entry itself, as given
    entry: Any = None


@dataclass(frozen=True, slots=True)
class EffectiveEntry:
    """An entry as currently corrected: original kind, time and author; latest corrected payload."""

    id: Any
    seq: int | None
    kind: str
    at: Any
    data: dict[str, Any]
    original_data: dict[str, Any] = field(default_factory=dict)
    corrections: tuple[Correction, ...] = ()
    #: why the stored payload (or one of its corrections) does not fit today's model; empty when it does
    problems: tuple[str, ...] = ()
    #: the original entry itself, as given
    entry: Any = None

    @property
    def amended(self) -> bool:
        """True when at least one correction applies."""
        return bool(self.corrections)

    @property
    def legacy(self) -> bool:
        """True when the stored rows do not fit today's entry model (read and shown, flagged)."""
        return bool(self.problems)


@dataclass(frozen=True, slots=True)
class EffectiveRecord:
    """A session's entries with every amendment applied."""

    #: every entry that is not an amendment, in sequence order
    entries: list[EffectiveEntry]
    #: amendments whose original is not among the entries given (shown as such, never applied)
    orphans: list[Any]

    def by_id(self) -> dict[Any, EffectiveEntry]:
        return {e.id: e for e in self.entries}


def amended_id(entry: Any) -> Any:
    """The id of the entry an amendment corrects (``amends`` attribute/key, or ``data["amends"]``), else ``None``."""
    target = get(entry, "amends")
    if target is None:
        data = get(entry, "data") or {}
        target = data.get("amends") if isinstance(data, dict) else None
    return target


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _in_order(entries: Iterable[Any]) -> list[Any]:
    """Sequence order when every entry has its sequence number; else as given (the panel appends entries still
    waiting in the outbox, which have neither id nor number yet, after the stored ones)."""
    given = list(entries)
    seqs = [get(e, "seq") for e in given]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in seqs):
        order = sorted(range(len(given)), key=lambda i: (seqs[i], i))
        return [given[i] for i in order]
    return given


def effective_record(entries: Iterable[Any]) -> EffectiveRecord:
    """Apply every amendment of a session (see the module docstring for the rules)."""
    ordered = _in_order(entries)
    originals: dict[Any, Any] = {}  # id (or, for an entry not yet stored, its place) -> entry
    root_of: dict[Any, Any] = {}  # amendment id -> the original it finally corrects
    chains: dict[Any, list[tuple[Any, bool]]] = {}  # original id -> [(amendment, via another amendment)]
    orphans: list[Any] = []
    for pos, e in enumerate(ordered):
        eid = get(e, "id")
        if get(e, "kind") != "amendment":
            originals[eid if eid is not None else ("unstored", pos)] = e
            continue
        target = amended_id(e)
        nested = target in root_of
        root = root_of.get(target, target)
        if root not in originals:
            orphans.append(e)
            continue
        root_of[eid] = root
        chains.setdefault(root, []).append((e, nested))
    out: list[EffectiveEntry] = []
    for key, e in originals.items():
        eid = get(e, "id")
        kind = str(get(e, "kind") or "")
        original = _dict(get(e, "data"))
        problems: list[str] = []
        own = payload_problems(kind, original)
        if own is not None:
            problems.append(f"as recorded: {own}")
        data = original
        fixes: list[Correction] = []
        for a, nested in chains.get(key, []):
            ad = _dict(get(a, "data"))
            corrected = ad.get("data")
            problem = None
            if not isinstance(corrected, dict):
                problem = "the amendment holds no corrected data"
                corrected = {}
            else:
                problem = payload_problems(kind, corrected, amendment=True)
                # a legacy partial correction patches what it corrected; a complete one replaces it
                data = {**data, **corrected} if problem is not None else dict(corrected)
            if nested:
                problem = "; ".join(p for p in ("it amends an amendment, read as a correction of the original",
                                                problem) if p)
            seq = get(a, "seq")
            fixes.append(Correction(get(a, "id"), seq, str(ad.get("reason", "")),
                                    str(get(a, "username") or get(a, "user") or ""), str(get(a, "role") or ""),
                                    get(a, "at"), get(a, "entered_at"), corrected, problem, a))
            if problem is not None:
                problems.append(f"correction #{seq if seq is not None else '?'}: {problem}")
        seq = get(e, "seq")
        out.append(EffectiveEntry(eid, seq, kind, get(e, "at"), data, original, tuple(fixes), tuple(problems), e))
    return EffectiveRecord(out, orphans)


def effective_entries(entries: Iterable[Any]) -> list[EffectiveEntry]:
    """Entries with amendments applied, amendment entries themselves left out (see :func:`effective_record`)."""
    return effective_record(entries).entries


def effective_json(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """The effective record as JSON-able data (the JSON export's ``effective_entries``): per original entry its
    effective payload, the chain of corrections (id, seq, reason, who, role) and any legacy-format problems."""
    return [{"id": e.id, "seq": e.seq, "kind": e.kind, "data": e.data, "amended": e.amended,
             "corrections": [{"id": c.id, "seq": c.seq, "reason": c.reason, "by": c.by, "role": c.role}
                             for c in e.corrections],
             "problems": list(e.problems)}
            for e in effective_entries(entries)]


__all__ = ["Correction", "EffectiveEntry", "EffectiveRecord", "amended_id", "effective_entries", "effective_json",
           "effective_record"]

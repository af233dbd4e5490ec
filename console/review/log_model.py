"""The review window's log: every entry as a row, amendments right after the entry they correct (no Qt).

Nothing is hidden or merged: the original row keeps what was recorded and says which entries amend it; each
amendment row follows it, says which entry it amends, why, and what the corrected data are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from console.clinical.amendments import EffectiveEntry, effective_record
from console.review.timeline import describe_entry, local_datetime, payload_text
from console.session_panel.summary import KIND_WORDS

COLUMNS: tuple[str, ...] = ("#", "Describes", "Entered", "Who", "Role", "Kind", "What", "Late", "Amendments")


@dataclass(frozen=True, slots=True)
class LogRow:
    """One log line (texts as shown) and what kind of line it is."""

    entry_id: str
    seq: int
    described: str
    entered: str
    who: str
    role: str
    kind: str
    what: str
    late: bool
    relation: str
    is_amendment: bool
    is_amended: bool
    #: what an original entry now reads (amendments applied); ``None`` on an amendment's row
    effective: dict[str, Any] | None = None

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.seq),
            self.described,
            self.entered,
            self.who,
            self.role,
            self.kind,
            self.what,
            "LATE" if self.late else "",
            self.relation,
        )


def _row(e: Any, relation: str, effective: EffectiveEntry | None = None) -> LogRow:
    what = describe_entry(e)
    if e.kind == "amendment" and isinstance(e.data, dict):
        corrected = e.data.get("data")
        if isinstance(corrected, dict):
            what += " -> " + payload_text(str(e.data.get("original_kind", "")), corrected)
    if effective is not None and effective.problems:
        what += "  [not in today's format: " + "; ".join(effective.problems) + "]"
    return LogRow(
        e.id,
        e.seq,
        local_datetime(e.at),
        local_datetime(e.entered_at),
        e.username,
        e.role,
        KIND_WORDS.get(e.kind, e.kind),
        what,
        bool(e.late),
        relation,
        e.kind == "amendment",
        effective is not None and effective.amended,
        None if effective is None else effective.data,
    )


def log_rows(entries: Sequence[Any]) -> list[LogRow]:
    """Entries in sequence order, each amended entry followed by its corrections (from
    :func:`~console.clinical.amendments.effective_record`, so the log and every other reader agree)."""
    record = effective_record(entries)
    effective = record.by_id()
    placed = {c.id for eff in record.entries for c in eff.corrections}
    out: list[LogRow] = []
    for e in sorted(entries, key=lambda e: e.seq):
        if e.kind == "amendment":
            if e.id not in placed:
                out.append(_row(e, f"amends {e.amends} (not in this session)"))
            continue  # shown under its original
        eff = effective[e.id]
        relation = ("amended by " + ", ".join(f"#{c.seq}" for c in eff.corrections)) if eff.amended else ""
        out.append(_row(e, relation, eff))
        for c in eff.corrections:
            out.append(_row(c.entry, f"amends #{e.seq}"))
    return out


def read_entries(db: Any, svc: Any, session_id: int) -> list[Any]:
    """The session's entries through the service; if a stored row cannot even be parsed (its data altered
    outside the application), every row is read directly and an unreadable one is kept with its raw text,
    so the auditor still sees the whole log (verification reports the damage)."""
    try:
        return list(svc.entries(session_id))
    except ValueError:
        pass
    from dataclasses import replace

    from sqlalchemy import select
    from sqlalchemy.orm import Session as OrmSession

    from console.record import models as m
    from console.record.records import EntryRecord

    out = []
    with OrmSession(db.engine) as s:
        for r in s.scalars(select(m.Entry).where(m.Entry.session_id == session_id).order_by(m.Entry.seq)):
            try:
                out.append(EntryRecord.from_row(r))
            except ValueError:
                raw = str(r.data_json)
                shell = EntryRecord.from_row(_RawRow(r))
                out.append(replace(shell, data={"unreadable_data": raw[:500]}))
    return out


class _RawRow:
    """A stored entry row with its data replaced by ``{}`` so the other fields can still be shown."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return "{}" if name == "data_json" else getattr(self._row, name)

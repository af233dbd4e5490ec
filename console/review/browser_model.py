"""The session browser's model: every session with its flags, filtered and sorted (no Qt, read-only).

:meth:`BrowserModel.refresh` reads the sessions, all their entries (one query), the NIBP reading times and the
device alarms (one query each), and computes each session's flags once; filtering and sorting then work on the
cached rows, so repainting or changing a filter never touches the database.

Flags:

* ``overdue``: scheduled checks overdue or missed by the end of the session (the protocol's schedule engine,
  :func:`console.clinical.schedule.schedule_from_entries`), or reported by a ``check_overdue`` entry;
* ``alarms``: ``alarm`` entries and alarms the monitor reported;
* ``amendments``: any amendment;
* ``severe``: a side effect of CTCAE grade 3 or more (as amended);
* ``integrity``: the hash chain does not verify. The browser checks the chains itself, read-only, without
  writing a verify run into the audit trail for every session listed; the review window's Verify button runs
  the audited ``Database.verify``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from console.clinical._common import to_epoch
from console.clinical.protocols import ProtocolLibrary
from console.clinical.schedule import flagged_checks, schedule_from_entries
from console.record import chain
from console.record import models as m
from console.record.records import EntryRecord, SessionInfo
from console.record.vitals import read_numerics_of_sessions
from console.review.timeline import effective_entries
from devices import mdc
from devices.model import State

FLAGS: tuple[str, ...] = ("overdue", "alarms", "amendments", "severe", "integrity")
FLAG_WORDS: dict[str, str] = {
    "overdue": "overdue checks",
    "alarms": "alarms",
    "amendments": "amendments",
    "severe": "side effect grade >= 3",
    "integrity": "integrity failure",
}
#: the statuses a browser filters by (``display_status`` of a session)
STATUSES: tuple[str, ...] = ("in_progress", "interrupted", "closed", "signed", "amended")
STATUS_WORDS: dict[str, str] = {
    "in_progress": "in progress",
    "interrupted": "interrupted",
    "closed": "closed",
    "signed": "signed",
    "amended": "amended (needs new signature)",
}
SORT_KEYS: tuple[str, ...] = (
    "started_at",
    "patient",
    "clinician",
    "chair",
    "protocol",
    "status",
    "flags",
    "id",
)


@dataclass(frozen=True, slots=True)
class SessionFlags:
    """Counts behind each flag (0 = not flagged) and the first integrity problem, if any."""

    overdue: int = 0
    alarms: int = 0
    amendments: int = 0
    severe: int = 0
    integrity_problem: str = ""

    def has(self, name: str) -> bool:
        if name == "integrity":
            return bool(self.integrity_problem)
        return getattr(self, name) > 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f for f in FLAGS if self.has(f))

    def text(self) -> str:
        """``"2 overdue, 1 alarm, INTEGRITY"`` for the table."""
        parts = []
        if self.overdue:
            parts.append(f"{self.overdue} overdue")
        if self.alarms:
            parts.append(f"{self.alarms} alarm{'s' if self.alarms > 1 else ''}")
        if self.amendments:
            parts.append(f"{self.amendments} amended")
        if self.severe:
            parts.append(f"grade>=3 x{self.severe}")
        if self.integrity_problem:
            parts.append("INTEGRITY FAILED")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One line of the browser."""

    info: SessionInfo
    clinicians: tuple[str, ...]
    flags: SessionFlags

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def status(self) -> str:
        return self.info.display_status

    @property
    def started_local_date(self) -> date:
        return self.info.started_at.astimezone().date()


@dataclass(frozen=True, slots=True)
class BrowserFilter:
    """What the auditor filters by; empty fields do not filter. Dates are local, both ends included.
    ``flags``: a session must carry every flag named."""

    date_from: date | None = None
    date_to: date | None = None
    patient: str = ""
    clinician: str = ""
    chair: str = ""
    protocol: str = ""
    status: str = ""
    flags: frozenset[str] = field(default_factory=frozenset)

    def accepts(self, row: SessionRow) -> bool:
        day = row.started_local_date
        if self.date_from and day < self.date_from or self.date_to and day > self.date_to:
            return False
        if self.patient and self.patient.strip().lower() not in row.info.patient_code.lower():
            return False
        if self.clinician and self.clinician not in row.clinicians:
            return False
        if self.chair and row.info.chair != self.chair:
            return False
        if self.protocol and row.info.protocol_id != self.protocol:
            return False
        if self.status and row.status != self.status:
            return False
        return all(row.flags.has(f) for f in self.flags)


def _sort_value(row: SessionRow, key: str) -> Any:
    i = row.info
    return {
        "started_at": (i.started_at, i.id),
        "patient": (i.patient_code, i.started_at),
        "clinician": (", ".join(row.clinicians), i.started_at),
        "chair": (i.chair, i.started_at),
        "protocol": (i.protocol_id, i.protocol_version, i.started_at),
        "status": (row.status, i.started_at),
        "flags": (len(row.flags.names), i.started_at),
        "id": (i.id,),
    }[key]


class BrowserModel:
    """Sessions with flags for one reader (any role); call :meth:`refresh` to (re)read the record."""

    def __init__(self, db: Any, svc: Any, protocols: ProtocolLibrary | None = None) -> None:
        self.db = db
        self.svc = svc
        self.protocols = protocols or ProtocolLibrary.builtin()
        self.rows: list[SessionRow] = []
        #: how many times the flags were computed (the view must not trigger this on repaint)
        self.computations = 0

    # ------------------------------------------------------------------ loading
    def refresh(self) -> list[SessionRow]:
        """Read every session and compute its flags (including a read-only chain check)."""
        infos = self.svc.sessions()
        ids = [i.id for i in infos]
        entries: dict[int, list[EntryRecord]] = defaultdict(list)
        problems: dict[int, str] = {}
        with OrmSession(self.db.engine) as s:
            rows_by_session: dict[int, list[m.Entry]] = defaultdict(list)
            if ids:
                for r in s.scalars(
                    select(m.Entry)
                    .where(m.Entry.session_id.in_(ids))
                    .order_by(m.Entry.session_id, m.Entry.seq, m.Entry.entered_at)
                ):
                    rows_by_session[r.session_id].append(r)
                for srow in s.scalars(select(m.Session).where(m.Session.id.in_(ids))):
                    found, _ = chain.verify_session(srow, rows_by_session[srow.id])
                    if found:
                        problems[srow.id] = str(found[0])
            for sid, rows in rows_by_session.items():
                for r in rows:
                    try:
                        entries[sid].append(EntryRecord.from_row(r))
                    except ValueError:  # unreadable data (tampered): the integrity flag says so
                        problems.setdefault(sid, f"session {sid}: entry #{r.seq} cannot be read")
        bp_times = self._bp_times(ids)
        dev_alarms = self._device_alarm_counts(ids)
        self.rows = [
            self._row(
                i, entries[i.id], bp_times.get(i.id, []), dev_alarms.get(i.id, 0), problems.get(i.id, "")
            )
            for i in infos
        ]
        self.computations += 1
        return self.rows

    def _bp_times(self, ids: list[int]) -> dict[int, list[float]]:
        if not ids:
            return {}
        # the one vitals reader (both storage layouts), then finished measurements only
        out: dict[int, list[float]] = defaultdict(list)
        for sid, n in read_numerics_of_sessions(self.db.engine, ids, mdc.NIBP_SYS).items():
            done = ~np.isnan(n.value) & ((n.state & int(State.MEASURING.value)) == 0)
            out[sid] = [float(t) for t in n.host_time[done]]
        return out

    def _device_alarm_counts(self, ids: list[int]) -> dict[int, int]:
        if not ids:
            return {}
        t = m.VitalEvent.__table__
        q = select(t.c.session_id).where(t.c.session_id.in_(ids), t.c.kind == "alarm", t.c.active.is_(True))
        out: dict[int, int] = defaultdict(int)
        with self.db.engine.connect() as conn:
            for (sid,) in conn.execute(q):
                out[sid] += 1
        return out

    def _overdue(self, info: SessionInfo, entries: list[EntryRecord], bp_times: list[float]) -> int:
        logged = {e.data.get("key") for e in entries if e.kind == "check_overdue"}
        if info.protocol_id not in self.protocols:
            return len(logged)
        times = [to_epoch(e.at) or 0.0 for e in entries]
        end = (
            to_epoch(info.ended_at) if info.ended_at else max(times, default=to_epoch(info.started_at) or 0.0)
        )
        try:
            status = schedule_from_entries(
                self.protocols.get(info.protocol_id), entries, end, bp_times=bp_times
            )
        except (KeyError, TypeError, ValueError):  # odd data must not hide the session
            return len(logged)
        # the same checks the PDF marks: matched by point, and "not done" once the session is over
        finished = info.ended_at is not None or any(e.kind == "discharge" for e in entries)
        return len(flagged_checks(status, finished=finished))

    def _row(
        self,
        info: SessionInfo,
        entries: list[EntryRecord],
        bp_times: list[float],
        device_alarms: int,
        problem: str,
    ) -> SessionRow:
        eff = effective_entries(entries)
        severe = sum(
            1
            for e in eff
            if e.kind == "side_effect" and isinstance(e.data.get("grade"), int) and e.data["grade"] >= 3
        )
        flags = SessionFlags(
            overdue=self._overdue(info, entries, bp_times),
            alarms=sum(1 for e in entries if e.kind == "alarm") + device_alarms,
            amendments=sum(1 for e in entries if e.kind == "amendment"),
            severe=severe,
            integrity_problem=problem,
        )
        clinicians = {info.started_by} | {e.username for e in entries if e.role == "clinician"}
        return SessionRow(info, tuple(sorted(c for c in clinicians if c)), flags)

    # ------------------------------------------------------------------ querying the cache
    def query(
        self, flt: BrowserFilter | None = None, sort: str = "started_at", descending: bool = True
    ) -> list[SessionRow]:
        """The cached rows passing ``flt``, sorted by ``sort`` (one of :data:`SORT_KEYS`)."""
        if sort not in SORT_KEYS:
            raise ValueError(f"sort by one of {', '.join(SORT_KEYS)}")
        flt = flt or BrowserFilter()
        out = [r for r in self.rows if flt.accepts(r)]
        out.sort(key=lambda r: _sort_value(r, sort), reverse=descending)
        return out

    def choices(self) -> dict[str, list[str]]:
        """Distinct values for the filter drop-downs."""

        def distinct(values: Iterable[str]) -> list[str]:
            return sorted({v for v in values if v})

        return {
            "clinician": distinct(c for r in self.rows for c in r.clinicians),
            "chair": distinct(r.info.chair for r in self.rows),
            "protocol": distinct(r.info.protocol_id for r in self.rows),
            "patient": distinct(r.info.patient_code for r in self.rows),
        }

    def row(self, session_id: int) -> SessionRow | None:
        return next((r for r in self.rows if r.id == session_id), None)

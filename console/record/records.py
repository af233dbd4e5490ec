"""Plain, immutable views of stored rows handed to callers (the UI never holds ORM objects)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

#: every entry kind the record knows, in the order a session usually produces them
ENTRY_KINDS: tuple[str, ...] = (
    "precheck", "questionnaire", "hold_override", "infusion_start", "infusion_pause", "infusion_resume",
    "infusion_rate", "infusion_stop", "esketamine_dose", "observation", "side_effect", "intervention", "note",
    "check_overdue", "alarm", "discharge", "amendment", "signature", "session_interrupted", "session_resumed",
    "checkpoint",
)
#: kinds written only by the service's own methods (amend, sign, resume_session, close_interrupted)
SYSTEM_KINDS: frozenset[str] = frozenset({"amendment", "signature", "session_interrupted", "session_resumed",
                                          "checkpoint"})
#: user name and role under which Chairside itself writes (checkpoint entries): not a login, no password
SYSTEM_ACTOR = "system"
#: kinds a caller may pass to ``add_entry``
CLINICAL_KINDS: frozenset[str] = frozenset(ENTRY_KINDS) - SYSTEM_KINDS
SIGNATURE_MEANINGS: tuple[str, ...] = ("authored", "reviewed", "approved")
#: an entry is "late" when the time it describes is more than this many seconds before it was entered
LATE_AFTER_S = 5 * 60


class SessionStatus:
    """Session life cycle (strings in the ``sessions.status`` column).

    in_progress → (sign) → signed → (amend) → amended → (sign) → signed ...
    in_progress → (process dies / console closed) → interrupted (derived; the row stays ``in_progress``)
               → resume_session → in_progress, or close_interrupted → closed → (sign) → signed
    """

    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    SIGNED = "signed"
    AMENDED = "amended"


@dataclass(frozen=True, slots=True)
class UserContext:
    """Who is logged in. ``demo`` users (``--demo``, the simulator) flag everything they create as DEMO."""

    id: int
    username: str
    full_name: str
    role: str
    demo: bool = False

    @property
    def is_system(self) -> bool:
        """The command line acting with database-file authority (id 0); see ``Database.system_user``."""
        return self.id == 0


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    full_name: str
    role: str
    active: bool
    demo: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int
    code: str
    name: str | None
    birth_date: date | None
    sex: str | None
    weight_kg: float | None
    demo: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One stored entry. ``data`` is parsed from the canonical JSON text that the hash covers."""

    id: str
    session_id: int
    seq: int
    kind: str
    at: datetime
    entered_at: datetime
    user_id: int
    username: str
    role: str
    data: dict[str, Any]
    amends: str | None
    late: bool
    prev_hash: str
    hash: str
    client_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> EntryRecord:
        return cls(id=row.id, session_id=row.session_id, seq=row.seq, kind=row.kind, at=row.at,
                   entered_at=row.entered_at, user_id=row.user_id, username=row.username, role=row.role,
                   data=json.loads(row.data_json), amends=row.amends, late=bool(row.late),
                   prev_hash=row.prev_hash, hash=row.hash, client_id=row.client_id)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One session as the UI lists it. ``interrupted``: in progress, but no console holds it any more."""

    id: int
    patient_id: int
    patient_code: str
    protocol_id: str
    protocol_version: str
    chair: str
    devices: list[Any]
    details: dict[str, Any]
    demo: bool
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    entry_count: int
    head_hash: str
    interrupted: bool = False
    last_activity: datetime | None = None
    #: the patient's details and the starting user as they were at the start (version-2 headers), or None
    at_start: dict[str, Any] | None = None

    @property
    def display_status(self) -> str:
        """What a list shows: ``interrupted`` for a dead in-progress session, else the stored status."""
        return "interrupted" if self.interrupted else self.status


@dataclass(frozen=True, slots=True)
class DeviceProfileInfo:
    name: str
    protocol: str
    port: str
    settings: dict[str, Any]
    chair: str | None
    updated_at: datetime
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    user_id: int | None
    username: str
    role: str
    action: str
    target: str
    before: Any
    after: Any
    detail: str


@dataclass(slots=True)
class Problem:
    """One integrity problem: ``what`` is ``changed``, ``missing``, ``reordered``, ``inserted``,
    ``unprotected`` (a database guard was removed), ``damaged`` (the file itself) or ``unreadable``.
    ``session_id`` is None for a problem outside any session; ``area`` then says where (e.g. ``audit row
    #12``, ``database``)."""

    session_id: int | None
    what: str
    detail: str
    entry_id: str | None = None
    seq: int | None = None
    area: str = ""

    def __str__(self) -> str:
        if self.session_id is None:
            return f"{self.area or 'database'}: {self.what}: {self.detail}"
        where = f"session {self.session_id}"
        if self.seq is not None:
            where += f", entry #{self.seq}"
        if self.entry_id:
            where += f" ({self.entry_id})"
        return f"{where}: {self.what}: {self.detail}"


@dataclass(slots=True)
class VerifyResult:
    """Outcome of recomputing the hash chains. ``ok`` is true when every checked session is intact."""

    sessions_checked: int = 0
    entries_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return (f"intact: {self.sessions_checked} session(s), {self.entries_checked} entries, "
                    "every hash matches")
        return f"NOT intact: {self.first_problem} ({len(self.problems)} problem(s) in total)"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sessions_checked": self.sessions_checked,
                "entries_checked": self.entries_checked,
                "problems": [{"session_id": p.session_id, "what": p.what, "detail": p.detail,
                              "entry_id": p.entry_id, "seq": p.seq, "area": p.area} for p in self.problems]}

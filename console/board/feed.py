"""From a chair's runtime to what the board shows: :func:`chair_status` and :class:`ChairFeed`.

The chair runtime's snapshot has everything live (numerics, links, alarms); the session's patient code and
protocol come from the record once per session, and the phase from the session workflow when the console
runs one (a headless recorder box has none: "monitoring, minute N" while a session is open).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

from console.alarms.presentation import status_text
from console.board.status import AlarmStatus, ChairStatus, NumericStatus, Phase
from console.clinical.units import display_unit
from devices.model import AlarmPriority, State

_PRIORITY_NAMES = {AlarmPriority.HIGH: "high", AlarmPriority.MEDIUM: "medium", AlarmPriority.LOW: "low"}


class PhaseInfo(Protocol):
    """What the session workflow tells the board (see :mod:`console.session`)."""

    @property
    def phase(self) -> Phase: ...
    @property
    def detail(self) -> str: ...
    @property
    def next_check(self) -> str | None: ...
    @property
    def overdue(self) -> tuple[str, ...]: ...


def chair_status(snapshot: Any, *, phase: Phase = Phase.IDLE, phase_detail: str = "",
                 patient: str | None = None, protocol: str | None = None, next_check: str | None = None,
                 overdue: tuple[str, ...] = (), demo: bool = False) -> ChairStatus:
    """A :class:`ChairStatus` from a :class:`console.runtime.chair.ChairSnapshot` (duck-typed here so the
    board does not depend on the runtime's internals)."""
    numerics: dict[int, NumericStatus] = {}
    for key, rec in snapshot.numerics.items():
        if not isinstance(key, int) or rec.value is None or not math.isfinite(rec.value):
            continue
        if rec.state & (State.INVALID | State.SENSOR_OFF | State.LEAD_OFF):
            continue  # the tile shows a dash, as the console does, not a number nobody should trust
        numerics[key] = NumericStatus(float(rec.value), display_unit(rec.unit),
                                      max(0.0, float(snapshot.time) - float(rec.measured_at)))
    alarms = tuple(AlarmStatus(_PRIORITY_NAMES[AlarmPriority(a.priority)], int(a.mdc), status_text(a), a.technical)
                   for a in snapshot.alarms if AlarmPriority(a.priority) in _PRIORITY_NAMES)
    devices = {source: link.state for source, link in snapshot.links.items()}
    return ChairStatus(chair=snapshot.chair, phase=phase, phase_detail=phase_detail, patient=patient,
                       protocol=protocol, session_id=snapshot.session_id, numerics=numerics, alarms=alarms,
                       next_check=next_check, overdue=overdue, devices=devices, demo=demo,
                       published_at=float(snapshot.time))


class ChairFeed:
    """The publisher's ``snapshot`` callable for one chair runtime.

    ``session_info(session_id)`` returns ``(patient_code, protocol, demo, started_at_posix)`` from the record;
    it is called once per session, on the publisher's thread. ``phase`` (optional) gives the workflow's
    phase; without it a chair with an open session is "monitoring, minute N".
    """

    def __init__(self, runtime: Any, session_info: Callable[[int], tuple[str, str, bool, float]], *,
                 phase: Callable[[], PhaseInfo | None] | None = None) -> None:
        self._runtime = runtime
        self._session_info = session_info
        self._phase = phase
        self._cached: tuple[int, tuple[str, str, bool, float]] | None = None

    def __call__(self) -> ChairStatus:
        snap = self._runtime.snapshot()
        sid = snap.session_id
        if sid is None:
            return chair_status(snap, phase=Phase.IDLE)
        if self._cached is None or self._cached[0] != sid:
            self._cached = (sid, self._session_info(sid))
        patient, protocol, demo, started = self._cached[1]
        info = self._phase() if self._phase is not None else None
        if info is not None:
            return chair_status(snap, phase=info.phase, phase_detail=info.detail, patient=patient,
                                protocol=protocol, next_check=info.next_check, overdue=info.overdue, demo=demo)
        minute = max(0, int((snap.time - started) // 60))
        return chair_status(snap, phase=Phase.MONITORING, phase_detail=f"minute {minute}", patient=patient,
                            protocol=protocol, demo=demo)


def record_session_info(db: Any) -> Callable[[int], tuple[str, str, bool, float]]:
    """``session_info`` for :class:`ChairFeed` read from the record with the program's own read access."""
    def info(session_id: int) -> tuple[str, str, bool, float]:
        s = db.service(db.system_user("board")).session(session_id)
        return s.patient_code, f"{s.protocol_id} v{s.protocol_version}", bool(s.demo), s.started_at.timestamp()
    return info

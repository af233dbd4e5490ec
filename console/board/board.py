"""The board's view of every chair: online or not by heartbeat age, and the JSON that scripts read.

A chair is *offline* when its last publication is older than :data:`OFFLINE_AFTER_S` by the database's clock.
That makes "chair offline" a technical alarm within 10 s of a chair stopping (5 s of silence plus the
board's 1 s refresh), whatever happened to notifications on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from console.board.status import AlarmStatus, ChairStatus, NumericStatus, Phase
from console.board.store import StoredStatus

#: seconds without a publication after which a chair is shown offline
OFFLINE_AFTER_S = 5.0


@dataclass(frozen=True, slots=True)
class BoardChair:
    """One chair as the board shows it: its last status, how old that is, and the board's own alarms."""

    chair: str
    online: bool
    age_s: float
    status: ChairStatus | None
    error: str | None
    alarms: tuple[AlarmStatus, ...]

    @property
    def worst_priority(self) -> str | None:
        for p in ("high", "medium", "low"):
            if any(a.priority == p for a in self.alarms):
                return p
        return None

    def numeric(self, code: int) -> NumericStatus | None:
        """A numeric with its age as of now (its age at publication plus the status's age)."""
        if self.status is None or code not in self.status.numerics:
            return None
        n = self.status.numerics[code]
        return NumericStatus(n.value, n.unit, n.age_s + self.age_s)

    def to_dict(self) -> dict[str, Any]:
        s = self.status
        return {
            "chair": self.chair,
            "online": self.online,
            "age_s": round(self.age_s, 1),
            "phase": s.phase.value if s else None,
            "phase_detail": s.phase_detail if s else "",
            "patient": s.patient if s else None,
            "protocol": s.protocol if s else None,
            "session_id": s.session_id if s else None,
            "demo": s.demo if s else False,
            "numerics": {str(code): {"value": n.value, "unit": n.unit, "age_s": round(n.age_s, 1)}
                         for code in sorted(s.numerics) if (n := self.numeric(code)) is not None} if s else {},
            "alarms": [{"priority": a.priority, "mdc": a.mdc, "text": a.text, "technical": a.technical}
                       for a in self.alarms],
            "next_check": s.next_check if s else None,
            "overdue": list(s.overdue) if s else [],
            "devices": dict(s.devices) if s else {},
            "error": self.error,
        }


def offline_alarm(chair: str, age_s: float, status: ChairStatus | None) -> AlarmStatus:
    """The board's own technical alarm for a silent chair: medium while a session is open, else low."""
    busy = status is not None and status.phase not in (Phase.IDLE, Phase.SIGNED)
    return AlarmStatus("medium" if busy else "low", 0, f"{chair_title(chair)} offline: no report for {age_s:.0f} s",
                       technical=True)


def chair_title(chair: str) -> str:
    """How the board names a chair: "Chair 3" for a chair called "3", and "Chair 3" (not "Chair Chair 3") for
    one already called that; "Room 4 recliner" as it is."""
    name = chair.strip()
    return name if name.lower().startswith(("chair", "room", "bay", "bed")) else f"Chair {name}"


def chair_order(name: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order of chair names: "2" before "10", "Room 3" before "Room 12"."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower())
                 for part in re.findall(r"\d+|\D+", name))


def board_snapshot(db_now: float, stored: list[StoredStatus]) -> list[BoardChair]:
    """Every chair as the board shows it at ``db_now`` (the database's clock), in natural chair order."""
    out: list[BoardChair] = []
    for row in sorted(stored, key=lambda r: chair_order(r.chair)):
        age = max(0.0, db_now - row.updated_at)
        online = age <= OFFLINE_AFTER_S and row.status is not None
        alarms: list[AlarmStatus] = []
        if row.status is not None and online:
            alarms.extend(row.status.alarms)
        if row.status is None:
            alarms.append(AlarmStatus("medium", 0, f"{chair_title(row.chair)}: {row.error}", technical=True))
        elif not online:
            alarms.append(offline_alarm(row.chair, age, row.status))
        order = {"high": 0, "medium": 1, "low": 2}
        alarms.sort(key=lambda a: order[a.priority])
        out.append(BoardChair(row.chair, online, age, row.status, row.error, tuple(alarms)))
    return out


def board_json(db_now: float, stored: list[StoredStatus]) -> dict[str, Any]:
    """The board as one JSON-ready object (``chairside central --format json --once``)."""
    return {"generated_at": db_now, "offline_after_s": OFFLINE_AFTER_S,
            "chairs": [c.to_dict() for c in board_snapshot(db_now, stored)]}

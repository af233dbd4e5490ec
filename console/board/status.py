"""What one chair tells the board: a small, validated, JSON-serialisable snapshot.

Patient names are not part of it unless the site enables them (:attr:`ChairStatus.patient` is the patient
*code*); a board in a corridor must not become a list of names.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

#: the priorities a board shows, as the alarm engine names them
PRIORITIES = ("high", "medium", "low")


class Phase(StrEnum):
    """Where a chair is in its session, as a charge nurse thinks of it."""

    IDLE = "idle"  # no session open
    PRE_CHECK = "pre-check"
    INFUSING = "infusing"
    PAUSED = "paused"
    MONITORING = "monitoring"
    READY_FOR_DISCHARGE = "ready for discharge"
    SIGNED = "signed"


class StatusError(ValueError):
    """A status that cannot be published or read back (a bug in a chair, or a damaged row)."""


@dataclass(frozen=True, slots=True)
class NumericStatus:
    """A chair's latest value of one parameter; ``age_s`` is how old it was when the chair published it."""

    value: float
    unit: str
    age_s: float


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One active alarm at the chair."""

    priority: str
    mdc: int
    text: str
    technical: bool = False


@dataclass(frozen=True, slots=True)
class ChairStatus:
    """One chair's state at ``published_at`` (POSIX seconds by the chair's clock, for the record only: the
    board judges age by the database's clock, so skewed workstation clocks do not make chairs look offline).
    """

    chair: str
    phase: Phase
    phase_detail: str = ""
    patient: str | None = None
    protocol: str | None = None
    session_id: int | None = None
    numerics: dict[int, NumericStatus] = field(default_factory=dict)
    alarms: tuple[AlarmStatus, ...] = ()
    next_check: str | None = None
    overdue: tuple[str, ...] = ()
    devices: dict[str, str] = field(default_factory=dict)
    demo: bool = False
    published_at: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.chair, str) or not self.chair.strip() or len(self.chair) > 100:
            raise StatusError(f"a chair needs a name of 1 to 100 characters, not {self.chair!r}")
        object.__setattr__(self, "phase", Phase(self.phase))
        for code, n in self.numerics.items():
            if not isinstance(code, int) or not math.isfinite(n.value) or not math.isfinite(n.age_s):
                raise StatusError(f"chair {self.chair}: numeric {code!r} is not a finite value")
        for a in self.alarms:
            if a.priority not in PRIORITIES:
                raise StatusError(f"chair {self.chair}: alarm priority {a.priority!r} is not one of "
                                  f"{', '.join(PRIORITIES)}")

    def to_json(self) -> str:
        """Compact JSON text (numeric codes become string keys, as JSON requires)."""
        data = asdict(self)
        data["numerics"] = {str(k): v for k, v in data["numerics"].items()}
        return json.dumps(data, separators=(",", ":"), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ChairStatus:
        """Read back :meth:`to_json`; a damaged or foreign row raises :class:`StatusError`."""
        try:
            data: dict[str, Any] = json.loads(text)
            numerics = {int(k): NumericStatus(float(v["value"]), str(v["unit"]), float(v["age_s"]))
                        for k, v in data.get("numerics", {}).items()}
            alarms = tuple(AlarmStatus(str(a["priority"]), int(a["mdc"]), str(a["text"]),
                                       bool(a.get("technical", False))) for a in data.get("alarms", ()))
            return cls(chair=str(data["chair"]), phase=Phase(data["phase"]),
                       phase_detail=str(data.get("phase_detail", "")), patient=data.get("patient"),
                       protocol=data.get("protocol"), session_id=data.get("session_id"), numerics=numerics,
                       alarms=alarms, next_check=data.get("next_check"),
                       overdue=tuple(str(x) for x in data.get("overdue", ())),
                       devices={str(k): str(v) for k, v in data.get("devices", {}).items()},
                       demo=bool(data.get("demo", False)), published_at=float(data.get("published_at", 0.0)))
        except StatusError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise StatusError(f"unreadable chair status: {err}") from err

    @property
    def worst_priority(self) -> str | None:
        """The most urgent active alarm's priority, or None."""
        for p in PRIORITIES:
            if any(a.priority == p for a in self.alarms):
                return p
        return None

"""What the alarm engine produces: :class:`Alarm` (one alarm from start to end) and the record events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from devices.model import AlarmPriority


class Category(enum.StrEnum):
    """Physiological alarms are about the patient; technical ("INOP") ones about the equipment."""

    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


class EventKind(enum.StrEnum):
    """What happened, as written in the ``event`` field of an ``alarm`` record entry."""

    START = "start"
    END = "end"
    ACK = "ack"
    PAUSE = "pause"
    PAUSE_END = "pause_end"
    ESCALATE = "escalate"  # an active alarm's priority went up (one NIBP condition, a worse reading)


@dataclass(slots=True)
class Alarm:
    """One alarm from its start to its end (and acknowledgement), as shown in the banner and the alarm list.

    ``value`` is the value that started the alarm, ``last_value`` the latest one seen while it was active and
    ``worst_value`` the furthest beyond the limit. A NIBP alarm is one condition for the whole cuff reading:
    ``reading``, ``message``, ``limit_text`` and ``values`` follow the latest reading, and ``value`` is the
    part that broke the most urgent limit (the systolic when both did). An ended high-priority alarm that nobody acknowledged is
    *latched*: it stays visible so a condition that came and went while nobody looked is not missed.
    """

    id: int
    key: str
    category: Category
    priority: AlarmPriority
    mdc: int
    parameter: str  # short label, e.g. "NBP sys"
    message: str  # the banner text, e.g. "NBP sys 184 ≥ 180 mmHg"
    unit: str
    limit: float | None
    limit_text: str  # e.g. "≥ 180", "rise ≥ 40 over 130", "< 88"
    value: float | None
    started: float
    source: str = ""
    demo: bool = False
    values: dict[str, float] = field(default_factory=dict)
    reading: str = ""  # a NIBP alarm's latest whole reading, e.g. "186/112 (137)"; "" for other alarms
    last_value: float | None = None
    worst_value: float | None = None
    ended: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None

    @property
    def active(self) -> bool:
        """The condition is present now."""
        return self.ended is None

    @property
    def latched(self) -> bool:
        """Ended, high priority and not acknowledged yet: still shown until someone acknowledges it."""
        return self.ended is not None and self.priority >= AlarmPriority.HIGH and self.acknowledged_by is None

    @property
    def visible(self) -> bool:
        """Shown in the banner: active, or latched."""
        return self.active or self.latched

    @property
    def technical(self) -> bool:
        return self.category == Category.TECHNICAL

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    def rank(self) -> tuple[int, bool, bool, bool, float, int]:
        """Sort key, larger = more urgent: priority, then unacknowledged, then present (not only latched),
        then physiological before technical, then the newest; alarms started together keep their order."""
        return (int(self.priority), not self.acknowledged, self.active, not self.technical, self.started,
                -self.id)


def priority_name(priority: AlarmPriority) -> str:
    """``"high"``, ``"medium"``, ``"low"`` or ``"none"``: how priorities are written in the record."""
    return AlarmPriority(priority).name.lower()


def event_dict(kind: EventKind, alarm: Alarm, time: float, protocol_version: str,
               user: str | None = None) -> dict[str, Any]:
    """The ``data`` of an ``alarm`` record entry for an alarm's start, end, acknowledgement or escalation.

    Only JSON types (str, int, float, bool, None, dict, list), so storage can serialise and hash it as is.
    """
    value = alarm.value if kind == EventKind.START else alarm.last_value
    data: dict[str, Any] = {
        "event": kind.value,
        "time": time,
        "alarm_id": alarm.id,
        "key": alarm.key,
        "category": alarm.category.value,
        "priority": priority_name(alarm.priority),
        "mdc": alarm.mdc,
        "parameter": alarm.parameter,
        "message": alarm.message,
        "value": value,
        "unit": alarm.unit,
        "limit": alarm.limit,
        "limit_text": alarm.limit_text,
        "values": dict(alarm.values),
        "started": alarm.started,
        "source": alarm.source,
        "demo": alarm.demo,
        "protocol_version": protocol_version,
        "user": user,
    }
    if kind != EventKind.START:
        data["start_value"] = alarm.value
        data["worst_value"] = alarm.worst_value
    if kind == EventKind.END:
        data["duration_s"] = round(time - alarm.started, 3)
    return data

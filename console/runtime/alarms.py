"""Thread-safe access to a chair's :class:`~console.alarms.AlarmEngine`.

The engine itself is single-threaded by design. In the chair runtime it is ticked by the runtime's alarm thread
(whoever is logged in, or nobody), while the banner and the alarm list read it and acknowledge through it from
the GUI thread. :class:`GuardedEngine` offers the engine's display and action methods under one short lock
(the engine does no I/O: record events leave it through a non-blocking callback), so both sides stay consistent.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from console.alarms import AlarmEngine
from console.alarms.model import Alarm
from devices.model import AlarmPriority


class GuardedEngine:
    """The methods of :class:`AlarmEngine` a view needs, each under the runtime's engine lock."""

    def __init__(self, engine: AlarmEngine, lock: threading.RLock) -> None:
        self._engine = engine
        self._lock = lock

    # --- reading (copies, so a view never sees an alarm change under its hands) ------------------------
    def visible(self) -> list[Alarm]:
        with self._lock:
            return [copy.copy(a) for a in self._engine.visible()]

    def top(self) -> Alarm | None:
        with self._lock:
            top = self._engine.top()
            return copy.copy(top) if top is not None else None

    def history(self) -> list[Alarm]:
        with self._lock:
            return [copy.copy(a) for a in self._engine.history()]

    @property
    def revision(self) -> int:
        return self._engine.revision

    def audio_paused(self, now: float) -> bool:
        with self._lock:
            return self._engine.audio_paused(now)

    def pause_remaining(self, now: float) -> float:
        with self._lock:
            return self._engine.pause_remaining(now)

    @property
    def paused_by(self) -> str | None:
        with self._lock:
            return self._engine.paused_by

    def audible_priority(self, now: float) -> AlarmPriority:
        with self._lock:
            return self._engine.audible_priority(now)

    def priority_for(self, code: int) -> AlarmPriority:
        with self._lock:
            return self._engine.priority_for(code)

    @property
    def baseline(self) -> tuple[float, float] | None:
        with self._lock:
            return self._engine.baseline

    @property
    def limits(self) -> Any:
        return self._engine.limits

    # --- actions (the user's name goes into the record) -------------------------------------------------
    def acknowledge(self, alarm_id: int, user: str, now: float) -> bool:
        with self._lock:
            return self._engine.acknowledge(alarm_id, user, now)

    def pause_audio(self, user: str, now: float, duration_s: float | None = None) -> None:
        with self._lock:
            if duration_s is None:
                self._engine.pause_audio(user, now)
            else:
                self._engine.pause_audio(user, now, duration_s)

    def set_system_condition(self, key: str, message: str | None, now: float,
                             priority: AlarmPriority = AlarmPriority.MEDIUM) -> None:
        """Raise or clear a technical alarm about the console itself (e.g. no alarm sound output)."""
        with self._lock:
            self._engine.set_system_condition(key, message, now, priority)

    def resume_audio(self, user: str, now: float) -> bool:
        with self._lock:
            return self._engine.resume_audio(user, now)

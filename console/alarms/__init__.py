"""Chairside's alarms, free of Qt: limits, the engine, IEC presentation rules and tone patterns.

The console is a *secondary* alarm display: it re-displays monitor data and never replaces or suppresses the
bedside monitor's own alarms. Typical wiring (the app's display timer, a few times a second)::

    engine = AlarmEngine(AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag),
                         on_event=lambda data: service.add_entry(session_id, "alarm", data))
    engine.set_baseline(132, 84)
    engine.feed_many(samples)          # from the acquisition queue
    engine.tick(now)
    banner.refresh(now); alarm_list.refresh()
"""

from console.alarms.engine import AUDIO_PAUSE_S, CLEAR_HOLD_S, AlarmEngine
from console.alarms.limits import LIMIT_KEYS, AlarmLimits, LimitsError
from console.alarms.model import Alarm, Category, EventKind

__all__ = [
    "AUDIO_PAUSE_S",
    "CLEAR_HOLD_S",
    "LIMIT_KEYS",
    "Alarm",
    "AlarmEngine",
    "AlarmLimits",
    "Category",
    "EventKind",
    "LimitsError",
]

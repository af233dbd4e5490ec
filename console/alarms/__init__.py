"""Chairside's alarms, free of Qt: limits, the engine, IEC presentation rules and tone patterns.

The console is a *secondary* alarm display: it re-displays monitor data and never replaces or suppresses the
bedside monitor's own alarms. Wiring in the app::

    engine = AlarmEngine(AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag),
                         on_event=lambda data: service.add_entry(session_id, "alarm", data))
    engine.set_baseline(132, 84)                  # the pre-dose NIBP of this session
    window.add_sample_consumer(engine.submit)     # acquisition threads only queue batches
    banner = AlarmBanner(engine, user=current_user_name)  # sounds through the platform audio output
    window.set_alarm_banner(banner)

    # in the window's display timer (GUI thread):
    engine.tick(now)                              # evaluates queued batches, stale data, pause expiry
    banner.refresh(now); alarm_list.refresh()
    tiles = ((mdc.HEART_RATE, mdc.PULSE_RATE_OXIM), (mdc.SPO2,), (mdc.NIBP,), (mdc.RESP_RATE,), (mdc.ETCO2,))
    for codes in tiles:
        tile = window.tile_for(codes[0])
        if tile is not None:
            tile.set_alarm(*banner.alarm_style_for(codes))
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

"""The chair runtime without Qt: acquisition, live buffers, alarms, recording and one storage writer per chair.

The console window, ``chairside chair --headless`` and ``chairside simulate-session`` are three ways of running a
:class:`ChairRuntime`; see :mod:`console.runtime.chair`.
"""

from console.runtime.chair import ChairRuntime, ChairSnapshot, LinkStatus, default_alarm_limits
from console.runtime.clock import Clock, ManualClock, ScaledClock, WallClock, as_clock, record_clock

__all__ = ["ChairRuntime", "ChairSnapshot", "Clock", "LinkStatus", "ManualClock", "ScaledClock", "WallClock",
           "as_clock", "default_alarm_limits", "record_clock"]

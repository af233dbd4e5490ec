"""Small builders shared by the alarm tests."""

from __future__ import annotations

from collections.abc import Sequence

from console.alarms import Alarm, AlarmEngine, AlarmLimits
from devices import mdc
from devices.model import Numeric, State

DEFAULTS = {"sbp_high": 180, "dbp_high": 110, "sbp_rise": 40, "dbp_rise": 25, "spo2_low": 92,
            "spo2_critical": 88, "hr_high": 120, "hr_low": 45, "rr_low": 8, "etco2_low": 20,
            "etco2_high": 60, "persistence_s": 10, "stale_s": 10}
VERSION = "iv-ketamine-0.5@1+site-2"
UNITS = {mdc.SPO2: "%", mdc.HEART_RATE: "/min", mdc.PULSE_RATE_OXIM: "/min", mdc.RESP_RATE: "/min",
         mdc.NIBP_SYS: "mm[Hg]", mdc.NIBP_DIA: "mm[Hg]", mdc.ABP_SYS: "mm[Hg]", mdc.ETCO2: "mm[Hg]"}


def engine(**overrides: float) -> AlarmEngine:
    return AlarmEngine(AlarmLimits.from_dict({**DEFAULTS, **overrides}, VERSION))


def num(code: int, value: float | None, t: float, state: State = State.NONE, source: str = "mon") -> Numeric:
    return Numeric(code, mdc.label_of(code), value, UNITS.get(code, ""), state, host_time=t, source=source)


def series(eng: AlarmEngine, code: int, values: Sequence[float], t0: float, dt: float = 1.0,
           state: State = State.NONE) -> float:
    """Feed one value per ``dt`` seconds from ``t0``; return the time of the last one."""
    t = t0
    for i, v in enumerate(values):
        t = t0 + i * dt
        eng.feed(num(code, v, t, state), now=t)
    return t


def events(eng: AlarmEngine, kind: str | None = None) -> list[dict]:
    evs = eng.drain_events()
    return [e for e in evs if kind is None or e["event"] == kind]


def top(eng: AlarmEngine) -> Alarm:
    """The alarm the banner shows first; fails the test when there is none."""
    alarm = eng.top()
    assert alarm is not None, "no visible alarm"
    return alarm

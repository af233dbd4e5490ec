"""How an alarm looks: IEC 60601-1-8 colours and flash rates, kept free of Qt so they can be unit-tested.

Flashing is driven by one counter ticking every :data:`FLASH_TICK_S` seconds (the banner owns the one QTimer
that advances it). With a 125 ms tick:

* high priority: period 4 ticks = 0.5 s -> 2.0 Hz, 50 % duty (IEC: 1.4-2.8 Hz, 20-60 % duty), red;
* medium priority: period 12 ticks = 1.5 s -> 0.67 Hz, 50 % duty (IEC: 0.4-0.8 Hz), yellow;
* low priority: steady cyan.

Technical alarms (device disconnected, stale data, sensor or lead off, invalid data: "INOP" in Philips terms)
use their own look, a steady light blue, so nobody mistakes a loose probe for a deteriorating patient; a
technical alarm the monitor itself rates high priority still shows red and flashes, because urgency wins over
category.

The colours are those of ``resources/theme.json`` ("alarm" and "panel"), repeated here so the engine's tests
and the widgets do not need the theme file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devices.model import AlarmPriority

#: seconds per flash tick; the banner's QTimer interval is this value in milliseconds
FLASH_TICK_S = 0.125
#: flash period in ticks per flashing priority (on for the first half of the period)
_PERIOD_TICKS: dict[AlarmPriority, int] = {AlarmPriority.HIGH: 4, AlarmPriority.MEDIUM: 12}


@dataclass(frozen=True, slots=True)
class AlarmStyle:
    """Colours and flashing of one alarm on screen."""

    background: str
    foreground: str
    flash_hz: float | None  # None: steady
    tag: str  # short category/priority marker shown before the text

    @property
    def flashing(self) -> bool:
        return self.flash_hz is not None


_PHYSIOLOGICAL: dict[AlarmPriority, tuple[str, str, str]] = {
    AlarmPriority.HIGH: ("#e8202a", "#ffffff", "***"),
    AlarmPriority.MEDIUM: ("#f5c400", "#000000", "**"),
    AlarmPriority.LOW: ("#00bcd4", "#000000", "*"),
}
TECHNICAL_BACKGROUND = "#5ab4ff"  # light blue, Philips INOP style
TECHNICAL_FOREGROUND = "#000000"
NORMAL_BACKGROUND = "#0b0f14"
NORMAL_FOREGROUND = "#9aa3ad"


def flash_hz(priority: AlarmPriority) -> float | None:
    """Flash frequency of a priority in Hz, ``None`` for a steady signal."""
    period = _PERIOD_TICKS.get(AlarmPriority(priority))
    return None if period is None else 1.0 / (period * FLASH_TICK_S)


def style_for(priority: AlarmPriority, technical: bool = False) -> AlarmStyle:
    """The on-screen style of an alarm of this priority and category."""
    priority = AlarmPriority(priority)
    if priority == AlarmPriority.NONE:
        return AlarmStyle(NORMAL_BACKGROUND, NORMAL_FOREGROUND, None, "")
    if technical and priority != AlarmPriority.HIGH:
        return AlarmStyle(TECHNICAL_BACKGROUND, TECHNICAL_FOREGROUND, None, "INOP")
    bg, fg, tag = _PHYSIOLOGICAL[priority]
    return AlarmStyle(bg, fg, flash_hz(priority), ("INOP " + tag) if technical else tag)


def flash_on(priority: AlarmPriority, tick: int, technical: bool = False) -> bool:
    """Whether the alarm colour is shown at flash tick ``tick`` (always true for steady styles)."""
    style = style_for(priority, technical)
    if not style.flashing:
        return priority != AlarmPriority.NONE
    period = _PERIOD_TICKS[AlarmPriority(priority)]
    return (tick % period) < period // 2


def _num(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def current_text(alarm: Any, clock_text: Callable[[float], str]) -> str:
    """The banner's words for ``alarm`` now: its latest value (not the value at onset) against its limit, and
    since when; for a NIBP alarm the whole reading, e.g. ``NBP 183/113 (136) ≥ 180/110 mmHg since 14:21``.
    Technical and device alarms keep their own message. ``clock_text`` formats a POSIX time.

    >>> from console.alarms.model import Alarm, Category
    >>> a = Alarm(1, "k", Category.PHYSIOLOGICAL, AlarmPriority.HIGH, 150021, "NBP sys", "NBP sys 182 ≥ 180 mmHg",
    ...           "mmHg", 180.0, "≥ 180", 182.0, 0.0, last_value=186.0)
    >>> current_text(a, lambda t: "14:21")
    'NBP sys 186 ≥ 180 mmHg since 14:21'
    """
    since = f" since {clock_text(alarm.started)}"
    if alarm.reading:  # one NIBP condition: the whole latest reading and the limits it broke
        return f"{alarm.parameter} {alarm.reading} {alarm.limit_text} {alarm.unit}".rstrip() + since
    value = alarm.last_value if alarm.last_value is not None else alarm.value
    if alarm.technical or value is None or not alarm.limit_text:
        return f"{alarm.message}{since}"
    if alarm.limit_text.startswith("rise"):
        return f"{alarm.parameter} {_num(value)} {alarm.unit}: {alarm.limit_text}{since}"
    return f"{alarm.parameter} {_num(value)} {alarm.limit_text} {alarm.unit}".rstrip() + since


def local_clock_text(t: float) -> str:
    """``HH:MM`` in the computer's local time: how the chair and the board say "since"."""
    import time

    return time.strftime("%H:%M", time.localtime(t))


def status_text(alarm: Any) -> str:
    """An alarm's words for a log line or the central board: :func:`current_text` in local time, so the board
    and the headless chair's log show the latest value (an SpO2 of 84 now, not the 90 it started at)."""
    return current_text(alarm, local_clock_text)

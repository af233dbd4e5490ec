"""IEC 60601-1-8 colours and flash rates."""

from __future__ import annotations

import itertools

from console.alarms.presentation import FLASH_TICK_S, TECHNICAL_BACKGROUND, flash_hz, flash_on, style_for
from devices.model import AlarmPriority

HIGH, MEDIUM, LOW = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW


def measured(priority: AlarmPriority, technical: bool = False) -> tuple[float, float]:
    """Frequency (Hz) and duty cycle counted from the on/off sequence over 240 ticks (30 s)."""
    seq = [flash_on(priority, i, technical) for i in range(240)]
    rises = sum(1 for a, b in itertools.pairwise(seq) if b and not a)
    return rises / (240 * FLASH_TICK_S), sum(seq) / len(seq)


def test_high_flashes_red_between_1_4_and_2_8_hz() -> None:
    hz, duty = measured(HIGH)
    assert 1.4 <= hz <= 2.8 and 0.2 <= duty <= 0.6
    assert flash_hz(HIGH) == 2.0
    assert style_for(HIGH).background == "#e8202a"


def test_medium_flashes_yellow_between_0_4_and_0_8_hz() -> None:
    hz, duty = measured(MEDIUM)
    assert 0.4 <= hz <= 0.8 and 0.2 <= duty <= 0.6
    assert style_for(MEDIUM).background == "#f5c400"


def test_low_is_steady_cyan() -> None:
    assert measured(LOW) == (0.0, 1.0)
    assert style_for(LOW).background == "#00bcd4" and not style_for(LOW).flashing


def test_technical_alarms_are_light_blue_inop_unless_high() -> None:
    for p in (MEDIUM, LOW):
        s = style_for(p, technical=True)
        assert (s.background, s.tag, s.flashing) == (TECHNICAL_BACKGROUND, "INOP", False)
    s = style_for(HIGH, technical=True)
    assert s.flashing and s.tag == "INOP ***"


def test_no_alarm_shows_nothing() -> None:
    assert not flash_on(AlarmPriority.NONE, 0)

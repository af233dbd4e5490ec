"""Numeric tiles: what a clinician reads on them (values, dashes, age, DEMO, NIBP time, alarm look)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtGui import QColor

from devices.model import State
from widgets.numeric_tile import NibpTile, NumericTile, TileColours, format_age

GREEN = "#33ff66"
COLOURS = TileColours()


@pytest.fixture
def tile(qtbot) -> NumericTile:
    t = NumericTile("HR", "/min", GREEN, stale_after=10.0)
    qtbot.addWidget(t)
    t.resize(260, 160)
    t.show()
    qtbot.waitExposed(t)
    return t


@pytest.fixture
def nibp(qtbot) -> NibpTile:
    t = NibpTile("#ff8c8c", stale_after=900.0)
    qtbot.addWidget(t)
    t.resize(520, 160)
    t.show()
    qtbot.waitExposed(t)
    return t


def test_fresh_value_in_parameter_colour(tile: NumericTile) -> None:
    tile.show_value(72.0, State.NONE, measured_at=100.0, now=101.0)
    assert tile.value_text() == "72"
    assert tile.value_colour() == GREEN
    assert tile.info_text() == ""
    assert not tile.is_stale


def test_decimals(qtbot) -> None:
    temp = NumericTile("Temp", "\u00b0C", "#f0f0f0", decimals=1, template="88.8")
    qtbot.addWidget(temp)
    temp.show_value(36.84, State.NONE, 5.0, 5.0)
    assert temp.value_text() == "36.8"


def test_never_arrived_shows_dashes_and_says_no_data(tile: NumericTile) -> None:
    tile.show_value(None, State.NONE, None, now=50.0)
    assert tile.value_text() == "---"
    assert tile.info_text() == "no data"


@pytest.mark.parametrize("value, state, reason", [
    (None, State.NONE, ""),
    (98.0, State.INVALID, "invalid"),
    (None, State.SENSOR_OFF | State.INVALID, "sensor off"),
    (80.0, State.ARTIFACT | State.QUESTIONABLE, "artifact"),
    (None, State.UNAVAILABLE, "unavailable"),
])
def test_invalid_values_are_dashes_with_the_reason(tile: NumericTile, value, state, reason) -> None:
    tile.show_value(value, state, measured_at=10.0, now=10.5)
    assert tile.value_text() == "---"
    assert tile.info_text() == reason


def test_old_values_grey_out_with_their_age(tile: NumericTile) -> None:
    tile.show_value(72.0, State.NONE, measured_at=100.0, now=109.0)
    assert not tile.is_stale and tile.value_colour() == GREEN
    tile.show_value(72.0, State.NONE, measured_at=100.0, now=115.0)
    assert tile.is_stale
    assert tile.value_text() == "72"  # the last value stays readable, but grey
    assert tile.value_colour() == COLOURS.stale
    assert tile.info_text() == "15 s ago"
    tile.show_value(73.0, State.NONE, measured_at=116.0, now=116.5)
    assert not tile.is_stale and tile.value_colour() == GREEN and tile.info_text() == ""


def test_staleness_limit_is_configurable(qtbot) -> None:
    t = NumericTile("RR", "/min", "#ffe14d", stale_after=30.0)
    qtbot.addWidget(t)
    t.show_value(14.0, State.NONE, measured_at=0.0, now=20.0)
    assert not t.is_stale
    t.show_value(14.0, State.NONE, measured_at=0.0, now=31.0)
    assert t.is_stale


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"),
                                           (3600 + 5 * 60, "1 h 05 min")])
def test_age_format(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


def test_demo_and_test_data_are_marked(tile: NumericTile) -> None:
    tile.show_value(72.0, State.NONE, 1.0, 1.0)
    assert tile.badge_text() == ""
    tile.show_value(72.0, State.DEMO, 1.0, 1.0)
    assert tile.badge_text() == "DEMO"
    tile.show_value(72.0, State.TEST, 1.0, 1.0)
    assert tile.badge_text() == "TEST"
    tile.set_demo(True)
    tile.show_value(72.0, State.NONE, 1.0, 1.0)
    assert tile.badge_text() == "DEMO"


def test_secondary_line(tile: NumericTile) -> None:
    tile.show_value(97.0, State.NONE, 1.0, 1.0, secondary="PR 72")
    assert tile.secondary_text() == "PR 72"


def _pixel(widget, x: int, y: int) -> str:
    return QColor(widget.grab().toImage().pixel(x, y)).name()


def test_alarm_fills_the_tile_while_flashing(tile: NumericTile) -> None:
    tile.show_value(130.0, State.NONE, 1.0, 1.0)
    assert _pixel(tile, 20, 80) == COLOURS.panel
    tile.set_alarm(3, True)
    assert tile.alarm == (3, True)
    assert _pixel(tile, 20, 80) == COLOURS.alarm_high
    assert tile.value_colour() == "#ffffff"  # readable on red
    tile.set_alarm(3, False)
    assert _pixel(tile, 20, 80) == COLOURS.panel
    assert _pixel(tile, 2, 80) == COLOURS.alarm_high  # the border stays in the alarm colour
    tile.set_alarm(2, True)
    assert _pixel(tile, 20, 80) == COLOURS.alarm_medium
    assert tile.value_colour() == "#000000"
    tile.set_alarm(0, True)  # no alarm: flash ignored
    assert tile.alarm == (0, False)
    assert _pixel(tile, 20, 80) == COLOURS.panel and tile.value_colour() == GREEN


def test_value_font_grows_with_the_tile(tile: NumericTile) -> None:
    tile.show_value(72.0, State.NONE, 1.0, 1.0)
    small = tile.value.font().pixelSize()
    tile.resize(520, 320)
    big = tile.value.font().pixelSize()
    assert big > 1.5 * small
    assert small >= 40  # readable from two metres even in a small window


def test_nibp_shows_result_mean_and_measurement_time(nibp: NibpTile) -> None:
    measured = time.mktime((2026, 3, 4, 14, 32, 0, 0, 0, -1))
    nibp.show_nibp(124.0, 78.0, 94.0, State.NONE, measured, measured + 3 * 60 + 5)
    assert nibp.value_text() == "124/78"
    assert nibp.secondary_text() == "(94)"
    assert nibp.info_text() == "14:32 \u00b7 3 min ago"
    assert nibp.measuring_text() == ""
    assert not nibp.is_stale


def test_nibp_measuring_indicator_keeps_the_last_result(nibp: NibpTile) -> None:
    nibp.show_nibp(124.0, 78.0, 94.0, State.MEASURING, 1000.0, 1300.0, measuring=True)
    assert nibp.measuring_text().startswith("MEASURING")
    assert nibp.value_text() == "124/78"
    nibp.show_nibp(None, None, None, State.MEASURING, None, 10.0, measuring=True)
    assert nibp.value_text() == "---/---"
    assert nibp.info_text() == "measuring\u2026"
    nibp.show_nibp(None, None, None, State.NONE, None, 10.0)
    assert nibp.info_text() == "no measurement yet" and nibp.measuring_text() == ""


def test_nibp_greys_after_fifteen_minutes(nibp: NibpTile) -> None:
    nibp.show_nibp(124.0, 78.0, 94.0, State.NONE, 0.0, 14 * 60)
    assert not nibp.is_stale and nibp.value_colour() == "#ff8c8c"
    nibp.show_nibp(124.0, 78.0, 94.0, State.NONE, 0.0, 16 * 60)
    assert nibp.is_stale and nibp.value_colour() == COLOURS.stale
    assert nibp.info_text().endswith("16 min ago")


def test_nibp_invalid_result_is_dashes(nibp: NibpTile) -> None:
    nibp.show_nibp(124.0, 78.0, 94.0, State.INVALID, 0.0, 5.0)
    assert nibp.value_text() == "---/---"
    assert nibp.secondary_text() == ""
    assert nibp.info_text().startswith("invalid")


@pytest.mark.parametrize("size", [(160, 90), (240, 120), (300, 160), (520, 320)])
def test_widest_value_fits_inside_the_tile(qtbot, size: tuple[int, int]) -> None:
    from PySide6.QtGui import QFontMetricsF

    t = NibpTile("#ff8c8c")
    qtbot.addWidget(t)
    t.resize(*size)
    t.show()
    qtbot.waitExposed(t)
    t.show_nibp(188.0, 128.0, 148.0, State.NONE, 0.0, 1.0)
    fm = QFontMetricsF(t.value.font())
    box = t.value.contentsRect()
    assert fm.horizontalAdvance(t.value_text()) <= box.width()
    # Qt centres the line box; the digits (baseline to cap height) must stay inside the label
    top_of_digits = (box.height() - fm.height()) / 2 + fm.ascent() - fm.capHeight()
    baseline = (box.height() - fm.height()) / 2 + fm.ascent()
    assert top_of_digits >= -0.5 and baseline <= box.height() + 0.5
    assert t.value.geometry().bottom() < t.info.geometry().top() or t.value.geometry().right() < t.info.x()


def test_a_lost_link_makes_values_stale_at_once(qtbot) -> None:
    """Issue 12: a value whose device link is lost is greyed now, not after the usual staleness delay."""
    colours = TileColours()
    tile = NumericTile("HR", "/min", "#00ff00", stale_after=10.0, colours=colours)
    nibp = NibpTile("#ff8080", colours=colours)
    qtbot.addWidget(tile)
    qtbot.addWidget(nibp)
    tile.show_value(72.0, State.NONE, 100.0, 101.0, link_down=True)
    assert tile.is_stale and tile.value_text() == "72" and tile.value_colour() == colours.stale
    assert tile.info_text() == "no link \u00b7 1 s ago"
    tile.show_value(72.0, State.NONE, 101.0, 101.5)
    assert not tile.is_stale and tile.value_colour() == "#00ff00" and tile.info_text() == ""
    nibp.show_nibp(124.0, 78.0, 94.0, State.NONE, 100.0, 160.0, link_down=True)
    assert nibp.is_stale and nibp.info_text().startswith("no link \u00b7 ")

"""The alarm list shows every alarm of the session and lets a signed-in user acknowledge one."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from devices import mdc
from devices.model import LinkEvent, LinkState
from tests.alarms.helpers import engine, events, num, series
from widgets.alarm_list import COLUMNS, AlarmList

T0 = 1_764_000_000.0  # a fixed POSIX time; shown in local time


def hms(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


@pytest.fixture
def filled(qtbot):
    eng = engine()
    eng.feed(num(mdc.NIBP_SYS, 186, T0))
    eng.feed(num(mdc.NIBP_SYS, 150, T0 + 600))  # ends; latched (high)
    series(eng, mdc.HEART_RATE, [130] * 11 + [140] * 2, T0 + 700)  # active medium, worst 140
    eng.feed(LinkEvent(LinkState.LOST, "cable", host_time=T0 + 800, source="mon"))
    user = {"name": "dr.lee"}
    view = AlarmList(eng, user=lambda: user["name"], clock=lambda: T0 + 900)
    qtbot.addWidget(view)
    return eng, view, user


def test_rows_show_times_priority_parameter_value_limit_and_ack(filled) -> None:
    _eng, view, _ = filled
    rows = view.row_texts()
    assert COLUMNS == ("Alarm",)  # one full-width cell per alarm (its fit: tests/widgets/test_alarm_list_fits.py)
    assert rows == [
        [f"MEDIUM INOP · Link (mon)\nlink lost · {hms(T0 + 800)} → active\nnot acknowledged"],
        [f"MEDIUM · HR (mon) 130 /min (worst 140)\nlimit > 120 · {hms(T0 + 710)} → active\nnot acknowledged"],
        [(f"HIGH · NBP (mon) 186/- mmHg\nlimit sys ≥ 180 · {hms(T0)} → {hms(T0 + 600)}\n"
          "not acknowledged (latched)")],
    ]
    m = view.model
    assert m.data(m.index(2, 0), Qt.ItemDataRole.ToolTipRole) == "NBP 186/- sys ≥ 180 mmHg"


def test_the_acknowledge_button_is_there_while_a_selected_alarm_waits_for_one(filled) -> None:
    _, view, user = filled
    view.resize(300, 400)
    view.show()
    assert not view.ack_button.isVisible()  # nothing selected: the rows get the whole height
    view.table.selectRow(1)
    assert view.ack_button.isVisible() and view.ack_button.isEnabled()
    assert view.ack_button.height() >= 44  # a gloved fingertip
    user["name"] = None
    view.refresh()
    assert view.ack_button.isVisible() and not view.ack_button.isEnabled()  # says why in its tooltip
    assert "Sign in" in view.ack_button.toolTip()


def test_acknowledge_selected_logs_the_user_and_shows_it(filled) -> None:
    eng, view, _ = filled
    events(eng)
    view.table.selectRow(2)
    assert view.acknowledge_selected() is True
    [ack] = events(eng)
    assert (ack["event"], ack["user"], ack["priority"]) == ("ack", "dr.lee", "high")
    rows = view.row_texts()
    assert rows[2][0].splitlines()[1:] == [f"limit sys ≥ 180 · {hms(T0)} → {hms(T0 + 600)}",
                                           f"ack dr.lee {hms(T0 + 900)}"]
    assert view.selected_alarm().acknowledged  # selection kept across the rebuild
    assert not view.ack_button.isVisible()  # nothing left to acknowledge on the selected row
    assert view.acknowledge_selected() is False


def test_no_user_no_acknowledgement(filled) -> None:
    eng, view, user = filled
    user["name"] = None
    view.table.selectRow(0)
    assert view.acknowledge_selected() is False
    assert events(eng, "ack") == []


def test_refresh_only_rebuilds_when_the_engine_changed(filled) -> None:
    eng, view, _ = filled
    assert view.model.sync() is False
    eng.feed(num(mdc.SPO2, 97, T0 + 1000, source="oximeter"))  # no alarm change
    assert view.model.sync() is False
    eng.feed(LinkEvent(LinkState.ASSOCIATED, host_time=T0 + 1001, source="mon"))
    view.refresh()
    assert view.row_texts()[0][0].splitlines()[1] == f"link lost · {hms(T0 + 800)} → {hms(T0 + 1001)}"


def test_a_console_condition_says_what_is_wrong_in_its_row(qtbot) -> None:
    """"No alarm sound output" is a technical alarm about the console: its row names the problem, not a
    placeholder, so a clinician reading the list knows why the chair is silent."""
    eng = engine()
    eng.set_system_condition("sound", "No alarm sound output: visual alarms only", T0)
    view = AlarmList(eng, user=lambda: "dr.lee", clock=lambda: T0 + 5)
    qtbot.addWidget(view)
    assert view.row_texts() == [
        [(f"MEDIUM INOP · Console (console)\nNo alarm sound output: visual alarms only · {hms(T0)} → active\n"
          "not acknowledged")]]

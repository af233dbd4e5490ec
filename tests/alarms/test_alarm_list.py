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
    assert COLUMNS == ("Priority", "Time", "Alarm", "Ack by")
    assert rows == [
        ["MEDIUM\nINOP", f"{hms(T0 + 800)}\n→ active", "Link (mon)\nlimit link lost", "—"],
        ["MEDIUM", f"{hms(T0 + 710)}\n→ active", "HR (mon) 130 /min (worst 140)\nlimit > 120", "—"],
        ["HIGH", f"{hms(T0)}\n→ {hms(T0 + 600)} (latched)", "NBP (mon) 186/- mmHg\nlimit sys ≥ 180", "—"],
    ]
    m = view.model
    assert m.data(m.index(2, 0), Qt.ItemDataRole.ToolTipRole) == "NBP 186/- sys ≥ 180 mmHg"


def test_every_column_is_visible_in_the_narrow_space_beside_the_nibp_tile(filled) -> None:
    _, view, _ = filled
    view.resize(300, 400)
    view.show()
    header = view.table.horizontalHeader()
    # no sideways scrolling: the four columns end inside the viewport
    assert header.length() <= view.table.viewport().width() + 1
    assert all(not view.table.isColumnHidden(c) for c in range(len(COLUMNS)))


def test_acknowledge_selected_logs_the_user_and_shows_it(filled) -> None:
    eng, view, _ = filled
    events(eng)
    view.table.selectRow(2)
    assert view.acknowledge_selected() is True
    [ack] = events(eng)
    assert (ack["event"], ack["user"], ack["priority"]) == ("ack", "dr.lee", "high")
    rows = view.row_texts()
    assert rows[2][1] == f"{hms(T0)}\n→ {hms(T0 + 600)}" and rows[2][3] == f"dr.lee\n{hms(T0 + 900)}"
    assert view.selected_alarm().acknowledged  # selection kept across the rebuild
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
    assert view.row_texts()[0][1] == f"{hms(T0 + 800)}\n→ {hms(T0 + 1001)}"

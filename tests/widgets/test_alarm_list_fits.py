"""The alarm list fits its space in the console window at 1366x768, 1280x800 and 1920x1080 (issue 12).

At 1366x768 the list beside the NIBP tile is about 220 px wide; its "Alarm" column used to wrap into a cell a
few characters wide while the value, limit and who acknowledged were off to the right. Here the real console
window is built at each screen size with the list in its place, and what a clinician can read is checked: every
row's words (priority, parameter, value, limit, times, who acknowledged) drawn whole in the row's height and
width, no word cut, nothing elided, no sideways scroll bar. Set ALARM_LIST_SHOT_DIR to keep a screenshot of
each size.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from console.main_window import MainWindow
from console.record import open_database
from console.runtime import ChairRuntime, ManualClock
from console.station import ChairStation
from devices import mdc
from devices.model import LinkEvent, LinkState, Sample, State
from tests.alarms.helpers import num
from tests.layout_walk import SCREENS
from widgets.alarm_list import BAR_GAP, BAR_W, AlarmList

T0 = 1_764_000_000.0


def hms(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


def busy_session(runtime: ChairRuntime) -> None:
    """Feed the chair the alarms of a bad afternoon: a BP reading past both limits (latched), an escalated
    and acknowledged desaturation, a fast heart rate, a lost link and an oximeter sensor off."""

    def feed(samples: list[Sample], t: float) -> None:
        runtime.ingest(samples)
        runtime.tick(t)

    def spo2_id() -> int:
        return next(a.id for a in runtime.alarms.visible() if a.mdc == mdc.SPO2)

    feed([num(code, v, T0) for code, v in ((mdc.NIBP_SYS, 186), (mdc.NIBP_DIA, 112), (mdc.NIBP_MEAN, 137))], T0)
    feed([num(code, v, T0 + 300) for code, v in ((mdc.NIBP_SYS, 150), (mdc.NIBP_DIA, 90), (mdc.NIBP_MEAN, 110))],
         T0 + 300)
    for i in range(11):
        feed([num(mdc.SPO2, 90, T0 + 400 + i)], T0 + 400 + i)
    runtime.alarms.acknowledge(spo2_id(), "nurse.kimberly", T0 + 410)
    for i in range(11):  # escalates: the acknowledgement was for the medium condition
        feed([num(mdc.SPO2, 84, T0 + 411 + i)], T0 + 411 + i)
    runtime.alarms.acknowledge(spo2_id(), "dr.lee-anderson", T0 + 425)
    for i, v in enumerate([130] * 11 + [141] * 2):
        feed([num(mdc.HEART_RATE, v, T0 + 500 + i)], T0 + 500 + i)
    feed([LinkEvent(LinkState.LOST, "cable pulled", host_time=T0 + 600, source="monitor")], T0 + 600)
    feed([num(mdc.SPO2, None, T0 + 601, State.SENSOR_OFF, source="oximeter")], T0 + 601)


@pytest.fixture
def console(qtbot, tmp_path):
    """The console window as a chair shows it (banner, waves, tiles, session panel), with a busy alarm list."""
    db = open_database(f"sqlite:///{tmp_path / 'record.db'}")
    clock = ManualClock(T0)
    runtime = ChairRuntime(db, chair="1", clock=clock, journal_path=tmp_path / "outbox.jsonl")
    runtime.start(alarm_thread=False)  # alarms are evaluated with runtime.tick(), deterministically
    window = MainWindow(demo=True, runtime=runtime)
    qtbot.addWidget(window)
    station = ChairStation(window, db, db.demo_login())
    window.show()
    busy_session(runtime)
    clock.set(T0 + 700)
    station.refresh_alarms()
    yield window, station.alarm_list
    station.shutdown()
    window.shutdown()
    assert runtime.shutdown()
    db.close()


def cut_words(view: AlarmList) -> list[str]:
    """Rows whose words do not fit the space the row draws them in (too wide for one word, or wrapped to more
    lines than the row is tall)."""
    table = view.table
    metrics = QFontMetrics(table.font())
    width = table.columnWidth(0) - BAR_W - BAR_GAP - 8  # the item's own text margins
    problems = []
    for row, lines in enumerate(view.row_texts()):
        text = lines[0]
        widest_word = max(metrics.horizontalAdvance(w) for w in text.split())
        if widest_word > width:
            problems.append(f"row {row}: a word is {widest_word} px in a {width} px cell: {text!r}")
        need = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text).height()
        if need > table.rowHeight(row):
            problems.append(f"row {row}: needs {need} px, the row is {table.rowHeight(row)} px: {text!r}")
    return problems


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_alarm_list_shows_every_alarm_whole_at_each_screen_size(console, size) -> None:
    window, view = console
    window.resize(*size)
    for _ in range(3):
        QApplication.processEvents()
    table = view.table
    assert table.textElideMode() == Qt.TextElideMode.ElideNone
    assert not table.horizontalScrollBar().isVisible()
    assert table.columnWidth(0) <= table.viewport().width() + 1  # nothing to scroll sideways to
    # the list sits inside the window, under the waves, at a usable size
    corner = view.mapTo(window, view.rect().bottomRight())
    assert corner.x() <= window.width() and corner.y() <= window.height()
    assert view.width() >= 180
    # every row can be read whole: none is taller than the space it scrolls in
    tall = [(r, table.rowHeight(r)) for r in range(view.model.rowCount())
            if table.rowHeight(r) > table.viewport().height()]
    assert tall == [], f"rows taller than the {table.viewport().height()} px list"
    assert cut_words(view) == []
    # picking the oldest alarm (scrolled out of view) brings it up with the button to acknowledge it
    oldest = view.model.rowCount() - 1
    table.selectRow(oldest)
    for _ in range(3):
        QApplication.processEvents()
    button = view.ack_button
    assert button.isVisible() and button.isEnabled() and button.height() >= 44
    bottom = button.mapTo(window, button.rect().bottomRight())
    assert bottom.x() <= window.width() and bottom.y() <= window.height()
    top = table.visualRect(view.model.index(oldest, 0)).top()
    assert 0 <= top < table.viewport().height() - QFontMetrics(table.font()).height()  # its first line shows
    shots = os.environ.get("ALARM_LIST_SHOT_DIR")
    if shots:
        window.grab().save(str(Path(shots) / f"alarm_list_{size[0]}x{size[1]}.png"))


def test_each_row_says_priority_parameter_value_limit_times_and_who_acknowledged(console) -> None:
    _window, view = console
    rows = [r[0] for r in view.row_texts()]

    def row(first_line: str) -> str:
        [found] = [r for r in rows if r.splitlines()[0].startswith(first_line)]  # one row each
        return found

    # the desaturation is one row, escalated from medium to high
    spo2, nibp, hr = row("HIGH · SpO2 (mon)"), row("HIGH · NBP (mon)"), row("MEDIUM · HR (mon)")
    link, sensor = row("MEDIUM INOP · Link (monitor)"), row("LOW INOP · SpO2 (oximeter)")
    assert [r for r in rows if "SpO2 (mon)" in r] == [spo2]
    assert spo2.splitlines() == [
        "HIGH · SpO2 (mon) 90 % (worst 84)",
        f"limit < 88 · {hms(T0 + 400 + 10)} → active",
        f"ack dr.lee-anderson {hms(T0 + 425)}",
    ]
    assert nibp.splitlines() == [
        "HIGH · NBP (mon) 186/112 (137) mmHg",
        f"limit ≥ 180/110 · {hms(T0)} → {hms(T0 + 300)}",
        "not acknowledged (latched)",
    ]
    assert hr.splitlines()[0] == "MEDIUM · HR (mon) 130 /min (worst 141)"
    assert link.splitlines()[0] == "MEDIUM INOP · Link (monitor)"
    assert link.splitlines()[1].startswith("link lost · ")
    assert sensor.splitlines()[0] == "LOW INOP · SpO2 (oximeter)"


def test_acknowledging_from_the_list_shows_who_did_it_in_the_row(console) -> None:
    _window, view = console
    last = view.model.rowCount() - 1
    view.table.selectRow(last)  # the latched NIBP reading, the oldest
    assert view.acknowledge_selected() is True
    ack = view.row_texts()[last][0].splitlines()[2]
    assert ack.startswith("ack Demo Clinician") and ack.endswith(hms(T0 + 700))

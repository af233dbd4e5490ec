"""Confirmations and sign-off live in the side panel: the alarm banner and Acknowledge stay usable (issue 12)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.main_window import MainWindow
from console.record import open_database
from console.runtime import ChairRuntime, ManualClock
from console.session_panel.panel import PAGE_SIGN
from console.station import ChairStation
from devices import mdc
from devices.model import Numeric, Sample, State
from tests.session_panel.conftest import confirm, ready, start


def _bp(sys_: float, dia: float, t: float) -> list[Sample]:
    """One finished NIBP measurement as the monitor sends it."""
    return [Numeric(mdc.NIBP_SYS, "NBP sys", sys_, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_DIA, "NBP dia", dia, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_MEAN, "NBP mean", (sys_ + 2 * dia) / 3, "mm[Hg]", State.NONE, t, t)]


@pytest.fixture
def station(qtbot, tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'record.db'}")
    clock = ManualClock(float(int(time.time())))
    runtime = ChairRuntime(db, chair="1", clock=clock, journal_path=tmp_path / "outbox.jsonl",
                           outbox_retry_interval=0.1)
    runtime.start(alarm_thread=False)  # alarms are evaluated with runtime.tick(), deterministically
    window = MainWindow(demo=True, runtime=runtime)
    qtbot.addWidget(window)
    st = ChairStation(window, db, db.demo_login())
    window.show()
    yield st, clock
    st.shutdown()
    window.shutdown()
    assert runtime.shutdown()
    db.close()


def _acks(st: ChairStation) -> list[str]:
    return [e.data["key"] for e in st.service.entries(st.panel.session_id)
            if e.kind == "alarm" and e.data["event"] == "ack"]


def _acknowledge_with_a_click(qtbot, st: ChairStation, clock: ManualClock, sbp: float) -> None:
    st._consume(_bp(sbp, 116, clock.now()))
    st.runtime.tick()
    st.refresh_alarms()
    top = st.banner.top_alarm
    assert top is not None and not top.acknowledged
    assert QApplication.activeModalWidget() is None
    ack = st.banner.ack_button
    assert ack.isVisible() and ack.isEnabled()
    before = _acks(st)
    qtbot.mouseClick(ack, Qt.MouseButton.LeftButton)
    st.refresh_alarms()
    assert st.runtime.drain()
    assert _acks(st) == [*before, top.key]  # the click reached the banner and was recorded


def test_acknowledge_works_while_a_start_confirmation_and_the_sign_off_page_are_open(qtbot, station):
    st, clock = station
    panel = st.panel
    start(panel)
    ready(panel)
    assert panel.dosing.hold_key == "bp"  # the demo monitor has no pre-dose BP yet
    panel.dosing.hold_reason.setText("manual BP 128/80 by the nurse")
    panel.dosing.override_button.click()
    panel.dosing.start_button.click()
    assert panel.confirm.isVisible(), panel.message()
    _acknowledge_with_a_click(qtbot, st, clock, 186)
    assert panel.confirm.isVisible()  # still waiting for the clinician's answer
    confirm(panel)
    panel.dosing.stop_reason.setText("BP high")
    panel.dosing.stop_button.click()
    confirm(panel)
    panel.discharge.departure_details.setText("to the emergency department")
    panel.discharge.departure_button.click()
    page = panel.open_signoff()
    assert page is not None and panel.stack.currentIndex() == PAGE_SIGN and not page.isWindow()
    clock.advance(60)
    st._consume(_bp(120, 80, clock.now()))  # back within limits: the one NIBP condition ends
    st.runtime.tick()
    clock.advance(60)
    _acknowledge_with_a_click(qtbot, st, clock, 192)
    assert panel.stack.currentIndex() == PAGE_SIGN  # the signature page is still there, password and all

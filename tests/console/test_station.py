"""The chair station joins the live window to the record: alarms become entries, vitals are recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from console.main_window import MainWindow
from console.record import open_database
from console.station import ChairStation, baseline_bp
from devices import mdc
from devices.model import AlarmPriority, Numeric, State


class FakeClock:
    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def station(qtbot, tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'record.db'}")
    user = db.demo_login()
    clock = FakeClock()
    window = MainWindow(demo=True, clock=clock)
    qtbot.addWidget(window)
    st = ChairStation(window, db, user, clock=clock)
    yield st, db, clock
    st.shutdown()
    window.shutdown()
    db.close()


def _open_session(st: ChairStation):
    patient = st.service.create_patient("P-001", weight_kg=70)
    session = st.service.start_session(patient.id, "iv-ketamine-0.5", "1", "1", devices=["Simulator"])
    st._on_session_started(session)
    return session


def _bp(sys_: float, dia: float, t: float) -> list[Numeric]:
    return [Numeric(mdc.NIBP_SYS, "NBP sys", sys_, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_DIA, "NBP dia", dia, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_MEAN, "NBP mean", (sys_ + 2 * dia) / 3, "mm[Hg]", State.NONE, t, t)]


def test_high_bp_becomes_a_high_alarm_on_banner_tile_and_in_the_record(station) -> None:
    st, _db, clock = station
    session = _open_session(st)
    st._consume(_bp(186, 112, clock.t))
    st.refresh_alarms()

    assert st.banner.top_alarm is not None and st.banner.top_alarm.priority == AlarmPriority.HIGH
    assert st.window.tile_for(mdc.NIBP_SYS).alarm_priority == AlarmPriority.HIGH
    rows = st.alarm_list.row_texts()
    assert len(rows) == 2 and any("186" in " ".join(r) for r in rows) and any("112" in " ".join(r) for r in rows)
    alarms = [e for e in st.service.entries(session.id) if e.kind == "alarm"]
    # systolic >= 180 and diastolic >= 110 are two conditions, each its own high alarm, at the measurement time
    assert sorted(a.data["mdc"] for a in alarms) == [mdc.NIBP_SYS, mdc.NIBP_DIA]
    for alarm in alarms:
        assert alarm.data["priority"] == "high" and alarm.data["event"] == "start"
        assert alarm.at == datetime.fromtimestamp(clock.t, UTC)


def test_acknowledgement_is_recorded_with_the_user(station) -> None:
    st, _db, clock = station
    session = _open_session(st)
    st._consume(_bp(190, 115, clock.t))
    st.refresh_alarms()
    assert st.banner.acknowledge_top()
    st.refresh_alarms()
    events = [e.data for e in st.service.entries(session.id) if e.kind == "alarm"]
    acks = [d for d in events if d["event"] == "ack"]
    assert len(acks) == 1, events
    assert acks[0]["user"] == st.user.full_name


def test_alarms_before_a_session_are_shown_but_not_recorded(station) -> None:
    st, db, clock = station
    st._consume(_bp(200, 120, clock.t))
    st.refresh_alarms()
    assert st.banner.top_alarm is not None
    assert st.outbox.pending == []


def test_vitals_are_recorded_while_a_session_is_open(station) -> None:
    st, db, clock = station
    session = _open_session(st)
    st._consume([Numeric(mdc.HEART_RATE, "HR", 72.0 + i, "/min", State.NONE, clock.t + i, clock.t + i)
                 for i in range(5)])
    assert st.recorder.flush(timeout=10)
    summary = db.vitals_summary(session.id)
    assert str(mdc.HEART_RATE) in str(summary)


def test_baseline_bp_reads_a_precheck_snapshot() -> None:
    snap = {str(mdc.NIBP_SYS): {"value": 131}, str(mdc.NIBP_DIA): {"value": 84}}
    assert baseline_bp(snap) == (131.0, 84.0)
    assert baseline_bp({str(mdc.NIBP_SYS): {"value": 131}}) is None


def test_a_note_entered_while_the_database_is_locked_is_kept_and_written_later(qtbot, tmp_path) -> None:
    """The clinician types a note while another program holds the database: it is not refused or lost."""
    import sqlite3

    from tests.session_panel.conftest import start

    path = tmp_path / "record.db"
    db = open_database(f"sqlite:///{path}", busy_timeout_ms=100)
    clock = FakeClock()
    window = MainWindow(demo=True, clock=clock)
    qtbot.addWidget(window)
    st = ChairStation(window, db, db.demo_login(), clock=clock)
    try:
        start(st.panel)
        session_id = st.panel.session_id
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        st.panel.trigger("note")
        st.panel.current_form().text.setText("patient asks for a blanket")
        st.panel.save_button.click()
        assert "kept on this computer" in st.panel.message()
        assert len(st.outbox.pending) == 1
        lock.execute("ROLLBACK")
        lock.close()
        st._flush_outbox()
        notes = [e.data["text"] for e in st.service.entries(session_id) if e.kind == "note"]
        assert notes == ["patient asks for a blanket"] and st.outbox.pending == []
    finally:
        st.shutdown()
        window.shutdown()
        db.close()

"""The chair station is a view on the chair runtime: alarms become entries, vitals are recorded, and the GUI
thread never waits for the database."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import pytest

from console.main_window import MainWindow
from console.record import open_database
from console.runtime import ChairRuntime, ManualClock
from console.station import AlarmDisplay, ChairStation, baseline_bp
from devices import mdc
from devices.model import AlarmPriority, Numeric, Sample, State
from tests.runtime.conftest import wait_for


def _rig(qtbot, tmp_path, user_of=lambda db: db.demo_login(), busy_timeout_ms: int = 5000):
    db = open_database(f"sqlite:///{tmp_path / 'record.db'}", busy_timeout_ms=busy_timeout_ms)
    clock = ManualClock(float(int(time.time())))
    runtime = ChairRuntime(db, chair="1", clock=clock, journal_path=tmp_path / "outbox.jsonl",
                           outbox_retry_interval=0.1)
    runtime.start(alarm_thread=False)  # the tests evaluate alarms with runtime.tick(), deterministically
    window = MainWindow(demo=True, runtime=runtime)
    qtbot.addWidget(window)
    return db, clock, runtime, window, user_of(db)


@pytest.fixture
def station(qtbot, tmp_path):
    db, clock, runtime, window, user = _rig(qtbot, tmp_path)
    st = ChairStation(window, db, user)
    yield st, db, clock
    st.shutdown()
    window.shutdown()
    assert runtime.shutdown()
    db.close()


def _open_session(st: ChairStation):
    patient = st.service.create_patient("P-001", weight_kg=70)
    session = st.service.start_session(patient.id, "iv-ketamine-0.5", "1", "1", devices=["Simulator"])
    st._on_session_started(session)
    assert st.runtime.drain()
    return session


def _bp(sys_: float, dia: float, t: float) -> list[Sample]:
    return [Numeric(mdc.NIBP_SYS, "NBP sys", sys_, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_DIA, "NBP dia", dia, "mm[Hg]", State.NONE, t, t),
            Numeric(mdc.NIBP_MEAN, "NBP mean", (sys_ + 2 * dia) / 3, "mm[Hg]", State.NONE, t, t)]


def test_high_bp_becomes_a_high_alarm_on_banner_tile_and_in_the_record(station) -> None:
    st, _db, clock = station
    session = _open_session(st)
    st._consume(_bp(186, 112, clock.now()))
    st.runtime.tick()
    st.refresh_alarms()

    assert st.banner.top_alarm is not None and st.banner.top_alarm.priority == AlarmPriority.HIGH
    assert st.window.tile_for(mdc.NIBP_SYS).alarm_priority == AlarmPriority.HIGH
    rows = st.alarm_list.row_texts()
    assert len(rows) == 1 and "186/112" in " ".join(rows[0])
    assert st.runtime.drain()
    alarms = [e for e in st.service.entries(session.id) if e.kind == "alarm"]
    # systolic >= 180 and diastolic >= 110 in one reading are one high alarm, at the measurement time
    assert [a.data["mdc"] for a in alarms] == [mdc.NIBP]
    for alarm in alarms:
        assert alarm.data["priority"] == "high" and alarm.data["event"] == "start"
        assert alarm.at == datetime.fromtimestamp(clock.now(), UTC)


def test_acknowledgement_is_recorded_with_the_user(station) -> None:
    st, _db, clock = station
    session = _open_session(st)
    st._consume(_bp(190, 115, clock.now()))
    st.runtime.tick()
    st.refresh_alarms()
    assert st.banner.acknowledge_top()
    st.refresh_alarms()
    assert st.runtime.drain()
    events = [e.data for e in st.service.entries(session.id) if e.kind == "alarm"]
    acks = [d for d in events if d["event"] == "ack"]
    assert len(acks) == 1, events
    assert acks[0]["user"] == st.user.full_name


def test_alarms_before_a_session_are_shown_but_not_recorded(station) -> None:
    st, _db, clock = station
    st._consume(_bp(200, 120, clock.now()))
    st.runtime.tick()
    st.refresh_alarms()
    assert st.banner.top_alarm is not None
    assert st.runtime.drain() and st.outbox.pending == []


@pytest.mark.parametrize("role", ["technician", "auditor"])
def test_alarms_run_and_are_recorded_whoever_is_logged_in(qtbot, tmp_path, role) -> None:
    """A clinician opened the session; a technician or an auditor now sits at the console: the chair's alarms
    still sound on the banner and still go into the session's record."""
    db, clock, runtime, window, _ = _rig(qtbot, tmp_path)
    try:
        clinician = db.demo_login()
        svc = db.service(clinician)
        session = svc.start_session(svc.create_patient("P-9").id, "iv-ketamine-0.5", "1", "1")
        runtime.open_session(session.id, clinician)
        db.service(db.system_user("test")).add_user("other", "Olive Other", role, "correct horse battery")
        other = db.authenticate("other", "correct horse battery")
        display = AlarmDisplay(window, lambda: other.full_name)
        runtime.ingest(_bp(188, 100, clock.now()))
        runtime.tick()
        display.refresh()
        assert display.banner.top_alarm is not None
        assert display.banner.top_alarm.priority == AlarmPriority.HIGH
        assert display.banner.acknowledge_top()
        assert runtime.drain()
        events = [e.data for e in svc.entries(session.id) if e.kind == "alarm"]
        assert [d["event"] for d in events] == ["start", "ack"]
        assert events[1]["user"] == "Olive Other"
        display.shutdown()
    finally:
        window.shutdown()
        assert runtime.shutdown()
        db.close()


def test_vitals_are_recorded_while_a_session_is_open(station) -> None:
    st, db, clock = station
    session = _open_session(st)
    t = clock.now()
    st._consume([Numeric(mdc.HEART_RATE, "HR", 72.0 + i, "/min", State.NONE, t + i, t + i) for i in range(5)])
    assert st.recorder is not None and st.recorder.flush(timeout=10)
    summary = db.vitals_summary(session.id)
    assert str(mdc.HEART_RATE) in str(summary)


def test_baseline_bp_reads_a_precheck_snapshot() -> None:
    snap = {str(mdc.NIBP_SYS): {"value": 131}, str(mdc.NIBP_DIA): {"value": 84}}
    assert baseline_bp(snap) == (131.0, 84.0)
    assert baseline_bp({str(mdc.NIBP_SYS): {"value": 131}}) is None


def test_with_the_database_locked_the_gui_thread_never_waits(qtbot, tmp_path) -> None:
    """Another program holds the SQLite file. An alarm fires, the banner acknowledges it and an entry is
    submitted, all from the GUI thread: each call returns without touching the database (the writer thread
    meets the lock instead), and every entry lands once the lock is released."""
    db, clock, runtime, window, user = _rig(qtbot, tmp_path, busy_timeout_ms=100)
    st = ChairStation(window, db, user)
    lock = None
    try:
        session = _open_session(st)
        lock = sqlite3.connect(tmp_path / "record.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        gui_thread_writes: list[str] = []
        real_add = db.service(user).__class__.add_entry

        def spying_add(self, *args, **kwargs):
            import threading
            if threading.current_thread() is threading.main_thread():
                gui_thread_writes.append(args[1] if len(args) > 1 else "?")
            return real_add(self, *args, **kwargs)

        from console.record.service import SessionService
        SessionService.add_entry = spying_add  # type: ignore[method-assign]
        try:
            st._consume(_bp(192, 104, clock.now()))
            runtime.tick()  # the runtime's alarm thread does this in the console
            st.refresh_alarms()
            assert st.banner.top_alarm is not None
            assert st.banner.acknowledge_top()
            future = runtime.submit_entry(session.id, "note", {"text": "patient asks for a blanket"})
            assert gui_thread_writes == []  # nothing was written from this thread
            assert wait_for(future.done)  # the writer thread met the lock and kept the entries
            kept = {p.kind for p in st.outbox.pending}
            assert kept == {"alarm", "note"}
            lock.execute("ROLLBACK")
            lock.close()
            lock = None
            assert wait_for(lambda: not st.outbox.pending)
        finally:
            SessionService.add_entry = real_add  # type: ignore[method-assign]
        entries = st.service.entries(session.id)
        assert [e.data["event"] for e in entries if e.kind == "alarm"] == ["start", "ack"]
        assert [e.data["text"] for e in entries if e.kind == "note"] == ["patient asks for a blanket"]
        assert gui_thread_writes == []
    finally:
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
        st.shutdown()
        window.shutdown()
        assert runtime.shutdown()
        db.close()


def test_a_note_entered_while_the_database_is_locked_is_kept_and_written_later(qtbot, tmp_path) -> None:
    """The clinician types a note while another program holds the database: it is not refused or lost."""
    from tests.session_panel.conftest import start

    db, _clock, runtime, window, user = _rig(qtbot, tmp_path, busy_timeout_ms=100)
    st = ChairStation(window, db, user)
    try:
        start(st.panel)
        session_id = st.panel.session_id
        lock = sqlite3.connect(tmp_path / "record.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        st.panel.trigger("note")
        st.panel.current_form().text.setText("patient asks for a blanket")
        st.panel.save_button.click()
        assert "kept on this computer" in st.panel.message()
        assert len(st.outbox.pending) == 1
        lock.execute("ROLLBACK")
        lock.close()
        st._flush_outbox()
        assert wait_for(lambda: not st.outbox.pending)
        notes = [e.data["text"] for e in st.service.entries(session_id) if e.kind == "note"]
        assert notes == ["patient asks for a blanket"]
    finally:
        st.shutdown()
        window.shutdown()
        assert runtime.shutdown()
        db.close()


def test_a_database_locked_for_an_hour_never_freezes_the_panel_and_no_entry_is_written_on_it(
        qtbot, tmp_path, monkeypatch) -> None:
    """The busy timeout is an hour: if the GUI thread ever waited on storage this test would hang. Every
    entry is written by the chair's writer thread, never by the GUI thread."""
    import threading

    from console.record.service import SessionService
    from tests.session_panel.conftest import start

    writers: list[str] = []
    real_add = SessionService.add_entry

    def spy(self, *args, **kwargs):
        writers.append(threading.current_thread().name)
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(SessionService, "add_entry", spy)
    db, _clock, runtime, window, user = _rig(qtbot, tmp_path, busy_timeout_ms=3_600_000)
    st = ChairStation(window, db, user)
    lock = None
    try:
        start(st.panel)
        session_id = st.panel.session_id
        st.panel.trigger("note")
        st.panel.current_form().text.setText("first note, record reachable")
        st.panel.save_button.click()
        lock = sqlite3.connect(tmp_path / "record.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        for text in ("patient asks for a blanket", "lights dimmed"):
            st.panel.trigger("note")
            st.panel.current_form().text.setText(text)
            st.panel.save_button.click()
            assert "kept on this computer" in st.panel.message()
        assert [p.kind for p in st.outbox.pending] == ["note", "note"]
        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        assert wait_for(lambda: not st.outbox.pending, 120)
        notes = [e.data["text"] for e in st.service.entries(session_id) if e.kind == "note"]
        assert notes == ["first note, record reachable", "patient asks for a blanket", "lights dimmed"]
        assert writers and threading.main_thread().name not in writers
    finally:
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
        st.shutdown()
        window.shutdown()
        assert runtime.shutdown()
        db.close()


def test_the_status_bar_says_what_is_recorded_and_what_waits(qtbot, tmp_path) -> None:
    db, clock, runtime, window, user = _rig(qtbot, tmp_path, busy_timeout_ms=100)
    st = ChairStation(window, db, user)
    try:
        assert st.refresh_recording().startswith("No session open")
        session = _open_session(st)
        t = clock.now()
        st._consume([Numeric(mdc.HEART_RATE, "HR", 70.0, "/min", State.NONE, t, t)])
        assert st.recorder is not None and st.recorder.flush(timeout=30)
        text = st.refresh_recording()
        assert text.startswith(f"Recording session {session.id}") and "1 numeric rows" in text
        assert window.status.recording_text() == text
        # a note (Qt's "temporary message") goes to its own place and does not replace the recording line
        window.statusBar().showMessage("Saved: Dosing started")
        st.refresh_recording()
        assert window.status.currentMessage() == "Saved: Dosing started"
        assert window.status.recording_text() == text
        assert window.status.user_text().startswith("Signed in as ")
        lock = sqlite3.connect(tmp_path / "record.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            runtime.submit_entry(session.id, "note", {"text": "while locked"})
            assert wait_for(lambda: "1 entries not yet saved" in st.refresh_recording())
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert wait_for(lambda: "not yet saved" not in st.refresh_recording())
    finally:
        st.shutdown()
        window.shutdown()
        assert runtime.shutdown()
        db.close()


def test_the_console_shows_a_technician_the_chairs_alarms(qtbot, tmp_path) -> None:
    """gui.py gives every role without the session panel the chair's banner and alarm list."""
    from console.commands import gui

    db, clock, runtime, window, _ = _rig(qtbot, tmp_path)
    try:
        db.service(db.system_user("test")).add_user("tess", "Tess Tech", "technician", "correct horse battery")
        tech = db.authenticate("tess", "correct horse battery")
        display = gui._alarm_display(window, tech)
        runtime.ingest(_bp(200, 120, clock.now()))
        runtime.tick()
        display.refresh()
        assert display.banner.top_alarm is not None
        assert window.tile_for(mdc.NIBP_SYS).alarm_priority == AlarmPriority.HIGH
        display.shutdown()
    finally:
        window.shutdown()
        assert runtime.shutdown()
        db.close()

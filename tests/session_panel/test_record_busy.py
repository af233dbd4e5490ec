"""Starting a session, correcting an entry and signing never freeze the window (issue 11).

The record is held locked by another program with a busy timeout of an hour: if the GUI thread ever waited on
storage these tests would hang. Each click returns at once, the panel shows what is under way with the
buttons that would repeat it disabled, and once the record is free the work is done exactly once, by the
chair's writer thread (the signing key is opened on the station's worker), never by the GUI thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from console.main_window import MainWindow
from console.record import open_database
from console.record.database import DEMO_PASSWORD
from console.record.service import SessionService
from console.runtime import ChairRuntime, ManualClock
from console.session import Intent, Refused, background
from console.session_panel.panel import PAGE_SIGN
from console.station import ChairStation
from tests.session_panel.conftest import SETTLE_S, settle, start

HOUR_MS = 3_600_000


class Rig:
    """A station on a SQLite record, a way to hold that record locked, and who called the service from where."""

    def __init__(self, qtbot: Any, tmp_path: Any, busy_timeout_ms: int) -> None:
        self.path = tmp_path / "record.db"
        self.db = open_database(f"sqlite:///{self.path}", busy_timeout_ms=busy_timeout_ms)
        self.clock = ManualClock(float(int(time.time())))
        self.runtime = ChairRuntime(self.db, chair="1", clock=self.clock, journal_path=tmp_path / "outbox.jsonl",
                                    outbox_retry_interval=0.1)
        self.runtime.start(alarm_thread=False)
        self.window = MainWindow(demo=True, runtime=self.runtime)
        qtbot.addWidget(self.window)
        self.st = ChairStation(self.window, self.db, self.db.demo_login())
        self.panel = self.st.panel
        self.window.show()
        self._lock: sqlite3.Connection | None = None
        #: (service method, thread name) for every call of the spied methods
        self.calls: list[tuple[str, str]] = []

    def spy(self, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
        for name in names:
            real = getattr(SessionService, name)

            def spied(svc: Any, *args: Any, _real: Callable[..., Any] = real, _name: str = name,
                      **kwargs: Any) -> Any:
                self.calls.append((_name, threading.current_thread().name))
                return _real(svc, *args, **kwargs)

            monkeypatch.setattr(SessionService, name, spied)

    def threads_of(self, name: str) -> list[str]:
        return [thread for called, thread in self.calls if called == name]

    def lock(self) -> None:
        self._lock = sqlite3.connect(self.path, isolation_level=None)
        self._lock.execute("BEGIN EXCLUSIVE")

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.unlock()
        self.st.shutdown()
        self.window.shutdown()
        assert self.runtime.shutdown()
        self.db.close()


@pytest.fixture
def locked_for_an_hour(qtbot, tmp_path) -> Iterator[Rig]:
    rig = Rig(qtbot, tmp_path, HOUR_MS)
    yield rig
    rig.close()


def _wait(condition: Callable[[], bool]) -> None:
    """Run the event loop until ``condition`` holds (fails only if it never does: a hang, not a slow machine)."""
    deadline = time.monotonic() + SETTLE_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        QApplication.processEvents()
        time.sleep(0.005)


def _ready_to_sign(panel: Any) -> None:
    """A session whose patient left before dosing (recorded): it may be signed."""
    start(panel)
    assert panel.session is not None, panel.message()
    panel.discharge.departure_details.setText("went home against advice")
    panel.discharge.departure_button.click()
    assert "Recorded how the patient left" in panel.message()


def test_start_while_the_record_is_locked_returns_at_once_and_starts_one_session(
        locked_for_an_hour, monkeypatch) -> None:
    rig = locked_for_an_hour
    rig.spy(monkeypatch, "create_patient", "start_session")
    panel, form = rig.panel, rig.panel.start_form
    form.code.setText("P-LOCK")
    form.protocol.setCurrentIndex(form.protocol.findData("iv-ketamine-0.5"))
    form.weight.setText("70")
    rig.lock()
    form.start_button.click()  # returns: the GUI thread does not wait an hour

    assert panel.ctl.pending is not None and panel.ctl.pending.intent is Intent.BEGIN
    assert panel.message() == "Starting the session\u2026"
    assert not form.isEnabled() and not form.start_button.isEnabled()
    assert panel.session is None
    # a second Start (a double tap, or Enter) starts nothing more: refused with the words on show
    assert panel.start_from_request(form.request()) is False
    assert form.error_label.text() == "Starting the session\u2026 Wait until it is done."
    assert form.code.text() == "P-LOCK"  # what was typed is still there

    rig.unlock()
    settle(panel)
    assert panel.session is not None and form.isEnabled(), panel.message()
    assert rig.st.session_id == panel.session_id  # the runtime records into it
    sessions = [s for s in rig.st.service.sessions() if s.patient_code == "P-LOCK"]
    assert [s.id for s in sessions] == [panel.session_id]
    assert rig.threads_of("start_session") == ["chair-writer:1"]
    assert rig.threads_of("create_patient") == ["chair-writer:1"]


def test_a_correction_while_the_record_is_locked_is_saved_once_and_keeps_the_form_meanwhile(
        locked_for_an_hour, monkeypatch) -> None:
    rig = locked_for_an_hour
    rig.spy(monkeypatch, "amend")
    panel = rig.panel
    start(panel)
    panel.trigger("note")
    panel.current_form().text.setText("pt asks for blankett")
    panel.save_button.click()
    note = next(e for e in panel.entries() if e.kind == "note")
    form = panel.open_amend(note)
    assert form is not None
    form.reason.setText("spelling")
    form.text.setText("patient asks for a blanket")
    rig.lock()
    panel.save_button.click()

    assert panel.ctl.pending is not None and panel.ctl.pending.intent is Intent.AMEND
    assert panel.message() == "Saving the correction\u2026"
    assert panel.current_form() is form and not form.isEnabled()
    assert not panel.save_button.isEnabled() and not panel.discard_button.isEnabled()
    panel.forms.save_requested.emit()  # Enter pressed again: nothing more is sent
    assert "Wait until it is done" in panel.message()
    assert form.text.text() == "patient asks for a blanket"

    rig.unlock()
    settle(panel)
    assert panel.message() == "Correction saved; the original entry is kept in the record."
    assert panel.current_form() is None and panel.save_button.isEnabled()
    stored = [e for e in rig.st.service.entries(panel.session_id) if e.kind == "amendment"]
    assert len(stored) == 1 and stored[0].amends == note.id
    assert stored[0].data["data"]["text"] == "patient asks for a blanket"
    assert rig.threads_of("amend") == ["chair-writer:1"]


def test_sign_while_the_record_is_locked_returns_at_once_and_a_double_tap_signs_once(
        locked_for_an_hour, monkeypatch) -> None:
    rig = locked_for_an_hour
    rig.spy(monkeypatch, "signing_key", "seal", "sign")
    panel = rig.panel
    _ready_to_sign(panel)
    page = panel.open_signoff()
    assert page is not None
    page.password.setText(DEMO_PASSWORD)
    rig.lock()
    page.sign_button.click()  # returns: neither the KDF nor the locked record holds the GUI thread

    assert panel.ctl.pending is not None and panel.ctl.pending.intent is Intent.SIGN
    assert page.status_label.text().startswith("Signing\u2026") and page.status_label.isVisible()
    assert not page.sign_button.isEnabled() and not page.cancel_button.isEnabled()
    assert page.password.text() == ""  # handed over, not left on screen
    assert panel.stack.currentIndex() == PAGE_SIGN and not panel.signed
    # the second tap, Enter in the password field, and a direct request: none signs again
    page.sign_button.click()
    assert page.try_sign() is False
    with pytest.raises(Refused, match="Signing"):
        panel.ctl.request_sign(DEMO_PASSWORD)
    # nothing can be added to a session being signed
    assert all(not b.isEnabled() for b in panel.quick.values())
    with pytest.raises(Refused, match="being signed"):
        panel.ctl.add_entry("note", {"text": "late"})

    rig.unlock()
    settle(panel)
    assert panel.signed and panel.stack.currentIndex() != PAGE_SIGN, panel.message()
    assert panel.message().startswith("Session signed and sealed.")
    stored = rig.st.service.entries(panel.session_id)
    assert [e.kind for e in stored].count("signature") == 1
    assert [e.kind for e in stored].count("note") == 0
    assert rig.st.service.session(panel.session_id).status == "signed"
    # the key was opened on the station's worker, the signature committed by the chair's writer
    assert rig.threads_of("signing_key") == ["chair-keys:1"]
    assert rig.threads_of("seal") == ["chair-writer:1"]
    assert rig.threads_of("sign") == []
    assert rig.st.session_id is None  # the runtime stopped recording into the signed session


def test_a_wrong_password_says_so_and_leaves_the_session_unsigned(qtbot, tmp_path, monkeypatch) -> None:
    rig = Rig(qtbot, tmp_path, 5000)
    try:
        rig.spy(monkeypatch, "signing_key", "seal")
        panel = rig.panel
        _ready_to_sign(panel)
        page = panel.open_signoff()
        assert page is not None
        page.password.setText("not the password")
        page.sign_button.click()
        settle(panel)
        assert page.error_label.text() == "The password is not correct; the session was not signed."
        assert page.sign_button.isEnabled() and page.password.isEnabled() and page.status_label.isHidden()
        assert panel.stack.currentIndex() == PAGE_SIGN and not panel.signed
        assert "Signing" not in panel.message()  # nothing says it is still under way
        assert "signature" not in [e.kind for e in rig.st.service.entries(panel.session_id)]
        assert rig.st.service.session(panel.session_id).status != "signed"
        assert rig.threads_of("signing_key") == ["chair-keys:1"] and rig.threads_of("seal") == []
        # the clinician retypes it and signs
        page.password.setText(DEMO_PASSWORD)
        page.sign_button.click()
        settle(panel)
        assert panel.signed and rig.st.service.session(panel.session_id).status == "signed"
    finally:
        rig.close()


def test_a_busy_record_says_still_trying_and_signs_once_when_it_is_free(qtbot, tmp_path, monkeypatch) -> None:
    """A short busy timeout: each try fails with "database is locked"; the panel says the record is busy and
    keeps trying, then signs exactly once."""
    monkeypatch.setattr(background, "BUSY_RETRY_S", 0.05)
    rig = Rig(qtbot, tmp_path, 100)
    try:
        rig.spy(monkeypatch, "signing_key", "seal")
        panel = rig.panel
        _ready_to_sign(panel)
        page = panel.open_signoff()
        assert page is not None
        page.password.setText(DEMO_PASSWORD)
        rig.lock()
        page.sign_button.click()
        # the password check writes its audit row in a write transaction: refused, and tried again
        _wait(lambda: len(rig.threads_of("signing_key")) >= 2)
        _wait(lambda: "still trying" in page.status_label.text())
        assert page.status_label.text().startswith("Signing\u2026 The record is busy: still trying")
        assert "The record is busy: still trying" in panel.message()
        assert not page.sign_button.isEnabled() and not panel.signed
        rig.unlock()
        settle(panel)
        assert panel.signed, panel.message()
        kinds = [e.kind for e in rig.st.service.entries(panel.session_id)]
        assert kinds.count("signature") == 1
        assert set(rig.threads_of("signing_key")) == {"chair-keys:1"}
        assert set(rig.threads_of("seal")) == {"chair-writer:1"}
    finally:
        rig.close()


def test_a_busy_record_at_start_keeps_trying_and_starts_one_session(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(background, "BUSY_RETRY_S", 0.05)
    rig = Rig(qtbot, tmp_path, 100)
    try:
        rig.spy(monkeypatch, "start_session")
        panel, form = rig.panel, rig.panel.start_form
        form.code.setText("P-BUSY")
        form.weight.setText("70")
        rig.lock()
        form.start_button.click()
        _wait(lambda: "still trying" in panel.message())
        assert panel.message().startswith("Starting the session\u2026 The record is busy: still trying")
        assert panel.message_kind == "warning" and not form.start_button.isEnabled()
        rig.unlock()
        settle(panel)
        assert panel.session is not None, panel.message()
        assert [s.id for s in rig.st.service.sessions() if s.patient_code == "P-BUSY"] == [panel.session_id]
        assert len([p for p in rig.st.service.patients() if p.code == "P-BUSY"]) == 1
    finally:
        rig.close()


def test_alarms_and_acknowledge_keep_working_while_a_signature_waits(locked_for_an_hour, qtbot) -> None:
    from PySide6.QtCore import Qt

    from devices import mdc
    from devices.model import AlarmPriority, Numeric, State

    rig = locked_for_an_hour
    panel, st = rig.panel, rig.st
    _ready_to_sign(panel)
    page = panel.open_signoff()
    assert page is not None
    page.password.setText(DEMO_PASSWORD)
    rig.lock()
    page.sign_button.click()
    assert page.pending
    t = rig.clock.now()
    st._consume([Numeric(code, "NBP", value, "mm[Hg]", State.NONE, t, t)
                 for code, value in ((mdc.NIBP_SYS, 190.0), (mdc.NIBP_DIA, 116.0), (mdc.NIBP_MEAN, 140.0))])
    st.runtime.tick()
    st.refresh_alarms()
    top = st.banner.top_alarm
    assert top is not None and top.priority == AlarmPriority.HIGH and not top.acknowledged
    assert st.banner.ack_button.isVisible() and st.banner.ack_button.isEnabled()
    qtbot.mouseClick(st.banner.ack_button, Qt.MouseButton.LeftButton)
    st.refresh_alarms()
    assert st.banner.top_alarm is not None and st.banner.top_alarm.acknowledged
    assert page.pending and not panel.signed  # the signature still waits for the record

    rig.unlock()
    settle(panel)
    assert panel.signed, panel.message()
    assert st.runtime.drain()
    acks = [e for e in st.service.entries(panel.session_id) if e.kind == "alarm" and e.data["event"] == "ack"]
    assert [a.data["key"] for a in acks] == [top.key]


def test_the_console_fits_every_clinic_screen_while_a_signature_waits(locked_for_an_hour) -> None:
    """The pending sign-off page (its "Signing…" line, the disabled buttons) is walked like every window."""
    from tests.layout_walk import SCREENS, layout_problems

    rig = locked_for_an_hour
    _ready_to_sign(rig.panel)
    page = rig.panel.open_signoff()
    assert page is not None
    page.password.setText(DEMO_PASSWORD)
    rig.lock()
    page.sign_button.click()
    assert page.pending and page.status_label.isVisible()
    for size in SCREENS:
        assert layout_problems(rig.window, size) == [], size
    rig.unlock()
    settle(rig.panel)
    assert rig.panel.signed


def test_no_signature_while_an_entry_of_the_session_is_still_on_this_computer(qtbot, tmp_path) -> None:
    """The signature seals the chain as the record holds it: a discharge kept on this computer (the record was
    locked) must reach the record first, or it would be left out of what was signed."""
    rig = Rig(qtbot, tmp_path, 100)
    try:
        panel = rig.panel
        start(panel)
        assert panel.discharge is not None
        rig.lock()
        panel.discharge.departure_details.setText("went home against advice")
        panel.discharge.departure_button.click()
        assert [p.kind for p in rig.st.outbox.pending] == ["discharge"]
        assert panel.open_signoff() is None
        assert panel.message() == ("1 entry of this session is kept on this computer, not yet in the record: sign "
                                   "once saved (the status bar counts them).")
        with pytest.raises(Refused, match="not yet in the record"):
            panel.ctl.request_sign(DEMO_PASSWORD)
        rig.unlock()
        _wait(lambda: not rig.st.outbox.pending)
        page = panel.open_signoff()
        assert page is not None
        page.password.setText(DEMO_PASSWORD)
        page.sign_button.click()
        settle(panel)
        kinds = [e.kind for e in rig.st.service.entries(panel.session_id)]
        assert panel.signed and kinds[-1] == "signature" and "discharge" in kinds  # under the seal
    finally:
        rig.close()


def test_a_seal_the_witness_could_not_take_is_signed_and_says_so(qtbot, tmp_path, monkeypatch) -> None:
    """After the commit the session IS signed: a witness failure must not read as "not signed" (a second
    signature would follow) but as signed, with what is wrong."""
    from console.record.errors import StorageUnavailable

    def no_witness(_svc: Any, session_id: int, _entry: Any) -> None:
        raise StorageUnavailable(f"session {session_id} is signed, but the seal could not be written to the "
                                 "witness (disk full)")

    monkeypatch.setattr(SessionService, "witness_signature", no_witness)
    rig = Rig(qtbot, tmp_path, 5000)
    try:
        panel = rig.panel
        _ready_to_sign(panel)
        page = panel.open_signoff()
        assert page is not None
        page.password.setText(DEMO_PASSWORD)
        page.sign_button.click()
        settle(panel)
        assert panel.signed and panel.message_kind == "error"
        assert panel.message().startswith("Session signed, but: session ")
        assert "could not be written to the witness (disk full)" in panel.message()
        assert [e.kind for e in rig.st.service.entries(panel.session_id)].count("signature") == 1
        assert panel.open_signoff() is None and panel.message() == "The session is already signed."
    finally:
        rig.close()

"""The diagnostics panel's record toggle records into the session record (the open session, or none), next to
the files when a folder is set; only technicians and admins may; the setup window asks the chair station
which session is open."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from console.record.raw_captures import list_captures, read_raw_capture
from console.technician.diagnostics import DiagnosticsPanel
from console.technician.setup_dialog import open_device_setup
from devices.protocols.intellivue import DRIVER as INTELLIVUE
from devices.raw_recorder import read_recording

pytestmark = pytest.mark.timeout(60)


def open_session(services) -> int:
    clin = services["clinician"]
    patient = clin.create_patient("PT-DIAG")
    return clin.start_session(patient.id, "iv-ketamine-0.5", "3", "chair 1", devices=["intellivue"]).id


def record_a_while(qtbot, panel: DiagnosticsPanel, served, link) -> None:
    panel.record_button.click()
    served.run(link)
    qtbot.waitUntil(lambda: link.driver.stats.frames_ok > 20, timeout=20000)
    served.stop_links()
    panel.record_button.click()


def test_toggle_records_the_live_link_into_the_open_session(qtbot, db, services, serve) -> None:
    session_id = open_session(services)
    served = serve("intellivue")
    link = served.link("bed 1")
    panel = DiagnosticsPanel(link, record_service=services["technician"], session_id=lambda: session_id,
                             refresh_ms=100)
    qtbot.addWidget(panel)
    assert not panel.record_button.isHidden()
    assert panel.record_button.isEnabled()
    record_a_while(qtbot, panel, served, link)
    assert panel.db_recorder is None and panel.recorder is None
    assert not panel.record_button.isChecked() and panel.record_button.text() == "Record raw bytes"
    assert panel.record_label.text().startswith(f"recording into session {session_id} stopped:")

    [info] = list_captures(db, session_id)
    assert (info.device, info.protocol) == ("bed 1", "intellivue")
    assert info.bytes_in == link.counters.bytes_in and info.bytes_out == link.counters.bytes_out
    reads = read_raw_capture(db, session_id=session_id)
    replayed = INTELLIVUE(source="replay")
    for t, data in reads:
        replayed.feed(data, t)
    assert replayed.stats.frames_ok == link.driver.stats.frames_ok and replayed.stats.frames_bad == 0
    assert [a.username for a in db.audit_trail() if a.action.startswith("raw_recording")] == [
        "user_technician", "user_technician"]
    panel.stop()


def test_toggle_records_into_the_record_and_to_files_together(qtbot, db, services, serve,
                                                               tmp_path: Path) -> None:
    served = serve("intellivue")
    link = served.link("bed 2")
    panel = DiagnosticsPanel(link, record_service=services["admin"], recordings_dir=tmp_path, refresh_ms=100)
    qtbot.addWidget(panel)
    panel.record_button.click()
    assert panel.db_recorder is not None and panel.recorder is not None
    files = panel.recorder.paths
    served.run(link)
    qtbot.waitUntil(lambda: link.driver.stats.frames_ok > 10, timeout=20000)
    qtbot.waitUntil(lambda: "bytes so far" in panel.record_label.text(), timeout=5000)
    assert "recording bed 2 into the record (no session open)" in panel.record_label.text()
    served.stop_links()
    panel.record_button.click()
    [info] = list_captures(db, sessionless=True)
    from_db = b"".join(d for _, d in read_raw_capture(db, capture=info.capture))
    from_file = b"".join(d for _, d in read_recording(files[0]))
    assert from_db == from_file and len(from_db) == link.counters.bytes_in
    panel.stop()


@pytest.mark.parametrize("role", ["clinician", "auditor"])
def test_other_roles_cannot_record(qtbot, db, services, serve, role) -> None:
    served = serve("masimo")
    link = served.link("bed 3")
    panel = DiagnosticsPanel(link, record_service=services[role], refresh_ms=100)
    qtbot.addWidget(panel)
    assert not panel.record_button.isEnabled()
    assert panel.record_label.text() == "Only technicians and admins can record the raw bytes of a device."
    assert not panel.start_recording()
    assert panel.record_label.text() == (f"Cannot record: A user with the role {role} cannot record the raw "
                                         "bytes of a device; only admins or technicians can.")
    assert panel.db_recorder is None and link.tap is None
    assert db.audit_trail("raw_recording_start") == []
    panel.stop()


class FakeStation(QObject):
    def __init__(self, parent: QWidget, session_id: int | None) -> None:
        super().__init__(parent)
        self.session_id = session_id

    def open_session_id(self) -> int | None:
        return self.session_id


def test_setup_window_records_into_the_station_s_open_session(qtbot, db, services, serve, tmp_path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    station = FakeStation(window, None)
    served = serve("masimo")
    link = served.link("bed 4")
    dialog = open_device_setup(window, services["technician"], [link], recordings_dir=tmp_path)
    qtbot.addWidget(dialog)
    panel = dialog.panels[0]
    station.session_id = open_session(services)  # the clinician opens a session after the window opened
    panel.record_button.click()
    assert panel.db_recorder is not None and panel.db_recorder.session_id == station.session_id
    served.run(link)
    qtbot.waitUntil(lambda: link.counters.bytes_in > 0, timeout=20000)
    served.stop_links()
    dialog.close()  # closing the window stops the recording
    assert panel.db_recorder is None
    assert [c.session_id for c in list_captures(db)] == [station.session_id]


def test_files_still_record_when_the_record_cannot_take_it(qtbot, db, services, serve,
                                                            tmp_path: Path) -> None:
    served = serve("masimo")
    link = served.link("bed 5")
    panel = DiagnosticsPanel(link, record_service=services["technician"], session_id=lambda: 999,
                             recordings_dir=tmp_path, refresh_ms=100)
    qtbot.addWidget(panel)
    assert panel.start_recording()
    assert panel.db_recorder is None and panel.recorder is not None
    assert panel.record_label.text().endswith("Recording not into the record: no session with id 999")
    assert "background-color: #f5c400" in panel.record_label.styleSheet()
    served.run(link)
    qtbot.waitUntil(lambda: link.counters.bytes_in > 0, timeout=20000)
    served.stop_links()
    panel.stop_recording()
    assert b"".join(d for _, d in read_recording(panel_file(tmp_path))) and list_captures(db) == []
    panel.stop()


def panel_file(folder: Path) -> Path:
    [log] = folder.glob("*.log")
    return log

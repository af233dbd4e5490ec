"""The device profiles editor: CRUD through the service with audit rows, role refusal, validation messages,
connection test and auto-detect against emulators on loopback (threads stopped)."""

from __future__ import annotations

import re
import socket

import pytest

from console.technician.profiles import NO_PORT
from console.technician.profiles_dialog import DeviceProfilesWidget
from devices.protocols.datex import DRIVER as DATEX

pytestmark = pytest.mark.timeout(60)


def make_widget(qtbot, service) -> DeviceProfilesWidget:
    w = DeviceProfilesWidget(service)
    qtbot.addWidget(w)
    w.confirm = lambda text: True
    return w


def fill(w: DeviceProfilesWidget, name: str, protocol: str, port: str, chair: str = "") -> None:
    w.new_profile()
    w.name_edit.setText(name)
    w.protocol_combo.setCurrentIndex(w.protocol_combo.findData(protocol))
    w.port_combo.setEditText(port)
    w.chair_combo.setEditText(chair)


def profile_audit(svc) -> list:
    return [a for a in svc.audit_trail() if a.action.startswith("device_profile_")]


def test_technician_creates_edits_duplicates_and_deletes(qtbot, services) -> None:
    svc = services["technician"]
    w = make_widget(qtbot, svc)
    assert w.can_edit and w.save_button.isEnabled() and not w.readonly_label.isVisible()

    fill(w, "Chair 2 Datex", "datex", "socket://10.0.0.5:4001", "Chair 2")
    # choosing the protocol prefilled its line settings and showed its setup help
    assert (w.baud_combo.currentText(), w.parity_combo.currentData(), w.rtscts_check.isChecked()) == \
        ("19200", "E", True)
    assert w.help_label.text().startswith(DATEX.setup_help)
    assert w.save()
    [p] = svc.device_profiles()
    assert (p.name, p.protocol, p.port, p.chair) == \
        ("Chair 2 Datex", "datex", "socket://10.0.0.5:4001", "Chair 2")
    assert p.settings == {"baudrate": 19200, "bytesize": 8, "parity": "E", "stopbits": 1, "rtscts": True,
                          "xonxoff": False}
    assert p.updated_by == "user_technician"

    # edit: the name is fixed, the baud rate changes; the history shows who changed what
    assert w.editing == "Chair 2 Datex" and w.name_edit.isReadOnly()
    w.baud_combo.setEditText("115200")
    assert w.save()
    assert svc.device_profiles()[0].settings["baudrate"] == 115200
    audit = profile_audit(svc)
    assert [(a.action, a.username) for a in audit] == [("device_profile_save", "user_technician")] * 2
    assert audit[0].before is None and audit[1].before["settings"]["baudrate"] == 19200
    assert audit[1].after["settings"]["baudrate"] == 115200
    assert w.history_table.rowCount() == 2
    assert [w.history_table.item(0, c).text() for c in (1, 2, 3)] == \
        ["user_technician (technician)", "changed", "baudrate: 19200 -> 115200"]
    assert w.history_table.item(1, 2).text() == "created"
    before, after = w.history_table.item(0, 3).toolTip().split("\n")
    assert before.startswith("Before: {") and '"baudrate": 19200' in before
    assert after.startswith("After: {") and '"baudrate": 115200' in after
    assert w.history_table.item(1, 3).toolTip().startswith("Before: (none)\nAfter: {")

    # duplicate, then assign the copy to another chair
    w.duplicate_profile()
    assert w.editing is None and w.name_edit.text() == "Chair 2 Datex copy" and not w.name_edit.isReadOnly()
    w.chair_combo.setEditText("Chair 3")
    assert w.save()
    profiles = {p.name: p for p in svc.device_profiles()}
    assert profiles["Chair 2 Datex copy"].chair == "Chair 3"
    assert profiles["Chair 2 Datex copy"].settings == profiles["Chair 2 Datex"].settings
    assert w.list.count() == 2

    # delete the original
    w.load_profile("Chair 2 Datex")
    assert w.delete_profile()
    assert [p.name for p in svc.device_profiles()] == ["Chair 2 Datex copy"]
    last = profile_audit(svc)[-1]
    assert (last.action, last.target, last.after) == \
        ("device_profile_delete", "device profile Chair 2 Datex", None)
    assert last.before["port"] == "socket://10.0.0.5:4001"
    assert w.list.count() == 1 and w.editing == "Chair 2 Datex copy"


def test_delete_needs_confirmation(qtbot, services) -> None:
    svc = services["technician"]
    svc.save_device_profile("mon", "masimo", "COM3", {"baudrate": 9600})
    w = make_widget(qtbot, svc)
    w.confirm = lambda text: False
    assert not w.delete_profile()
    assert [p.name for p in svc.device_profiles()] == ["mon"]


def test_simulator_profile_has_no_port(qtbot, services) -> None:
    svc = services["technician"]
    w = make_widget(qtbot, svc)
    fill(w, "Demo sim", "simulator", "")
    assert not w.port_combo.isEnabled()
    assert w.save()
    assert svc.device_profiles()[0].port == NO_PORT


def test_validation_messages_and_nothing_stored(qtbot, services) -> None:
    svc = services["technician"]
    w = make_widget(qtbot, svc)
    fill(w, "Bad", "masimo", "http://10.0.0.5:80")
    w.baud_combo.setEditText("fast")
    assert not w.save()
    text = w.message_label.text()
    assert text.startswith("Not saved. Please correct:")
    assert "Unknown port type \"http://\"" in text
    assert "Baud rate must be a whole number, like 19200 (not \"fast\")." in text
    assert "#e8202a" in w.port_combo.styleSheet() and "#e8202a" in w.baud_combo.styleSheet()
    assert svc.device_profiles() == [] and profile_audit(svc) == []

    # fixed: the marks go and it saves
    w.port_combo.setEditText("/dev/ttyUSB0")
    w.baud_combo.setEditText("9600")
    assert w.save()
    assert w.port_combo.styleSheet() == "" and "Saved profile" in w.message_label.text()


def test_a_new_profile_cannot_take_an_existing_name(qtbot, services) -> None:
    svc = services["technician"]
    svc.save_device_profile("mon", "masimo", "COM3", {"baudrate": 9600})
    w = make_widget(qtbot, svc)
    fill(w, "mon", "datex", "COM4")
    assert not w.save()
    assert "A profile named \"mon\" already exists" in w.message_label.text()
    assert svc.device_profiles()[0].protocol == "masimo"


@pytest.mark.parametrize("role", ["clinician", "auditor"])
def test_other_roles_are_read_only_and_the_service_refuses(qtbot, services, role) -> None:
    services["technician"].save_device_profile("mon", "masimo", "COM3", {"baudrate": 9600})
    svc = services[role]
    w = make_widget(qtbot, svc)
    assert not w.can_edit
    assert not w.save_button.isEnabled() and not w.delete_button.isEnabled() and not w.new_button.isEnabled()
    assert w.readonly_label.isVisibleTo(w)
    assert f"your role ({role}) cannot change device profiles" in w.readonly_label.text()
    assert w.test_button.isEnabled()  # testing a connection writes nothing
    # the controls are only a courtesy: the service is what refuses, and the refusal is shown plainly
    w.baud_combo.setEditText("19200")
    assert not w.save()
    assert w.message_label.text() == (f"Not saved: A user with the role {role} cannot change device "
                                      "profiles; only admins or technicians can.")
    assert not w.delete_profile()
    assert w.message_label.text().startswith(f"Not deleted: A user with the role {role} cannot delete")
    [p] = svc.device_profiles()
    assert p.settings == {"baudrate": 9600}
    assert len(profile_audit(svc)) == 1


def test_connection_test_reports_what_arrived(qtbot, services, serve) -> None:
    served = serve("masimo")
    w = make_widget(qtbot, services["technician"])
    fill(w, "ox", "masimo", served.url)
    assert w.test_connection()
    assert not w.test_button.isEnabled() and w.test_button.text() == "Testing ..."
    # one program at a time on a port: auto-detect waits for the test
    assert not w.autodetect_button.isEnabled() and not w.start_autodetect()
    qtbot.waitUntil(w.test_button.isEnabled, timeout=20000)
    text = w.test_label.text()
    assert w.test_label.property("level") == "ok"
    assert text.startswith("Receiving data:")
    assert re.search(r"Values: (BPM|SPO2) \d+ (/min|%)", text), text
    assert "bytes in, 0 bytes out" in text
    assert not w.probe.isRunning() and w.autodetect_button.isEnabled()


def test_connection_test_explains_an_unreachable_port(qtbot, services) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"socket://127.0.0.1:{sock.getsockname()[1]}"
    w = make_widget(qtbot, services["clinician"])  # any role may test: nothing is written
    w.port_combo.setEditText(url)
    w.protocol_combo.setCurrentIndex(w.protocol_combo.findData("datex"))
    assert w.test_connection()
    qtbot.waitUntil(w.test_button.isEnabled, timeout=20000)
    assert w.test_label.property("level") == "error"
    assert w.test_label.text().startswith(f"Cannot reach the terminal server at {url}.")


def test_closing_stops_a_running_test(qtbot, services, serve) -> None:
    served = serve("intellivue")
    served.server.vanish()  # the port is gone: the test would keep retrying for seconds
    w = make_widget(qtbot, services["technician"])
    fill(w, "iv", "masimo", "/dev/chairside-test-no-such-port")
    w.port_combo.setEditText(served.url)
    assert w.test_connection()
    w.close()  # stops and waits for the thread; the autouse fixture fails the test if it still ran
    assert not w.probe.isRunning()


def test_autodetect_finds_the_protocol_and_fills_the_form(qtbot, services, serve) -> None:
    served = serve("intellivue")
    w = make_widget(qtbot, services["technician"])
    fill(w, "unknown", "datex", served.url)
    w.autodetect_protocols = ["masimo", "intellivue"]
    w.autodetect_seconds = 1.5
    assert w.start_autodetect()
    qtbot.waitUntil(w.autodetect_button.isEnabled, timeout=30000)
    best = w.autodetect_results[0]
    assert best.protocol == "intellivue" and best.answered
    assert [r.answered for r in w.autodetect_results if r.protocol == "masimo"] == [False, False]
    assert w.autodetect_list.item(0).text().startswith("✔ intellivue at ")
    assert w.autodetect_box.title().startswith("Auto-detect: best match Philips IntelliVue")
    w.autodetect_list.setCurrentRow(0)
    w.use_autodetect_result()
    assert w.protocol_combo.currentData() == "intellivue"
    assert w.baud_combo.currentText() == str(best.settings.baudrate)
    assert w.parity_combo.currentData() == "N" and not w.rtscts_check.isChecked()
    assert "Save to keep it" in w.message_label.text()


def test_closing_stops_a_running_autodetect(qtbot, services, serve) -> None:
    served = serve("masimo")
    w = make_widget(qtbot, services["technician"])
    w.port_combo.setEditText(served.url)
    w.autodetect_seconds = 30.0  # would take minutes if not stopped
    assert w.start_autodetect()
    qtbot.waitUntil(lambda: served.server.endpoint.connections > 0, timeout=10000)
    w.close()
    assert not w.autodetector.isRunning()


def test_the_list_taking_focus_does_not_replace_a_new_profile(qtbot, services) -> None:
    from PySide6.QtCore import QItemSelectionModel

    svc = services["technician"]
    svc.save_device_profile("mon", "masimo", "COM3", {"baudrate": 9600})
    w = make_widget(qtbot, svc)
    fill(w, "typed", "datex", "COM7")
    # what Qt does when the list gets the keyboard focus: the first row becomes current, unselected
    first = w.list.model().index(0, 0)
    w.list.selectionModel().setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
    assert (w.editing, w.name_edit.text(), w.port_combo.currentText()) == (None, "typed", "COM7")
    # choosing the row does load it
    w.list.item(0).setSelected(True)
    assert (w.editing, w.name_edit.text(), w.port_combo.currentText()) == ("mon", "mon", "COM3")


def test_unsaved_changes_are_not_dropped_without_asking(qtbot, services) -> None:
    svc = services["technician"]
    for name, port in (("a", "COM3"), ("b", "COM4")):
        svc.save_device_profile(name, "masimo", port, {"baudrate": 9600})
    w = make_widget(qtbot, svc)
    asked: list[str] = []
    w.confirm = lambda text: asked.append(text) or False
    assert w.editing == "a" and not w.has_unsaved_changes()
    w.port_combo.setEditText("COM9")
    assert w.has_unsaved_changes()
    w.list.item(1).setSelected(True)  # the technician clicks profile b and answers No
    assert asked == ["Discard the unsaved changes to \"a\"?"]
    assert (w.editing, w.port_combo.currentText()) == ("a", "COM9")
    assert [i.text().split("\n")[0] for i in w.list.selectedItems()] == ["a"]
    w.new_button.click()  # No again: still editing a
    assert w.editing == "a" and len(asked) == 2
    w.confirm = lambda text: True
    w.list.item(1).setSelected(True)
    assert (w.editing, w.port_combo.currentText()) == ("b", "COM4")
    assert svc.device_profiles()[0].port == "COM3"  # nothing was saved behind the technician's back

"""The status bar: each device's link state in words and colour, the DEMO marker, the clock."""

from __future__ import annotations

import pytest

from widgets.status_bar import DEFAULT_STATE_COLOURS, DeviceStatusBar


@pytest.fixture
def bar(qtbot) -> DeviceStatusBar:
    b = DeviceStatusBar()
    qtbot.addWidget(b)
    return b


def _colour(bar: DeviceStatusBar, source: str) -> str:
    from PySide6.QtGui import QPalette

    return bar._devices[source].palette().color(QPalette.ColorRole.WindowText).name()


@pytest.mark.parametrize("state, words", [
    ("connecting", "connecting"),
    ("associated", "receiving data"),
    ("lost", "connection lost, retrying"),
    ("silent", "no data from device"),
    ("stopped", "stopped"),
])
def test_link_state_in_words_and_colour(bar: DeviceStatusBar, state: str, words: str) -> None:
    bar.set_link_state("IntelliVue on COM3", state, "why")
    assert words in bar.device_text("IntelliVue on COM3")
    assert bar.link_state("IntelliVue on COM3") == state
    assert _colour(bar, "IntelliVue on COM3") == DEFAULT_STATE_COLOURS[state]
    assert bar._devices["IntelliVue on COM3"].toolTip() == "why"


def test_one_entry_per_device(bar: DeviceStatusBar) -> None:
    bar.set_link_state("A", "associated")
    bar.set_link_state("B", "lost")
    bar.set_link_state("A", "lost")
    assert bar.link_state("A") == "lost" and bar.link_state("B") == "lost"
    assert len(bar._devices) == 2
    assert bar.link_state("C") is None and bar.device_text("C") == ""


def test_demo_marker(bar: DeviceStatusBar) -> None:
    assert bar.demo_text() == ""
    bar.set_demo(True)
    assert bar.demo_text().startswith("DEMO")
    bar.set_demo(False)
    assert bar.demo_text() == ""


def test_clock(bar: DeviceStatusBar) -> None:
    bar.set_clock("14:32:05")
    assert bar.clock_label.text() == "14:32:05"


def _fits(label) -> bool:
    """The label's whole text fits its rectangle (wrapped if it wraps; never elided or cut)."""
    from PySide6.QtCore import Qt

    flags = int(label.alignment()) | (int(Qt.TextFlag.TextWordWrap) if label.wordWrap() else 0)
    needed = label.fontMetrics().boundingRect(label.contentsRect(), flags, label.text())
    return label.contentsRect().contains(needed)


@pytest.mark.parametrize("width", [1366, 1280, 1920])
def test_link_recording_note_and_user_each_have_their_own_place(qtbot, width: int) -> None:
    """Issue 12: "Signed in as ..." was drawn over "connection lost, retrying"."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication

    from console.main_window import MainWindow

    w = MainWindow(demo=True)
    qtbot.addWidget(w)
    w.resize(width, 700)
    w.show()
    qtbot.waitExposed(w)
    bar = w.status
    bar.set_link_state("Bedside monitor (IntelliVue MX450 on COM3)", "lost", "cable pulled")
    bar.set_link_state("Capnograph", "associated")
    bar.set_user("Signed in as Dr Alexandra Montgomery-Whitfield (clinician)")
    bar.set_recording("Recording session 1234 \u2014 8,412 numeric rows, 214 wave chunks written; "
                      "3 entries not yet saved")
    bar.showMessage("Saved: Dosing started")
    bar.set_clock("14:32:05")
    qtbot.waitUntil(lambda: all(label.isVisible() for label in (bar.user_label, bar.recording_label)))
    for _ in range(3):  # let every nested layout take its posted layout request
        QApplication.sendPostedEvents()
        QApplication.processEvents()

    def rect(label) -> QRect:
        return QRect(label.mapTo(w, label.rect().topLeft()), label.size())

    places = [bar.link_label("Bedside monitor (IntelliVue MX450 on COM3)"), bar.link_label("Capnograph"),
              bar.user_label, bar.recording_label, bar.note_label, bar.demo_label, bar.clock_label]
    for label in places:
        assert label is not None and label.isVisible(), label
        assert _fits(label), (label.objectName(), label.text(), label.size())
        assert w.rect().contains(rect(label)), (label.objectName(), rect(label))
    for i, a in enumerate(places):
        for b in places[i + 1:]:
            assert a is not None and b is not None
            assert not rect(a).intersects(rect(b)), (a.text(), b.text())
    assert "connection lost" in bar.device_text("Bedside monitor (IntelliVue MX450 on COM3)")
    assert bar.currentMessage() == "Saved: Dosing started"
    w.close()


def test_empty_places_take_no_room(bar: DeviceStatusBar) -> None:
    assert bar.recording_label.isHidden() and bar.user_label.isHidden() and bar.note_label.isHidden()
    bar.showMessage("x")
    assert not bar.note_label.isHidden()
    bar.clearMessage()
    assert bar.note_label.isHidden() and bar.currentMessage() == ""

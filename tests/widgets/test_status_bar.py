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

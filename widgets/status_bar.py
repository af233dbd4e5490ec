"""The monitor's status bar: one entry per device with its link state, a DEMO marker and the clock.

Link states arrive as the string values of :class:`devices.model.LinkState` ("connected", "lost", ...) from the
acquisition threads' state-change signal; the bar only repaints when a state changes (and once a second for the
clock, driven by the window's frame timer through :meth:`DeviceStatusBar.set_clock`).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

#: words shown for each link state
STATE_WORDS = {
    "connecting": "connecting\u2026",
    "connected": "connected",
    "associated": "receiving data",
    "silent": "no data from device",
    "lost": "connection lost, retrying",
    "stopped": "stopped",
}

DEFAULT_STATE_COLOURS = {
    "connecting": "#f5c400",
    "connected": "#33cc66",
    "associated": "#33cc66",
    "silent": "#f5c400",
    "lost": "#ff4d4d",
    "stopped": "#9aa3ad",
}


class DeviceStatusBar(QStatusBar):
    """Device link states on the left, DEMO marker and clock on the right."""

    def __init__(self, *, state_colours: dict[str, str] | None = None, demo_colour: str = "#ff9f1a",
                 text_colour: str = "#e8e8e8", font_family: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._colours = {**DEFAULT_STATE_COLOURS, **(state_colours or {})}
        self._font = QFont(font_family) if font_family else QFont()
        self._font.setPixelSize(17)
        self._devices: dict[str, QLabel] = {}
        self._states: dict[str, tuple[str, str]] = {}
        self.demo_label = QLabel("")
        demo_font = QFont(self._font)
        demo_font.setBold(True)
        self.demo_label.setFont(demo_font)
        self.demo_label.setStyleSheet(f"color: #000000; background: {demo_colour}; padding: 1px 10px;")
        self.demo_label.hide()
        self.clock_label = QLabel("")
        self.clock_label.setFont(self._font)
        self._paint(self.clock_label, text_colour)
        self.addPermanentWidget(self.demo_label)
        self.addPermanentWidget(self.clock_label)

    def set_link_state(self, source: str, state: str, message: str = "") -> None:
        """Show the state of device ``source``; ``message`` becomes the tooltip (the reason, in words)."""
        label = self._devices.get(source)
        if label is None:
            label = QLabel()
            label.setFont(self._font)
            self._devices[source] = label
            self.addWidget(label)
        if self._states.get(source) == (state, message):
            return
        self._states[source] = (state, message)
        label.setText(f"\u25cf {source}: {STATE_WORDS.get(state, state)}")
        label.setToolTip(message)
        self._paint(label, self._colours.get(state, "#e8e8e8"))

    def link_state(self, source: str) -> str | None:
        """The last state shown for ``source`` ("connected", ...), or None if unknown."""
        entry = self._states.get(source)
        return entry[0] if entry else None

    def device_text(self, source: str) -> str:
        """The text shown for ``source`` (empty if unknown)."""
        label = self._devices.get(source)
        return label.text() if label else ""

    def set_demo(self, on: bool, text: str = "DEMO \u2013 simulated data, not a patient") -> None:
        """Show or hide the DEMO marker."""
        self.demo_label.setText(text if on else "")
        self.demo_label.setVisible(on)

    def demo_text(self) -> str:
        """The DEMO marker's text, empty when not in demo mode."""
        return self.demo_label.text()

    def set_clock(self, text: str) -> None:
        """Update the clock text (only repaints when it changed)."""
        if self.clock_label.text() != text:
            self.clock_label.setText(text)

    @staticmethod
    def _paint(label: QLabel, colour: str) -> None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        label.setPalette(palette)

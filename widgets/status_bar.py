"""The monitor's status area: each device's link state, what is recorded, who is signed in, DEMO and the clock.

Every message has its own place, so none is ever drawn over another (issue 12: "Signed in as ..." used to be
painted over "connection lost, retrying"): the bottom row holds the device links on the left and the DEMO marker
and clock on the right; the row above it, shown only when it has something to say, holds the recording line,
the latest note and the signed-in user. Long texts wrap onto another line, never elided. ``showMessage`` (Qt's
temporary message, which QStatusBar paints over its ordinary widgets) is routed to the note's own place and
stays until replaced: a message nobody saw is a message lost.

Link states arrive as the string values of :class:`devices.model.LinkState` ("connected", "lost", ...); the bar
only repaints when a text changes (the clock once a second, through :meth:`DeviceStatusBar.set_clock`).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QStatusBar, QWidget

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


class WrapLabel(QLabel):
    """A word-wrapping label that asks for one line's width: on one line while there is room, wrapped (never
    cut or elided) when its neighbours leave too little. A plain word-wrapped QLabel asks for a guessed width
    and so wraps short texts needlessly."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self.text()) + margins.left() + margins.right() + 2
        return QSize(width, self.heightForWidth(width))


class DeviceStatusBar(QStatusBar):
    """Device links, DEMO marker and clock on the bottom row; recording, note and user on the row above."""

    def __init__(self, *, state_colours: dict[str, str] | None = None, demo_colour: str = "#ff9f1a",
                 text_colour: str = "#e8e8e8", font_family: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._colours = {**DEFAULT_STATE_COLOURS, **(state_colours or {})}
        self._font = QFont(font_family) if font_family else QFont()
        self._font.setPixelSize(17)
        self._devices: dict[str, QLabel] = {}
        self._states: dict[str, tuple[str, str]] = {}

        # one permanent area holding every place: QStatusBar never paints a temporary message over it
        self.area = QWidget()
        self.area.setObjectName("statusArea")
        grid = QGridLayout(self.area)
        grid.setContentsMargins(4, 0, 4, 2)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(2)
        self._links_box = QHBoxLayout()
        self._links_box.setContentsMargins(0, 0, 0, 0)
        self._links_box.setSpacing(18)
        self._links_box.addStretch(1)
        grid.addLayout(self._links_box, 1, 0, 1, 2)
        self.demo_label = QLabel("")
        demo_font = QFont(self._font)
        demo_font.setBold(True)
        self.demo_label.setFont(demo_font)
        self.demo_label.setStyleSheet(f"color: #000000; background: {demo_colour}; padding: 1px 10px;")
        self.demo_label.hide()
        grid.addWidget(self.demo_label, 1, 2)
        self.clock_label = QLabel("")
        self.clock_label.setFont(self._font)
        self.clock_label.setMinimumWidth(self.clock_label.fontMetrics().horizontalAdvance("88:88:88") + 4)
        self._paint(self.clock_label, text_colour)
        grid.addWidget(self.clock_label, 1, 3, Qt.AlignmentFlag.AlignRight)

        self.recording_label = self._place(text_colour)
        self.recording_label.setObjectName("recordingStatus")
        self.note_label = self._place(text_colour)
        self.note_label.setObjectName("statusNote")
        self.user_label = self._place(text_colour)
        self.user_label.setObjectName("signedInUser")
        self.user_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.recording_label, 0, 0)
        grid.addWidget(self.note_label, 0, 1)
        grid.addWidget(self.user_label, 0, 2, 1, 2)
        # the recording line takes the free width; the note and the user take what their text needs (and wrap
        # only when the bar is too narrow for all of them)
        grid.setColumnStretch(0, 1)
        self.addPermanentWidget(self.area, 1)

    # --- link states ---------------------------------------------------------------------------------

    def set_link_state(self, source: str, state: str, message: str = "") -> None:
        """Show the state of device ``source``; ``message`` becomes the tooltip (the reason, in words)."""
        label = self._devices.get(source)
        if label is None:
            label = WrapLabel()  # a long device name wraps rather than pushing the clock off the bar
            label.setFont(self._font)
            label.setObjectName(f"link:{source}")
            self._devices[source] = label
            self._links_box.insertWidget(self._links_box.count() - 1, label)
            label.show()  # added to a visible bar, it would stay hidden otherwise
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

    def link_label(self, source: str) -> QLabel | None:
        """The label showing ``source``'s link (for layout checks), or None."""
        return self._devices.get(source)

    # --- the other places ----------------------------------------------------------------------------

    def set_recording(self, text: str) -> None:
        """What the chair records and what waits to be written (the station, once a second)."""
        self._set(self.recording_label, text)

    def recording_text(self) -> str:
        return self.recording_label.text()

    def set_user(self, text: str) -> None:
        """Who is signed in (``"Signed in as Dr A. Lee (clinician)"``); "" when nobody is."""
        self._set(self.user_label, text)

    def user_text(self) -> str:
        return self.user_label.text()

    def showMessage(self, text: str, timeout: int | None = 0) -> None:  # noqa: N802 (Qt naming)
        """A note in its own place, kept until the next one: unlike Qt's temporary message it never covers
        the link states, and it does not time out (``timeout`` is accepted for Qt's signature and ignored)."""
        del timeout
        self._set(self.note_label, text)

    def currentMessage(self) -> str:  # noqa: N802 (Qt naming)
        """The note last given to :meth:`showMessage`."""
        return self.note_label.text()

    def clearMessage(self) -> None:  # noqa: N802 (Qt naming)
        self._set(self.note_label, "")

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

    # --- internals -----------------------------------------------------------------------------------

    def _place(self, colour: str) -> WrapLabel:
        label = WrapLabel()  # a long line wraps; it is never elided or cut
        label.setFont(self._font)
        self._paint(label, colour)
        label.hide()
        return label

    @staticmethod
    def _set(label: QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)
        # an empty place takes no room: the bare monitor keeps a one-row status bar
        if label.isHidden() == bool(text):
            label.setVisible(bool(text))

    @staticmethod
    def _paint(label: QLabel, colour: str) -> None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        label.setPalette(palette)

"""A read-only hex dump of recent protocol frames, both directions, for the technician.

Each frame is one line: local time, direction, length, the first bytes in hex (or as text, for frames of a
text protocol such as Masimo ASCII 1), and the driver's note. Frames from the device ("in") and to it ("out")
have their own colours; bad frames are shown on red. Frames are any objects with ``direction``, ``host_time``,
``data``, ``ok`` and ``note`` attributes (the drivers' ``FrameRecord``), so this widget needs nothing from
``devices``.

Updates are incremental (only frames not yet on screen are formatted), and the newest line stays in sight
unless the technician scrolled up to read an older one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

IN_COLOUR = "#7fd4ff"
OUT_COLOUR = "#ffc861"
BAD_BACKGROUND = "#a01820"
TEXT_COLOUR = "#e6e6e6"
BACKGROUND = "#101418"


def hex_bytes(data: bytes, limit: int) -> str:
    """``"C0 11 01 …"``: at most ``limit`` bytes, then how many more there are."""
    shown = data[:limit].hex(" ").upper()
    if len(data) > limit:
        shown += f" … +{len(data) - limit} B"
    return shown


def looks_like_text(data: bytes) -> bool:
    """True for frames of a text protocol (Masimo ASCII 1): almost all printable ASCII."""
    if not data:
        return False
    printable = sum(1 for b in data if 32 <= b < 127 or b in (9, 10, 13))
    return printable >= 0.9 * len(data)


def text_bytes(data: bytes, limit: int) -> str:
    """``"SPO2=098% BPM=072\\r\\n"``: a text frame with control bytes escaped, at most ``limit`` * 2 chars."""
    text = data.decode("ascii", "backslashreplace").replace("\r", "\\r").replace("\n", "\\n")
    text = text.replace("\t", "\\t")
    if len(text) > 2 * limit:
        return f'"{text[:2 * limit]}" … +{len(text) - 2 * limit} chars'
    return f'"{text}"'


def frame_line(frame: Any, limit: int = 48) -> str:
    """One frame as plain text (also what the HTML line says)."""
    millis = int(frame.host_time * 1000) % 1000
    stamp = time.strftime("%H:%M:%S", time.localtime(frame.host_time)) + f".{millis:03d}"
    arrow = "IN  <-" if frame.direction == "in" else "OUT ->"
    shown = text_bytes(frame.data, limit) if looks_like_text(frame.data) else hex_bytes(frame.data, limit)
    text = f"{stamp} {arrow} {len(frame.data):5d} B  {shown}"
    if not frame.ok:
        text = text + "  BAD"
    if frame.note:
        text += f"  [{frame.note}]"
    return text


class HexView(QPlainTextEdit):
    """Shows the last ``max_frames`` frames given to :meth:`set_frames`.

    Updates are incremental: frames already on screen are not formatted again, new ones are appended and the
    oldest lines drop off (``maximumBlockCount``), so a refresh costs in proportion to what arrived since the
    last one, not to the whole log (a full re-render of 200 long frames takes tens of milliseconds).
    """

    def __init__(self, parent: QWidget | None = None, *, bytes_per_frame: int = 48,
                 max_frames: int = 200) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setMaximumBlockCount(max_frames)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(10)
        self.setFont(font)
        self.setStyleSheet(f"QPlainTextEdit {{ background-color: {BACKGROUND}; color: {TEXT_COLOUR}; }}")
        self.bytes_per_frame = bytes_per_frame
        self.max_frames = max_frames
        self._shown: list[Any] = []  # the frame objects on screen, oldest first
        self._lines: list[str] = []
        self.setPlaceholderText("No frames yet")

    @property
    def lines(self) -> list[str]:
        """The lines shown, as plain text (for tests and copying)."""
        return list(self._lines)

    def set_frames(self, frames: Sequence[Any]) -> bool:
        """Show ``frames`` (oldest first); returns False when nothing changed since the last call."""
        frames = list(frames)[-self.max_frames:]
        new = self._new_frames(frames)
        reset = new is None
        if new is None:  # the log moved on past everything shown (or was reset): start over
            self.clear()
            self._shown, self._lines, new = [], [], frames
        if not new:
            return reset
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        keep = bar.value()
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for f in new:
            line = frame_line(f, self.bytes_per_frame)
            self._lines.append(line)
            if not self.document().isEmpty():
                cursor.insertBlock()
            cursor.insertText(line, self._format(f))
        cursor.endEditBlock()
        self._shown.extend(new)
        del self._shown[:-self.max_frames]
        del self._lines[:-self.max_frames]
        bar.setValue(bar.maximum() if at_bottom else keep)
        return True

    def _new_frames(self, frames: list[Any]) -> list[Any] | None:
        """The frames after the last one shown; None when the last one shown is no longer in ``frames``."""
        if not self._shown:
            return frames
        if not frames:
            return None
        last = self._shown[-1]
        for i in range(len(frames) - 1, -1, -1):
            if frames[i] is last:
                return frames[i + 1:]
        return None

    @staticmethod
    def _format(frame: Any) -> QTextCharFormat:
        fmt = QTextCharFormat()
        if frame.ok:
            fmt.setForeground(QColor(IN_COLOUR if frame.direction == "in" else OUT_COLOUR))
        else:
            fmt.setForeground(QColor("#ffffff"))
            fmt.setBackground(QColor(BAD_BACKGROUND))
        return fmt

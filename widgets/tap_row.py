"""A check box or radio button whose whole row answers a tap: made for gloved hands at the chair.

A plain ``QCheckBox`` reacts only on its box and its text; a gloved finger aimed at the row often lands to the
right of the text and nothing happens (issue 12: 3 of 4 pre-check taps missed). :class:`TapRow` puts the button
and an optional word-wrapped explanation in one row that is at least :data:`TOUCH_MIN` px high, and a tap
anywhere on the row toggles the check box (or selects the radio button) exactly as a click on the box would:
the same ``clicked``/``toggled`` signals, the same exclusive button group, the same focus.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

#: the smallest touch target for a gloved finger (issue 12; 44 px is also the common platform guideline)
TOUCH_MIN = 44


class _RowWords:
    """The words of a :class:`TapRow`'s button, drawn by the row as a wrapped label: a QCheckBox or QRadioButton
    never wraps, so a long criterion would push the form past the panel's edge. ``text()`` and the accessible
    name stay the words, though the button itself paints none."""

    _words = ""
    _label: QLabel | None = None  # set by the TapRow that shows the words

    def text(self) -> str:
        return self._words

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        self._words = text
        cast(QWidget, self).setAccessibleName(text)
        if self._label is not None:
            self._label.setText(text)


class RowCheckBox(_RowWords, QCheckBox):
    """A check box whose words its :class:`TapRow` draws as a wrapped label (see :class:`_RowWords`)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setText(text)


class RowRadioButton(_RowWords, QRadioButton):
    """The radio-button twin of :class:`RowCheckBox`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setText(text)


class TapRow(QFrame):
    """``button`` (a check box or radio button) and an optional ``detail`` text beside it (or ``below`` it, for a
    longer explanation); the whole row is its target."""

    def __init__(self, button: QCheckBox | QRadioButton, detail: str = "", parent: QWidget | None = None, *,
                 below: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("tapRow")
        self.button = button
        self.setMinimumHeight(TOUCH_MIN)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setMinimumHeight(TOUCH_MIN)
        button.setParent(self)
        self.words: QLabel | None = None
        if isinstance(button, (RowCheckBox, RowRadioButton)):
            # the words wrap beside the box, and an explanation goes under them
            below = False
            self.words = QLabel(button.text())
            self.words.setObjectName("tapRowText")
            self.words.setWordWrap(True)
            self.words.setFont(button.font())
            self.words.setMinimumHeight(TOUCH_MIN)
            self.words.setAlignment(Qt.AlignmentFlag.AlignVCenter)
            self.words.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            button._label = self.words
            button.setMinimumWidth(TOUCH_MIN)  # the box alone, without its words, is still a finger wide
        layout = QVBoxLayout(self) if below else QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4 if below else 0)
        layout.setSpacing(0 if below else 6)
        # the button keeps its own width; the rest of the row is the row's, which forwards the tap
        align = (Qt.AlignmentFlag.AlignLeft if below else
                 Qt.AlignmentFlag.AlignTop if self.words is not None else Qt.AlignmentFlag(0))
        layout.addWidget(button, 0, align)
        self.detail = QLabel(detail)
        self.detail.setObjectName("tapRowDetail")
        self.detail.setWordWrap(True)
        self.detail.setVisible(bool(detail))
        # the label shows text only: its clicks must reach the row, not be taken as a text selection
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        col = QVBoxLayout()
        col.setContentsMargins(36 if below else 0, 0, 0, 0)  # under the text, not under the box
        if self.words is not None:
            col.addWidget(self.words)
        col.addWidget(self.detail)
        layout.addLayout(col, 1)
        self._pressed = False

    def set_detail(self, text: str) -> None:
        self.detail.setText(text)
        self.detail.setVisible(bool(text))

    # a press outside the button's own box and text is ignored by the button and arrives here; the release
    # completes the tap, like a button (a finger sliding off the row cancels it)
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton and self.button.isEnabled():
            self._pressed = True
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._pressed and event.button() == Qt.MouseButton.LeftButton:
            self._pressed = False
            if self.rect().contains(event.position().toPoint()) and self.button.isEnabled():
                self.button.setFocus(Qt.FocusReason.MouseFocusReason)
                self.button.click()
            event.accept()
            return
        super().mouseReleaseEvent(event)


def check_row(text: str, detail: str = "", parent: QWidget | None = None, *,
              below: bool = False) -> tuple[TapRow, QCheckBox]:
    """A :class:`TapRow` around a new check box labelled ``text``: ``(row, box)``."""
    box = RowCheckBox(text)
    return TapRow(box, detail, parent, below=below), box


def radio_row(text: str, detail: str = "", parent: QWidget | None = None) -> tuple[TapRow, QRadioButton]:
    """A :class:`TapRow` around a new radio button labelled ``text``: ``(row, button)``."""
    button = RowRadioButton(text)
    return TapRow(button, detail, parent), button

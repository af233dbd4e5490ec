"""The panel's form page: one entry form at a time (a rating, a side effect, a note, a correction), with Save,
Back (the form is kept as a draft for later) and Discard, and the reason a save was refused beside it.

Keys (issue 12, made for the keyboard): Enter saves the form, except in a multi-line text field, where Enter is a
new line and Ctrl+Enter saves; Escape asks to leave without saving. The page only signals these; the panel asks
first (in its confirm strip, never a dialog over the monitor) when typed text would be lost."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from console.clinical.entries import note_data
from console.session_panel.style import MESSAGE_STYLES


def scroll(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area laid out to the panel's width."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    # forms are laid out to the panel's width: a sideways scroll would hide half of a question
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class NoteForm(QWidget):
    """Free-text note."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.text = QLineEdit()
        self.text.setPlaceholderText("note")
        layout.addWidget(self.text)
        layout.addStretch(1)

    def data(self) -> dict[str, Any]:
        return note_data(self.text.text())

    def is_empty(self) -> bool:
        return not self.text.text().strip()


def has_input(widget: QWidget) -> bool:
    """Whether leaving ``widget`` unsaved would lose something the clinician entered.

    A form says so itself with ``is_empty()``; any other form counts as filled in when one of its text fields
    holds text (a form that cannot tell is treated as filled in: asking once too often loses nothing)."""
    is_empty = getattr(widget, "is_empty", None)
    if callable(is_empty):
        return not is_empty()
    for edit in widget.findChildren(QLineEdit):
        if edit.text().strip() and not isinstance(edit.parent(), QComboBox):
            return True
    plain = any(e.toPlainText().strip() for e in widget.findChildren(QPlainTextEdit))
    return plain or any(e.toPlainText().strip() for e in widget.findChildren(QTextEdit))


class FormPage(QWidget):
    """Keeps the drafts by key; the panel decides what a form is and what saving it means.

    :attr:`save_requested` on Enter (Ctrl+Enter in a multi-line field), :attr:`leave_requested` on Escape."""

    save_requested = Signal()
    leave_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("")
        self.title.setObjectName("sessionTitle")
        layout.addWidget(self.title)
        self.area = QStackedWidget()
        layout.addWidget(scroll(self.area), 1)
        self.error = QLabel("")
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(MESSAGE_STYLES["error"])
        self.error.setVisible(False)
        layout.addWidget(self.error)
        row = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.back_button = QPushButton("Back (keep)")
        self.back_button.setToolTip("Return to the session; what you entered is kept for later")
        self.discard_button = QPushButton("Discard")
        for button in (self.save_button, self.back_button, self.discard_button):
            # never narrower than their words: a cut "Back (ke…" leaves a gloved user guessing
            button.setSizePolicy(QSizePolicy.Policy.Minimum, button.sizePolicy().verticalPolicy())
        # Save has a row of its own, the full width of the panel (the action a gloved hand looks for); Back
        # and Discard share the row under it, so all three keep their words on a 1366-px-wide screen
        layout.addWidget(self.save_button)
        row.addWidget(self.back_button, 1)
        row.addWidget(self.discard_button, 1)
        layout.addLayout(row)
        # Ctrl+Enter saves from anywhere in the form, a multi-line field included (there Enter is a new line)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._save_key)
        self.drafts: dict[str, QWidget] = {}
        #: the key of the form on show, ``None`` when the page is not in use
        self.key: str | None = None

    def draft(self, key: str) -> QWidget | None:
        return self.drafts.get(key)

    def add(self, key: str, widget: QWidget, title: str) -> None:
        widget.setProperty("formTitle", title)
        self.drafts[key] = widget
        self.area.addWidget(widget)

    def show_form(self, key: str, title: str) -> QWidget:
        widget = self.drafts[key]
        self.key = key
        self.title.setText(title)
        self.area.setCurrentWidget(widget)
        self.error.setVisible(False)
        return widget

    def current(self) -> QWidget | None:
        return self.drafts.get(self.key) if self.key else None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)

    def leave(self) -> None:
        """No form on show; the drafts stay."""
        self.key = None
        self.error.setVisible(False)

    def drop_current(self) -> None:
        if self.key is not None:
            widget = self.drafts.pop(self.key, None)
            if widget is not None:
                self.area.removeWidget(widget)
                widget.deleteLater()
        self.leave()

    def drop(self, key: str) -> None:
        """Drop the draft ``key`` (the form on show is left only if it is that one)."""
        if key == self.key:
            self.drop_current()
            return
        widget = self.drafts.pop(key, None)
        if widget is not None:
            self.area.removeWidget(widget)
            widget.deleteLater()

    def clear(self) -> None:
        for widget in self.drafts.values():
            self.area.removeWidget(widget)
            widget.deleteLater()
        self.drafts.clear()
        self.leave()

    def _save_key(self) -> None:
        if self.key is not None:
            self.save_requested.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        # a single-line field, an answer button or the form itself leaves Enter unhandled and it arrives here; a
        # multi-line field keeps it as a new line
        key = event.key()
        if self.key is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if isinstance(focused, QAbstractButton) and focused in (self.back_button, self.discard_button):
                focused.click()  # Enter on Back or Discard means that button, not Save
            else:
                self.save_requested.emit()
            event.accept()
            return
        if self.key is not None and key == Qt.Key.Key_Escape:
            self.leave_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

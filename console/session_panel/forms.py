"""The panel's form page: one entry form at a time (a rating, a side effect, a note, a correction), with Save,
Back (the form is kept as a draft for later) and Discard, and the reason a save was refused beside it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
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


class FormPage(QWidget):
    """Keeps the drafts by key; the panel decides what a form is and what saving it means."""

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
        row.addWidget(self.save_button, 2)
        row.addWidget(self.back_button, 1)
        row.addWidget(self.discard_button, 1)
        layout.addLayout(row)
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

    def clear(self) -> None:
        for widget in self.drafts.values():
            self.area.removeWidget(widget)
            widget.deleteLater()
        self.drafts.clear()
        self.leave()

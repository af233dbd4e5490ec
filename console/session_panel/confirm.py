"""The confirm strip: an inline "are you sure?" in the side panel, never a dialog over the live monitor.

It shows what is about to be stored (the dose and volume given, for a stop) with two large buttons; the
monitor, the alarm banner and Acknowledge stay usable while it is open. Escape cancels it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

#: touch targets for gloved hands (issue 12: at least 44 px)
BUTTON_HEIGHT = 52


class ConfirmStrip(QWidget):
    """Hidden until :meth:`ask`; :attr:`confirm_button` runs the pending action once, :attr:`cancel_button`
    drops it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confirmStrip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("QWidget#confirmStrip { border: 3px solid #1f6feb; border-radius: 6px; }")
        layout = QVBoxLayout(self)
        self.question = QLabel("")
        self.question.setObjectName("confirmQuestion")
        self.question.setWordWrap(True)
        f = self.question.font()
        f.setPointSize(14)
        f.setBold(True)
        self.question.setFont(f)
        layout.addWidget(self.question)
        row = QHBoxLayout()
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setObjectName("primary")
        self.cancel_button = QPushButton("Cancel")
        for b in (self.confirm_button, self.cancel_button):
            b.setMinimumHeight(BUTTON_HEIGHT)
        row.addWidget(self.confirm_button, 2)
        row.addWidget(self.cancel_button, 1)
        layout.addLayout(row)
        self._action: Callable[[], object] | None = None
        self.confirm_button.clicked.connect(self._confirm)
        self.cancel_button.clicked.connect(self.cancel)
        self.setVisible(False)

    def ask(self, question: str, confirm_text: str, action: Callable[[], object], *,
            cancel_text: str = "Cancel") -> None:
        """Show ``question``; ``action`` runs when the clinician presses ``confirm_text``."""
        self._action = action
        self.question.setText(question)
        self.confirm_button.setText(confirm_text)
        self.cancel_button.setText(cancel_text)
        self.setVisible(True)
        self.confirm_button.setFocus()

    @property
    def pending(self) -> bool:
        return self._action is not None

    def cancel(self) -> None:
        self._action = None
        self.setVisible(False)

    def _confirm(self) -> None:
        action, self._action = self._action, None
        self.setVisible(False)
        if action is not None:
            action()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

"""Sign-off page: the electronic signature's printed name, date-time and meaning, with the password
re-entered (21 CFR Part 11: two components at signing). ``sign(password, meaning)`` does the signing.

It is a page of the session side panel, not a dialog: nothing covers the live monitor, the alarm banner or
Acknowledge while the clinician signs (issue 12). ``SignoffDialog`` is the old name of the same widget.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.session.failures import AUTH, classify, failure_message

MEANINGS: tuple[tuple[str, str], ...] = (
    ("authored", "Authored: I wrote this record"),
    ("reviewed", "Reviewed: I reviewed this record"),
    ("approved", "Approved: I approve this record"),
)


class SignoffPage(QWidget):
    """Shows who signs and when; :meth:`try_sign` calls ``sign`` and emits :attr:`signed` only on success."""

    signed = Signal(object)   # the signature entry
    cancelled = Signal()

    def __init__(self, sign: Callable[[str, str], Any], printed_name: str, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time, summary: str = "") -> None:
        super().__init__(parent)
        self.sign = sign
        self.clock = clock
        self.result_entry: Any = None
        layout = QVBoxLayout(self)
        self.summary_label = QLabel(summary)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        form = QFormLayout()
        self.name_label = QLabel(printed_name)
        self.name_label.setWordWrap(True)  # a long printed name wraps inside the side panel, never cut
        f = self.name_label.font()
        f.setBold(True)
        f.setPointSize(13)
        self.name_label.setFont(f)
        self.time_label = QLabel(_dt.datetime.fromtimestamp(clock()).astimezone().strftime("%Y-%m-%d %H:%M %Z"))
        self.meaning = QComboBox()
        for key, text in MEANINGS:
            self.meaning.addItem(text, key)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("re-enter your password to sign")
        self.password.returnPressed.connect(self.try_sign)
        form.addRow("Printed name", self.name_label)
        form.addRow("Date and time", self.time_label)
        form.addRow("Meaning", self.meaning)
        form.addRow("Password", self.password)
        layout.addLayout(form)
        note = QLabel("Your signature is bound to this record only and cannot be copied to another.")
        note.setWordWrap(True)
        layout.addWidget(note)
        self.error_label = QLabel("")
        self.error_label.setObjectName("signError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff4d4d; font-weight: bold; font-size: 12pt;")
        layout.addWidget(self.error_label)
        row = QHBoxLayout()
        self.sign_button = QPushButton("Sign")
        self.sign_button.setObjectName("primary")
        self.cancel_button = QPushButton("Back")
        for b in (self.sign_button, self.cancel_button):
            b.setMinimumHeight(48)
        self.sign_button.clicked.connect(self.try_sign)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.sign_button, 2)
        row.addWidget(self.cancel_button, 1)
        layout.addLayout(row)
        layout.addStretch(1)

    def reset(self, summary: str = "") -> None:
        """Ready for a new signature: the summary shown, no password, no old error."""
        self.summary_label.setText(summary)
        self.password.clear()
        self.error_label.setText("")
        self.result_entry = None
        self.time_label.setText(_dt.datetime.fromtimestamp(self.clock()).astimezone().strftime("%Y-%m-%d %H:%M %Z"))

    def cancel(self) -> None:
        self.password.clear()
        self.cancelled.emit()

    def selected_meaning(self) -> str:
        return self.meaning.currentData()

    def try_sign(self) -> bool:
        if not self.password.text():
            self.error_label.setText("Re-enter your password to sign.")
            return False
        self.time_label.setText(_dt.datetime.fromtimestamp(self.clock()).astimezone().strftime("%Y-%m-%d %H:%M %Z"))
        try:
            self.result_entry = self.sign(self.password.text(), self.selected_meaning())
        except Exception as exc:  # noqa: BLE001 - shown, never raised into the event loop
            self.error_label.setText(getattr(exc, "reason", None) or (
                str(exc) if classify(exc) == AUTH else failure_message(exc, "the signature")))
            self.password.clear()
            return False
        self.password.clear()
        self.signed.emit(self.result_entry)
        return True


#: the former dialog's name (the widget is now a side-panel page)
SignoffDialog = SignoffPage

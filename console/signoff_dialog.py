"""Sign-off dialog: the electronic signature's printed name, date-time and meaning, with the password
re-entered (21 CFR Part 11: two components at signing). ``sign(password, meaning)`` does the signing."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout,
                               QWidget)

from console.session_panel.failures import AUTH, classify, failure_message

MEANINGS: tuple[tuple[str, str], ...] = (
    ("authored", "Authored: I wrote this record"),
    ("reviewed", "Reviewed: I reviewed this record"),
    ("approved", "Approved: I approve this record"),
)


class SignoffDialog(QDialog):
    """Shows who signs and when; :meth:`try_sign` calls ``sign`` and closes only on success."""

    def __init__(self, sign: Callable[[str, str], Any], printed_name: str, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time, summary: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign the session record")
        self.sign = sign
        self.clock = clock
        self.result_entry: Any = None
        layout = QVBoxLayout(self)
        if summary:
            s = QLabel(summary)
            s.setWordWrap(True)
            layout.addWidget(s)
        form = QFormLayout()
        self.name_label = QLabel(printed_name)
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
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign")
        self.buttons.accepted.connect(self.try_sign)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

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
            self.error_label.setText(str(exc) if classify(exc) == AUTH else failure_message(exc, "the signature"))
            self.password.clear()
            return False
        self.accept()
        return True

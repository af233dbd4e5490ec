"""Sign-off page: the electronic signature's printed name, date-time and meaning, with the password
re-entered (21 CFR Part 11: two components at signing). ``sign(password, meaning)`` does the signing.

It is a page of the session side panel, not a dialog: nothing covers the live monitor, the alarm banner or
Acknowledge while the clinician signs (issue 12). ``SignoffDialog`` is the old name of the same widget.

Signing takes seconds (the password KDF) and may wait for a busy record, so ``sign`` may return
:data:`PENDING`: the signature is under way off the GUI thread. The page then shows "Signing…" with Sign and
Back disabled until its owner calls :meth:`SignoffPage.finish` (signed) or :meth:`SignoffPage.fail`.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any, Final

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

#: what ``sign`` returns when the signature goes on in the background (see the module docstring)
PENDING: Final = object()

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
        #: "Signing…" (and why it waits) while the signature is under way
        self.status_label = QLabel("")
        self.status_label.setObjectName("signStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #ffd24d; font-weight: bold; font-size: 12pt;")
        self.status_label.setVisible(False)
        layout.addWidget(self.status_label)
        self.pending = False
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
        self.set_pending("")
        self.time_label.setText(_dt.datetime.fromtimestamp(self.clock()).astimezone().strftime("%Y-%m-%d %H:%M %Z"))

    def cancel(self) -> None:
        self.password.clear()
        self.cancelled.emit()

    def selected_meaning(self) -> str:
        return self.meaning.currentData()

    def set_pending(self, text: str) -> None:
        """Show ``text`` ("Signing…", and why it waits) with Sign, Back and the fields disabled; ``""`` ends it."""
        self.pending = bool(text)
        self.status_label.setText(text)
        self.status_label.setVisible(self.pending)
        for w in (self.sign_button, self.cancel_button, self.password, self.meaning):
            w.setEnabled(not self.pending)

    def finish(self, entry: Any) -> None:
        """The signature is stored: emit :attr:`signed`."""
        self.set_pending("")
        self.result_entry = entry
        self.error_label.setText("")
        self.signed.emit(entry)

    def fail(self, text: str) -> None:
        """Nothing was signed: say why (one line) and let the clinician try again."""
        self.set_pending("")
        self.error_label.setText(text)
        self.password.clear()
        self.password.setFocus()

    def try_sign(self) -> bool:
        """Sign with the password typed: ``True`` when signed or under way (see :data:`PENDING`)."""
        if self.pending:
            return False  # a second tap (or Enter) while signing signs nothing more
        if not self.password.text():
            self.error_label.setText("Re-enter your password to sign.")
            return False
        self.time_label.setText(_dt.datetime.fromtimestamp(self.clock()).astimezone().strftime("%Y-%m-%d %H:%M %Z"))
        password = self.password.text()
        self.password.clear()  # handed over; never left in the field while the signature runs
        self.error_label.setText("")
        self.result_entry = None
        self.set_pending("Signing\u2026")
        try:
            result = self.sign(password, self.selected_meaning())
        except Exception as exc:  # noqa: BLE001 - shown, never raised into the event loop
            self.fail(getattr(exc, "reason", None) or (
                str(exc) if classify(exc) == AUTH else failure_message(exc, "the signature")))
            return False
        if result is PENDING:  # the owner calls finish() or fail(), maybe already has
            return self.pending or self.result_entry is not None
        self.finish(result)
        return True


#: the former dialog's name (the widget is now a side-panel page)
SignoffDialog = SignoffPage

"""Log-in dialog: user name and password, checked by an ``authenticate(username, password)`` callable.

A failure is shown plainly in the dialog (the password field is emptied, the user name kept); the dialog only
closes on success, with the authenticated user in :attr:`LoginDialog.user`. The refusals of
:meth:`console.record.Database.authenticate` are shown as they are worded there: a wrong password, a wait
after repeated failures ("wait 8 seconds before trying again"), a locked account (with the command an
administrator runs to unlock it), or a demo account (which never logs in here: ``--demo`` is the way in).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.session_panel.failures import AUTH, ERROR, classify
from widgets.tap_row import TOUCH_MIN

WRONG = "Wrong user name or password."


class LoginDialog(QDialog):
    """``authenticate`` returns the user (truthy) or ``None``/``False``, or raises ``AuthError``."""

    def __init__(self, authenticate: Callable[[str, str], Any], parent: QWidget | None = None, *,
                 title: str = "Chairside: log in") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.authenticate = authenticate
        self.user: Any = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        layout.addLayout(form)
        self.error_label = QLabel("")
        self.error_label.setObjectName("loginError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff4d4d; font-weight: bold; font-size: 12pt;")
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log in")
        for field in (self.username, self.password):  # gloved fingers: every target a finger high
            field.setMinimumHeight(TOUCH_MIN)
        for button in self.buttons.buttons():
            button.setMinimumSize(3 * TOUCH_MIN, TOUCH_MIN)
        self.buttons.accepted.connect(self.try_login)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.username.setFocus()

    def try_login(self) -> bool:
        """Check the credentials; accept on success, otherwise show why and stay open."""
        username = self.username.text().strip()
        if not username or not self.password.text():
            self.error_label.setText("Enter your user name and password.")
            return False
        try:
            user = self.authenticate(username, self.password.text())
        except Exception as exc:  # noqa: BLE001 - any failure is a message, never a crash
            kind = classify(exc)
            if kind == AUTH:
                self.error_label.setText(str(exc) or WRONG)
            elif kind == ERROR:
                self.error_label.setText(f"Log-in failed: {type(exc).__name__}: {exc}")
            else:
                self.error_label.setText(str(exc))
            self.password.clear()
            return False
        if not user:
            self.error_label.setText(WRONG)
            self.password.clear()
            return False
        self.user = user
        self.error_label.setText("")
        self.accept()
        return True

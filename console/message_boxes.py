"""The console's message boxes, built here (not by Qt's static helpers) so the layout walker can open each one
at the clinic's screen sizes without showing it modally (tests/console/test_dialog_layout_walk.py).

Each builder returns the box ready for ``exec()``; the caller keeps the buttons it needs to tell apart.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QInputDialog, QMessageBox, QWidget


def error_box(title: str, message: str, parent: QWidget | None = None) -> QMessageBox:
    """A failure the user must read before going on (the record cannot be opened, there are no users)."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent)
    # commands in the message (``chairside users add ...``) must be copied exactly, and can be selected
    box.setTextInteractionFlags(box.textInteractionFlags() | Qt.TextInteractionFlag.TextSelectableByMouse)
    return box


def interrupted_session_box(session_id: int, parent: QWidget | None = None,
                            ) -> tuple[QMessageBox, QAbstractButton, QAbstractButton]:
    """Offer to resume or close a session left open by a crash: ``(box, resume, close)``; a third button
    ("Decide later") leaves it for later."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Interrupted session",
                      f"Session {session_id} was left open when Chairside stopped unexpectedly.\n"
                      "Resume it to continue recording, or close it with a reason.",
                      QMessageBox.StandardButton.NoButton, parent)
    resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
    close = box.addButton("Close it", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Decide later", QMessageBox.ButtonRole.RejectRole)
    return box, resume, close


def close_reason_dialog(parent: QWidget | None = None) -> QInputDialog:
    """Ask why an interrupted session is closed (the reason goes into the record)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Close interrupted session")
    dialog.setLabelText("Reason:")
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    return dialog


def confirm_box(title: str, text: str, parent: QWidget | None = None) -> QMessageBox:
    """A yes/no question about something that cannot be taken back; No is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box


def confirmed(box: QMessageBox) -> bool:
    """Run ``box`` (from :func:`confirm_box`) and say whether the user answered Yes."""
    return box.exec() == QMessageBox.StandardButton.Yes

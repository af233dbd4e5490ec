"""Every dialog and message box of the console fits the clinic's screens (1366x768, 1280x800, 1920x1080) with
nothing cut: the log-in dialog (and each refusal it shows), the sign-off page, the crash-recovery questions,
the error boxes with their longest real messages, the delete-profile question (tests/layout_walk.py).

Device setup is walked in tests/technician/test_layout_walk.py; the export file chooser is Qt's own dialog."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from console import message_boxes
from console.login_dialog import LoginDialog
from console.record.errors import AuthError
from console.record.lockout import locked_message, throttled_message
from console.session_panel.signoff import SignoffPage
from tests.layout_walk import SCREENS, dialog_problems, layout_problems

SIZES = pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
#: the longest real user name a clinic is likely to have (they are typed, so they are not short)
LONG_NAME = "alexandra.konstantinopoulou-whitfield"


def _refusing(message: str) -> Callable[[str, str], object]:
    def authenticate(_username: str, _password: str) -> object:
        raise AuthError(message)
    return authenticate


@SIZES
@pytest.mark.parametrize("refusal", [None, "wrong", "throttled", "locked"])
def test_the_login_dialog_fits_with_each_refusal_shown(qtbot, size, refusal: str | None) -> None:
    message = {None: "", "wrong": "Wrong user name or password, or the account is disabled.",
               "throttled": throttled_message(8), "locked": locked_message(LONG_NAME)}[refusal]
    dialog = LoginDialog(_refusing(message))
    qtbot.addWidget(dialog)
    if refusal is not None:
        dialog.username.setText(LONG_NAME)
        dialog.password.setText("not it")
        assert dialog.try_login() is False
        assert dialog.error_label.text() == message  # the refusal is shown whole, as worded by the record
    assert dialog_problems(dialog, size) == []


@SIZES
def test_the_signoff_page_fits_the_side_panel(qtbot, size) -> None:
    """The sign-off page lives in the side panel (at most SIDE_WIDTH_MAX wide), beside the live monitor."""
    from console.main_window import SIDE_WIDTH_MAX

    page = SignoffPage(lambda _p, _m: None, "Dr Alexandra Konstantinopoulou-Whitfield", clock=lambda: 1.7e9,
                       summary="Session 1042 · patient PT-00017 · IV racemic ketamine 0.5 mg/kg over 40 min · "
                               "infusion completed, discharge recorded")
    qtbot.addWidget(page)
    page.show()
    page.try_sign()  # no password: the refusal is shown too
    assert page.error_label.text() == "Re-enter your password to sign."
    assert layout_problems(page, (SIDE_WIDTH_MAX, size[1] - 200)) == []


@SIZES
def test_the_interrupted_session_question_fits(qtbot, size) -> None:
    box, resume, close = message_boxes.interrupted_session_box(123456)
    qtbot.addWidget(box)
    assert (resume.text(), close.text()) == ("Resume", "Close it")
    assert dialog_problems(box, size) == []


@SIZES
def test_the_close_reason_question_fits(qtbot, size) -> None:
    dialog = message_boxes.close_reason_dialog()
    qtbot.addWidget(dialog)
    dialog.setTextValue("the console PC lost power during the infusion; patient observed until discharge")
    assert dialog_problems(dialog, size) == []


@SIZES
@pytest.mark.parametrize("case", ["no users", "record unavailable"])
def test_the_error_boxes_fit_with_their_real_messages(qtbot, monkeypatch: pytest.MonkeyPatch, size,
                                                       case: str) -> None:
    if case == "no users":
        from console.commands import gui

        captured: list[tuple[str, str]] = []
        original = message_boxes.error_box

        class FakeDb:
            def system_user(self) -> object:
                return None

            def service(self, _user: object) -> object:
                class Service:
                    def users(self) -> list[object]:
                        return []
                return Service()

        def build(title: str, message: str, parent: QWidget | None = None) -> QMessageBox:
            captured.append((title, message))
            box = original(title, message, parent)
            box.exec = lambda: 0  # type: ignore[method-assign]  # not run: walked below
            return box

        monkeypatch.setattr(message_boxes, "error_box", build)
        assert gui._login(FakeDb()) is None  # the real message of a record without users
        monkeypatch.undo()
        (title, message), = captured
        assert "chairside users add NAME --role admin" in message
    else:
        title = "Session record unavailable"
        message = ("chairside: cannot open the session record: could not connect to "
                   "postgresql+psycopg://chairside@records.clinic.example:5432/chairside_production "
                   "(connection refused; is the server running and accepting TCP/IP connections?)")
    box = message_boxes.error_box(title, message)
    qtbot.addWidget(box)
    assert dialog_problems(box, size) == []


@SIZES
def test_the_delete_profile_question_fits_and_defaults_to_no(qtbot, size) -> None:
    name = "Philips IntelliVue MX450 (bay 3, serial via USB adapter FTDI)"
    box = message_boxes.confirm_box("Delete device profile",
                                    f"Delete the device profile \"{name}\"? The change is kept in the audit trail.")
    qtbot.addWidget(box)
    # Enter on a hurried tap must not delete: No is the default
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert dialog_problems(box, size) == []


def test_the_dialog_walker_finds_a_dialog_larger_than_the_screen(qtbot) -> None:
    """The walker is not blind: a dialog that opens wider than the screen is named."""
    from PySide6.QtWidgets import QDialog

    dialog = QDialog()
    qtbot.addWidget(dialog)
    row = QHBoxLayout(dialog)
    row.addWidget(QLabel("x"))
    wide = QPushButton("Record")
    wide.setMinimumWidth(1500)
    row.addWidget(wide)
    assert any("larger than the 1366x768 screen" in p for p in dialog_problems(dialog, (1366, 768)))


def test_the_login_dialog_is_made_for_gloved_hands(qtbot) -> None:
    """Log-in happens at the chair too: the fields and both buttons are at least a finger (44 px) high."""
    from PySide6.QtWidgets import QLineEdit

    from widgets.tap_row import TOUCH_MIN

    dialog = LoginDialog(_refusing("no"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    targets = [*dialog.findChildren(QLineEdit), *dialog.buttons.buttons()]
    assert len(targets) == 4
    for target in targets:
        assert target.height() >= TOUCH_MIN and target.width() >= TOUCH_MIN, target

"""Every window fits the clinic's screens: walked at 1366x768, 1280x800 and 1920x1080 (tests/layout_walk.py)."""

from __future__ import annotations

import pytest

from console.review.browser import SessionBrowser
from console.review.review_window import ReviewWindow
from tests.layout_walk import SCREENS, layout_problems

from .conftest import ReviewRecord


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_review_window_fits(qtbot, db, auditor, review_record: ReviewRecord, size) -> None:
    window = ReviewWindow(db, auditor, review_record.a.session_id)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert layout_problems(window, size) == []


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_session_browser_fits(qtbot, db, auditor, review_record: ReviewRecord, size) -> None:
    browser = SessionBrowser(db, auditor)
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitExposed(browser)
    assert layout_problems(browser, size) == []


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_demo_console_fits(qtbot, size) -> None:
    from console.main_window import MainWindow

    window = MainWindow(demo=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert layout_problems(window, size) == []
    finally:
        window.shutdown()


def test_the_walker_finds_a_cut_button(qtbot) -> None:
    """The walker is not blind: a button squeezed below its words is named."""
    from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

    w = QWidget()
    qtbot.addWidget(w)
    row = QHBoxLayout(w)
    b = QPushButton("Record how the patient left")
    b.setMaximumWidth(60)
    row.addWidget(b)
    w.show()
    assert any("words cut" in p for p in layout_problems(w, (400, 100)))

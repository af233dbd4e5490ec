"""The review window fits the screens auditors use: a 1366x768 laptop as well as a 1920x1080 desktop."""

from __future__ import annotations

import pytest

from console.review.review_window import ReviewWindow

from .conftest import ReviewRecord

#: a 1366x768 screen less a task bar (the smallest screen in the clinic list)
LAPTOP = (1366, 728)


@pytest.mark.parametrize("session", ["a", "b"])
def test_the_review_window_can_be_as_small_as_a_laptop_screen(qtbot, db, auditor, review_record: ReviewRecord,
                                                               session: str) -> None:
    sid = getattr(review_record, session).session_id
    window = ReviewWindow(db, auditor, sid)
    qtbot.addWidget(window)
    hint = window.minimumSizeHint()
    assert hint.width() <= LAPTOP[0] and hint.height() <= LAPTOP[1], hint
    window.resize(*LAPTOP)
    window.show()
    qtbot.waitExposed(window)
    # nothing pushes the window past the screen: every button is inside it
    for button in (window.verify_button, window.export_button, window.next_button):
        corner = button.mapTo(window, button.rect().bottomRight())
        assert 0 <= corner.x() <= window.width() and 0 <= corner.y() <= window.height()
    window.close()

"""The main screens look as approved (tests/golden/images/): the live console at a frozen moment with an active
alarm, the review window of a fixed session before and after a moment is picked, the central board.

Regenerate on purpose with ``CHAIRSIDE_UPDATE_GOLDEN=1`` (docs/testing.md) and look at the new images.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from tests.golden.approval import assert_image_approved, render
from tests.golden.conftest import AUDITOR_PASSWORD
from tests.golden.scenes import T0, LiveConsole, board_reader

pytestmark = pytest.mark.usefixtures("golden_screen")


def shown_at(qtbot, window: QWidget, size: tuple[int, int]) -> None:
    """Show ``window`` at ``size`` and let every layout pass run."""
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    for _ in range(3):
        QApplication.processEvents()


@pytest.fixture
def live(qtbot) -> Iterator[LiveConsole]:
    console = LiveConsole()
    qtbot.addWidget(console.window)
    shown_at(qtbot, console.window, (1366, 768))
    console.settle()
    QApplication.processEvents()
    yield console
    console.close()


def test_the_live_console_with_an_active_alarm(live: LiveConsole) -> None:
    assert live.display.banner.top_alarm is not None  # the scene really has its alarm
    assert_image_approved("console_live_1366x768", render(live.window))


@pytest.fixture
def review(qtbot, golden_record: tuple[str, int]):
    from console.record import open_database
    from console.review.review_window import ReviewWindow

    url, session_id = golden_record
    db = open_database(url)
    window = ReviewWindow(db, db.authenticate("audrey", AUDITOR_PASSWORD), session_id)
    qtbot.addWidget(window)
    shown_at(qtbot, window, (1366, 768))
    yield window
    window.close()
    db.close()


def test_the_review_window_before_a_moment_is_picked(review) -> None:
    assert review.waves.empty_state_shown
    assert_image_approved("review_empty_1366x768", render(review))


def test_the_review_window_with_a_moment_loaded(review) -> None:
    review.show_moment(T0 + 1500)
    QApplication.processEvents()
    assert not review.waves.empty_state_shown
    assert_image_approved("review_moment_1366x768", render(review))


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_central_board(qtbot, size: tuple[int, int]) -> None:
    from console.board_window import CentralBoardWindow
    from tests.audio_fakes import RecordingOutput
    from widgets.alarm_audio import AlarmAudio

    window = CentralBoardWindow(board_reader(), audio=AlarmAudio(output=RecordingOutput()),  # type: ignore[arg-type]
                                clock=lambda: T0)
    qtbot.addWidget(window)
    try:
        shown_at(qtbot, window, size)
        window.refresh()
        QApplication.processEvents()
        assert_image_approved(f"board_{size[0]}x{size[1]}", render(window))
    finally:
        window.shutdown()

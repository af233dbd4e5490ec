"""The fixed rendering conditions of the image-approval tests: the console's theme, UTC times, a named font."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

from console.app import apply_theme, load_theme
from tests.golden.approval import APP_FONT

_PG_OPTIONS = ("antialias", "useOpenGL", "background", "foreground")
AUDITOR_PASSWORD = "correct horse 1"


@pytest.fixture
def golden_screen(qapp: QApplication) -> Iterator[None]:
    """For one test, then restored: the console's own theme (as ``create_application`` applies it), times
    drawn in UTC and the application font fixed to :data:`APP_FONT`."""
    before_tz = os.environ.get("TZ")
    before_font = QFont(qapp.font())
    before_palette = QPalette(qapp.palette())
    before_style = qapp.style().name()
    before_pg = {k: pg.getConfigOption(k) for k in _PG_OPTIONS}
    before_sheet = qapp.styleSheet()
    qapp.setStyleSheet("")  # an application style sheet another test left would repaint every screen
    os.environ["TZ"] = "UTC"
    time.tzset()
    apply_theme(qapp, load_theme())
    qapp.setFont(QFont(*APP_FONT))
    try:
        yield
    finally:
        qapp.setFont(before_font)
        qapp.setStyle(before_style)
        qapp.setPalette(before_palette)
        pg.setConfigOptions(**before_pg)
        qapp.setStyleSheet(before_sheet)
        if before_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before_tz
        time.tzset()


@pytest.fixture(scope="session")
def golden_record(tmp_path_factory: pytest.TempPathFactory, _fast_hashing: None) -> tuple[str, int]:
    """A record with one fixed simulated session (seeded, known start) and an auditor: ``(url, session id)``."""
    from console.record import open_database
    from tests.golden.scenes import T0
    from tests.review.sample import build_sample_session

    url = f"sqlite:///{tmp_path_factory.mktemp('golden') / 'record.sqlite3'}"
    session = build_sample_session(url, minutes=50, scenario="hypertensive", seed=3, start=T0, waves=True,
                                   sign=True)
    db = open_database(url)
    try:
        db.service(db.system_user()).add_user("audrey", "Audrey Auditor", "auditor", AUDITOR_PASSWORD)
    finally:
        db.close()
    return url, session.session_id

"""The review window's wave area before and after a moment is picked: words instead of empty axes; and the y
labels of wave strips and trend rows, which must not pile up in the 30-odd pixels a row has on a laptop."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from console.review.review_window import ReviewWindow
from widgets.short_axis import centre_tick, round_ticks
from widgets.wave_viewer import EMPTY_TEXT

from .conftest import ReviewRecord


@pytest.fixture
def open_review(qtbot, db, auditor):
    made: list[ReviewWindow] = []

    def make(session_id: int) -> ReviewWindow:
        w = ReviewWindow(db, auditor, session_id)
        qtbot.addWidget(w)
        w.resize(1366, 768)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def test_before_a_moment_the_wave_area_says_what_to_do(open_review, review_record: ReviewRecord) -> None:
    w = open_review(review_record.a.session_id)
    assert w.waves.empty_state_shown
    assert w.waves.empty.isVisible() and w.waves.empty.text() == EMPTY_TEXT
    assert not w.waves.graphics.isVisible()  # no empty axes with made-up 0..1 ticks
    assert all(w.waves.y_labels(code) == [] for code in w.waves.plots)


def test_a_picked_moment_shows_strips_with_labels_that_do_not_touch(
    open_review, review_record: ReviewRecord
) -> None:
    a = review_record.a
    w = open_review(a.session_id)
    w.show_moment(a.start + 900)
    QApplication.processEvents()
    assert not w.waves.empty_state_shown and w.waves.graphics.isVisible() and not w.waves.empty.isVisible()
    for code, plot in w.waves.plots.items():
        labels = w.waves.y_labels(code)
        axis = plot.getAxis("left")
        # what pyqtgraph draws is what y_labels() says
        lo, hi = plot.vb.viewRange()[1]
        drawn = [v for _, level in axis.tickValues(lo, hi, plot.vb.height()) for v in level]
        assert drawn == [v for v, _ in labels]
        assert 1 <= len(labels) <= 2, (w.waves.labels[code], labels)
        assert all(lo <= v <= hi for v, _ in labels)  # every label is on the strip
        _labels_stand_apart(plot, labels, w.waves.labels[code])


def _labels_stand_apart(plot, labels: list[tuple[float, str]], name: str) -> None:
    """Each label inside its plot (pyqtgraph silently drops one that is not) and two never touching."""
    axis = plot.getAxis("left")
    height = QFontMetrics(axis.style["tickFont"] or axis.font()).height()
    ys = [plot.vb.mapViewToScene(QPointF(0, v)).y() - plot.vb.sceneBoundingRect().top() for v, _ in labels]
    slack = 0 if axis.grid is not False else 15
    for y in ys:
        assert height / 2 - slack <= y <= plot.vb.height() - height / 2 + slack, f"{name}: a label off the plot"
    if len(ys) == 2:
        assert abs(ys[1] - ys[0]) >= height, f"{name} labels overlap ({abs(ys[1] - ys[0]):.0f} px)"


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_trend_row_shows_a_label_that_stands_apart(qtbot, db, auditor, review_record: ReviewRecord,
                                                          size) -> None:
    w = ReviewWindow(db, auditor, review_record.a.session_id)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()
    for key, plot in w.trend.plots.items():
        if plot is w.trend.marker_plot:
            continue  # the event lanes are labelled by name
        axis = plot.getAxis("left")
        lo, hi = plot.vb.viewRange()[1]
        labels = axis.shown_ticks(lo, hi, plot.vb.height())
        assert 1 <= len(labels) <= 2, (key, labels)
        assert [v for _, level in axis.tickValues(lo, hi, plot.vb.height()) for v in level] == [v for v, _ in labels]
        _labels_stand_apart(plot, labels, key)
    w.close()


def test_a_short_strip_keeps_one_label(open_review, review_record: ReviewRecord) -> None:
    """Squeezed to its minimum height a strip has no room for two labels: one is left, never two touching."""
    a = review_record.a
    w = open_review(a.session_id)
    w.show_moment(a.start + 900)
    axis = w.waves._axis(next(iter(w.waves.plots)))
    assert len(axis.shown_ticks(-0.55, 1.2, 400.0)) == 2
    assert [v for v, _ in axis.shown_ticks(-0.55, 1.2, 12.0)] == [0.0]


def test_a_window_without_waves_says_so_instead_of_empty_strips(open_review, review_record: ReviewRecord) -> None:
    b = review_record.b  # recorded without waves
    w = open_review(b.session_id)
    w.show_moment(b.start + 300)
    assert w.waves.empty_state_shown
    assert w.waves.empty.text().startswith("No waves were recorded from ")
    assert "no waves recorded here" in w.waves.title.text()


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (30.0, 170.0, 100.0),   # HR row
    (75.0, 101.0, 90.0),    # SpO2 row
    (0.0, 70.0, 40.0),      # EtCO2 row
    (-0.55, 1.2, 0.0),
])
def test_centre_tick_is_round_and_near_the_middle(lo: float, hi: float, expected: float) -> None:
    tick = centre_tick(lo, hi)
    assert tick is not None and tick[0] == pytest.approx(expected)
    assert lo + 0.3 * (hi - lo) <= tick[0] <= hi - 0.3 * (hi - lo)
    assert centre_tick(1.0, 1.0) is None and centre_tick(0.0, math.inf) is None


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (-0.55, 1.2, [0.0, 1.0]),        # ECG in mV
    (-3.0, 42.0, [0.0, 40.0]),       # CO2 in mmHg
    (-0.6, 0.6, [-0.5, 0.5]),
    (36.9, 37.05, [36.9, 37.0]),
    (0.41, 0.49, [0.42, 0.48]),
    (5.0, 5.0, []),                  # a flat line has no range to label
    (0.0, math.nan, []),
    (-math.inf, 1.0, []),
])
def test_round_ticks(lo: float, hi: float, expected: list[float]) -> None:
    ticks = round_ticks(lo, hi)
    assert [v for v, _ in ticks] == pytest.approx(expected)
    assert all(lo <= v <= hi for v, _ in ticks)
    assert all(text == f"{round(v, 10):g}" for v, text in ticks)

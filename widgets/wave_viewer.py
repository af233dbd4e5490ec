"""Full-resolution waveforms of one short window (default 10 s) of a recorded session, with a scroll bar.

The viewer does not read the database: it asks for a window with :attr:`WaveViewer.windowRequested` (the start
time) and is given the samples with :meth:`WaveViewer.show_window`, so the owner loads just that window
lazily. One plot per channel, created once; curves are updated with ``setData``; x is seconds from the window
start. Gaps in the recording show as breaks (samples are never invented).

Until a window is shown the strips are replaced by a plain empty state (:data:`EMPTY_TEXT`): empty plots
would only show axes without data. Each strip's y axis (:class:`ShortAxis`) is labelled at two round values
within its data, or one when the strip is too short for two to stand apart (:mod:`widgets.short_axis`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollBar, QStackedWidget, QVBoxLayout, QWidget

from widgets.short_axis import ShortAxis

WINDOW_S = 10.0
#: what the wave area says before the user has picked a moment
EMPTY_TEXT = "Pick a moment on the timeline to see its waves (10 s at full resolution)."
TITLE_EMPTY = "Waveforms"


class WaveViewer(QWidget):
    """Stacked wave strips for one window of a session; scroll to move the window."""

    #: the start (POSIX s) of the window the user scrolled to
    windowRequested = Signal(float)
    #: the horizontal scroll bar (its name hides QWidget.scroll(), which this widget never uses)
    scroll: QScrollBar  # type: ignore[assignment]

    def __init__(
        self,
        channels: Sequence[tuple[int, str, str]],
        *,
        window_s: float = WINDOW_S,
        background: str = "#000000",
        text_colour: str = "#9aa3ad",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.window_s = float(window_s)
        self._span = (0.0, 0.0)
        self.window_start: float | None = None
        self.title = QLabel(TITLE_EMPTY)
        self.title.setObjectName("waveTitle")
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("waveEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet(f"color: {text_colour}; background: {background}; font-size: 13pt;")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(background)
        self.plots: dict[int, pg.PlotItem] = {}
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.labels: dict[int, str] = {}
        for i, (code, label, colour) in enumerate(channels):
            p = self.graphics.addPlot(row=i, col=0, axisItems={"left": ShortAxis()})
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setMinimumHeight(32)  # room for the rotated channel name; fits a 768-high screen
            p.setMouseEnabled(x=False, y=False)
            p.enableAutoRange(False)
            p.setXRange(0.0, self.window_s, padding=0)
            p.showGrid(x=True, y=False, alpha=0.3)
            p.getAxis("left").setWidth(84)
            p.getAxis("left").enableAutoSIPrefix(False)
            p.getAxis("left").setTextPen(text_colour)
            p.getAxis("bottom").setTextPen(text_colour)
            p.setLabel("left", label, color=text_colour)
            if i < len(channels) - 1:
                p.getAxis("bottom").setStyle(showValues=False)
            else:
                p.setLabel("bottom", "seconds from window start", color=text_colour)
                p.setMinimumHeight(64)  # the time axis takes part of the last row
            self.curves[code] = p.plot([], [], pen=pg.mkPen(colour, width=1))
            self.plots[code] = p
            self.labels[code] = label
        # Qt does not pass the plots' minimum heights up through the graphics view: say it here
        self.graphics.setMinimumHeight(32 * len(channels) + 40)
        # the empty state takes the strips' place (same height) until a window is shown
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.graphics)
        self.stack.setCurrentWidget(self.empty)
        self.scroll = QScrollBar(Qt.Orientation.Horizontal)
        self.scroll.setEnabled(False)
        self.scroll.valueChanged.connect(self._on_scroll)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.scroll)

    @property
    def empty_state_shown(self) -> bool:
        """True while no window has been shown (the empty-state text stands where the strips go)."""
        return self.stack.currentWidget() is self.empty

    def set_span(self, start: float, end: float) -> None:
        """The session's time span; the scroll bar moves the window within it in 1 s steps."""
        self._span = (float(start), float(end))
        self.scroll.blockSignals(True)
        self.scroll.setRange(0, max(0, int(end - start - self.window_s)))
        self.scroll.setPageStep(int(self.window_s))
        self.scroll.setSingleStep(1)
        self.scroll.setEnabled(True)
        self.scroll.blockSignals(False)

    def window_for(self, t: float) -> float:
        """The start of the window centred on ``t``, kept inside the session."""
        start = t - self.window_s / 2
        return max(self._span[0], min(start, self._span[1] - self.window_s))

    def _on_scroll(self, value: int) -> None:
        self.windowRequested.emit(self._span[0] + float(value))

    def show_window(self, start: float, channels: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Draw the samples of the window starting at ``start``: per code, (sample times, values)."""
        self.window_start = float(start)
        self.scroll.blockSignals(True)
        self.scroll.setValue(round(start - self._span[0]))
        self.scroll.blockSignals(False)
        when = _dt.datetime.fromtimestamp(start)
        end = _dt.datetime.fromtimestamp(start + self.window_s)
        shown = [self.labels[c] for c in self.curves if c in channels]
        self.title.setText(
            f"Waveforms {when:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} "
            f"({self.window_s:g} s, full resolution)" + ("" if shown else ": no waves recorded here")
        )
        if shown:
            self.stack.setCurrentWidget(self.graphics)
        else:  # nothing to draw: say so in words instead of showing empty axes
            self.empty.setText(f"No waves were recorded from {when:%H:%M:%S} to {end:%H:%M:%S}.")
            self.stack.setCurrentWidget(self.empty)
        for code, curve in self.curves.items():
            if code not in channels:
                curve.setData([], [])
                self._axis(code).set_labelled(False)
                continue
            t, y = channels[code]
            x = np.asarray(t, dtype=np.float64) - start
            y = np.asarray(y, dtype=np.float64)
            # a break wherever consecutive samples are further apart than 1.5 sample periods (a recording gap)
            connect = np.ones(x.shape[0], dtype=bool)
            if x.shape[0] > 2:
                dt = np.diff(x)
                connect[:-1] = dt <= 1.5 * float(np.median(dt))
            curve.setData(x, y, connect=connect)
            finite = y[np.isfinite(y)]
            if finite.size:
                lo, hi = float(finite.min()), float(finite.max())
                pad = max((hi - lo) * 0.08, 1e-3)
                self.plots[code].setYRange(lo - pad, hi + pad, padding=0)
            self._axis(code).set_labelled(bool(finite.size))

    def _axis(self, code: int) -> ShortAxis:
        axis = self.plots[code].getAxis("left")
        assert isinstance(axis, ShortAxis)
        return axis

    def y_labels(self, code: int) -> list[tuple[float, str]]:
        """The y labels the strip of ``code`` draws now: (value, text), at most two."""
        lo, hi = self.plots[code].vb.viewRange()[1]
        return self._axis(code).shown_ticks(lo, hi, self.plots[code].vb.height())

    def shown_samples(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """What the strip of ``code`` currently draws: (seconds from window start, values)."""
        x, y = self.curves[code].getData()
        return (np.empty(0) if x is None else x), (np.empty(0) if y is None else y)

"""Stacked trend plots of a whole session on one time axis, with an event-marker lane and a time cursor.

Rows share (link) the time axis: zooming or panning one (mouse wheel / drag, x only) moves all. Every curve
and scatter is created once and updated with ``setData``; pens are 1 px and opaque, antialiasing is off and
every y range is fixed with auto-range off (the speed rules measured in DESIGN.md). Clicking anywhere, or
dragging the cursor line, emits :attr:`TrendPlot.timeSelected` with the POSIX time; hovering a marker shows
its text as a tooltip (pyqtgraph's hoverable scatter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont

from console.clinical.units import display_unit
from widgets.short_axis import ShortAxis

#: left axis width in px, the same on every row so the time axes line up
AXIS_WIDTH = 84
#: height of the marker lane row in px per lane (the trend rows share the rest)
LANE_PX = 11
#: the least height of one trend row: room for its rotated label and two tick labels. Small enough that the
#: review window fits a 1366x768 laptop screen; the rows grow with the window.
ROW_MIN_PX = 32


@dataclass(frozen=True, slots=True)
class TrendRow:
    """One plot row: ``key`` used by :meth:`TrendPlot.set_series`; ``y_range`` fixed."""

    key: str
    label: str
    unit: str
    y_range: tuple[float, float]
    colour: str
    height: int = 1


@dataclass(frozen=True, slots=True)
class MarkerLane:
    """One lane of the marker row: category key, its label and colour and the scatter symbol."""

    key: str
    label: str
    colour: str
    symbol: str = "o"


class TrendPlot(pg.GraphicsLayoutWidget):
    """Trend rows + an NIBP row (bars from diastolic to systolic at each measurement) + a marker lane."""

    #: a time (POSIX s) the user clicked or scrubbed to
    timeSelected = Signal(float)

    def __init__(
        self,
        rows: Sequence[TrendRow],
        lanes: Sequence[MarkerLane],
        *,
        nibp_row: TrendRow | None = None,
        background: str = "#000000",
        text_colour: str = "#9aa3ad",
        cursor_colour: str = "#ffffff",
        parent=None,
    ) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent=parent)
        self.setBackground(background)
        self._text_colour = text_colour
        self._lanes = list(lanes)
        self._lane_index = {lane.key: i for i, lane in enumerate(self._lanes)}
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.cursors: list[pg.InfiniteLine] = []
        self._span = (0.0, 1.0)
        self._marker_times = np.empty(0)
        self._marker_texts: list[str] = []

        # marker lane on top, so an auditor sees events above the vitals they relate to
        self.marker_plot = self._add_plot("EVENTS", "events", "", (-0.7, len(self._lanes) - 0.3), first=True)
        self.marker_plot.getAxis("left").setTicks([[(i, lane.label) for i, lane in enumerate(self._lanes)]])
        self.marker_plot.setLabel("left", "")
        small = QFont()
        small.setPointSize(8)
        self.marker_plot.getAxis("left").setTickFont(small)
        self.marker_plot.showGrid(x=True, y=False, alpha=0.25)
        lane_height = LANE_PX * len(self._lanes) + 8
        self.marker_plot.setFixedHeight(lane_height)
        self.markers = pg.ScatterPlotItem(
            size=11, pen=None, hoverable=True, tip=lambda x, y, data: data, hoverSize=15
        )
        self.marker_plot.addItem(self.markers)
        self.layout_rows: list[str] = ["events"]

        for r in rows:
            p = self._add_plot(r.key, r.label, r.unit, r.y_range)
            self.ci.layout.setRowStretchFactor(len(self.plots) - 1, r.height)
            p.setMinimumHeight(ROW_MIN_PX * r.height)
            curve = p.plot([], [], pen=pg.mkPen(r.colour, width=1))
            self.curves[r.key] = curve
            self.layout_rows.append(r.key)
        self.nibp_bars: pg.ErrorBarItem | None = None
        self.nibp_sys: pg.ScatterPlotItem | None = None
        self.nibp_dia: pg.ScatterPlotItem | None = None
        if nibp_row is not None:
            p = self._add_plot(nibp_row.key, nibp_row.label, nibp_row.unit, nibp_row.y_range)
            self.ci.layout.setRowStretchFactor(len(self.plots) - 1, nibp_row.height)
            p.setMinimumHeight(ROW_MIN_PX * nibp_row.height)
            colour = pg.mkColor(nibp_row.colour)
            self.nibp_bars = pg.ErrorBarItem(
                x=np.empty(0),
                y=np.empty(0),
                top=np.empty(0),
                bottom=np.empty(0),
                beam=0,
                pen=pg.mkPen(colour, width=1),
            )
            self.nibp_sys = pg.ScatterPlotItem(
                size=9,
                symbol="t",
                pen=None,
                brush=pg.mkBrush(colour),
                hoverable=True,
                tip=lambda x, y, data: data,
            )
            self.nibp_dia = pg.ScatterPlotItem(
                size=9,
                symbol="t1",
                pen=None,
                brush=pg.mkBrush(colour),
                hoverable=True,
                tip=lambda x, y, data: data,
            )
            for item in (self.nibp_bars, self.nibp_sys, self.nibp_dia):
                p.addItem(item)
            self.layout_rows.append(nibp_row.key)
        self.setMinimumHeight(
            LANE_PX * len(self._lanes)
            + 8
            + sum(ROW_MIN_PX * r.height for r in rows)
            + (ROW_MIN_PX * nibp_row.height if nibp_row else 0)
            + 30
        )
        # only the bottom row shows time labels
        last = self.plots[self.layout_rows[-1]]
        last.showAxis("bottom", True)
        last.getAxis("bottom").setStyle(showValues=True)
        self.scene().sigMouseClicked.connect(self._on_click)

    # ------------------------------------------------------------------ construction
    def _add_plot(
        self, key: str, label: str, unit: str, y_range: tuple[float, float], first: bool = False
    ) -> pg.PlotItem:
        # DateAxisItem labels POSIX times in local wall-clock time (the record stores UTC; people read local)
        axis = pg.DateAxisItem(orientation="bottom")
        # a row is 30-odd pixels high on a laptop screen: at most two round y labels (widgets.short_axis)
        p = self.addPlot(row=len(self.plots), col=0, axisItems={"bottom": axis, "left": ShortAxis(labelled=True)})
        p.setMenuEnabled(False)
        p.hideButtons()
        p.setMouseEnabled(x=True, y=False)
        p.enableAutoRange(False)
        p.setYRange(*y_range, padding=0)
        p.showGrid(x=True, y=True, alpha=0.25)
        left = p.getAxis("left")
        left.setWidth(AXIS_WIDTH)
        left.setTextPen(self._text_colour)
        axis.setTextPen(self._text_colour)
        left.enableAutoSIPrefix(False)
        # the name and unit sit in the rotated axis label, kept short so it never overlaps the tick values
        p.setLabel("left", f"{label} {display_unit(unit)}".strip(), color=self._text_colour)
        p.showAxis("bottom", False)
        if self.plots:
            p.setXLink(next(iter(self.plots.values())))
        line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#ffffff", width=1))
        line.setVisible(False)
        line.sigPositionChangeFinished.connect(self._on_cursor_dragged)
        line.sigPositionChanged.connect(self._sync_cursors)
        p.addItem(line, ignoreBounds=True)
        self.cursors.append(line)
        self.plots[key] = p
        return p

    # ------------------------------------------------------------------ data
    def set_span(self, start: float, end: float) -> None:
        """The whole session: the initial view and the pan/zoom limits (a little margin each side)."""
        pad = max(30.0, (end - start) * 0.01)
        self._span = (start, end)
        for p in self.plots.values():
            p.setLimits(xMin=start - pad, xMax=end + pad, minXRange=10.0)
        self.show_range(start - pad, end + pad)

    def show_range(self, start: float, end: float) -> None:
        """Zoom/pan the time axis to [start, end] (all rows follow)."""
        next(iter(self.plots.values())).setXRange(start, end, padding=0)

    def visible_range(self) -> tuple[float, float]:
        r = next(iter(self.plots.values())).viewRange()[0]
        return float(r[0]), float(r[1])

    def set_series(self, key: str, t: np.ndarray, y: np.ndarray) -> None:
        """Replace one row's curve (NaN values show as breaks)."""
        self.curves[key].setData(
            np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64), connect="finite"
        )

    def set_nibp(self, t: np.ndarray, sys: np.ndarray, dia: np.ndarray) -> None:
        """One bar from diastolic to systolic per NIBP measurement, with a hover text on each end."""
        if self.nibp_bars is None or self.nibp_sys is None or self.nibp_dia is None:
            return
        t, sys, dia = (np.asarray(a, dtype=np.float64) for a in (t, sys, dia))
        both = np.isfinite(sys) & np.isfinite(dia)
        self.nibp_bars.setData(
            x=t[both], y=dia[both], top=(sys - dia)[both], bottom=np.zeros(int(both.sum()))
        )
        texts = [
            f"NIBP {s:.0f}/{d:.0f} mmHg" if np.isfinite(d) else f"NIBP {s:.0f}/-- mmHg"
            for s, d in zip(sys.tolist(), dia.tolist(), strict=True)
        ]
        self.nibp_sys.setData(x=t, y=sys, data=texts)
        self.nibp_dia.setData(
            x=t[both], y=dia[both], data=[tx for tx, b in zip(texts, both, strict=True) if b]
        )

    def set_markers(self, times: Sequence[float], lanes: Sequence[str], texts: Sequence[str]) -> None:
        """Event markers: one per (time, lane key, hover text)."""
        spots_x = np.asarray(times, dtype=np.float64)
        ys = np.array([self._lane_index.get(k, len(self._lanes) - 1) for k in lanes], dtype=np.float64)
        brushes = [pg.mkBrush(self._lanes[int(y)].colour) for y in ys]
        symbols = [self._lanes[int(y)].symbol for y in ys]
        self.markers.setData(x=spots_x, y=ys, data=list(texts), brush=brushes, symbol=symbols)
        self._marker_times = spots_x
        self._marker_texts = list(texts)

    def marker_tip_at(self, t: float, within: float | None = None) -> str | None:
        """The hover text of the marker nearest ``t`` (within ``within`` s; default 1 % of the visible
        span)."""
        if self._marker_times.size == 0:
            return None
        if within is None:
            a, b = self.visible_range()
            within = max(1.0, (b - a) * 0.01)
        i = int(np.argmin(np.abs(self._marker_times - t)))
        return self._marker_texts[i] if abs(self._marker_times[i] - t) <= within else None

    # ------------------------------------------------------------------ cursor
    def set_cursor(self, t: float | None) -> None:
        """Show the time cursor at ``t`` on every row (``None`` hides it); emits nothing."""
        for line in self.cursors:
            line.blockSignals(True)
            if t is None:
                line.setVisible(False)
            else:
                line.setVisible(True)
                line.setValue(t)
            line.blockSignals(False)

    def cursor_time(self) -> float | None:
        line = self.cursors[0]
        return float(line.value()) if line.isVisible() else None

    def _sync_cursors(self, moved: pg.InfiniteLine) -> None:
        for line in self.cursors:
            if line is not moved:
                line.blockSignals(True)
                line.setValue(moved.value())
                line.blockSignals(False)

    def _on_cursor_dragged(self, line: pg.InfiniteLine) -> None:
        self.timeSelected.emit(float(line.value()))

    def _on_click(self, ev) -> None:  # type: ignore[no-untyped-def]
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        pos: QPointF = ev.scenePos()
        for p in self.plots.values():
            if p.sceneBoundingRect().contains(pos):
                t = float(p.vb.mapSceneToView(pos).x())
                self.select_time(t)
                return

    def select_time(self, t: float) -> None:
        """Move the cursor to ``t`` (clamped to the session) and emit :attr:`timeSelected`."""
        t = min(max(t, self._span[0]), self._span[1])
        self.set_cursor(t)
        self.timeSelected.emit(t)

"""The course of one patient (read-only): a row per session and small PHQ-9 / GAD-7 trend plots.

Values come from :func:`console.review.course.course_rows` (amendments applied, originals kept in the record).
Double-clicking a row emits :attr:`PatientCourseView.openSession`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.app import Theme, load_theme
from console.review.course import CourseRow, course_rows
from console.review.timeline import local_datetime

COLUMNS: tuple[str, ...] = (
    "Session",
    "Date",
    "PHQ-9 before",
    "GAD-7 before",
    "Peak CADSS",
    "Lowest MOAA/S",
    "Baseline BP",
    "Peak BP",
    "BP rise",
    "Side effects",
    "Dose (mg)",
    "Status",
)


def _num(v: float | None) -> str:
    return "--" if v is None else f"{v:g}"


def _bp(v: tuple[float, float] | None, signed: bool = False) -> str:
    if v is None:
        return "--/--"
    return f"{v[0]:+.0f}/{v[1]:+.0f}" if signed else f"{v[0]:.0f}/{v[1]:.0f}"


def course_cells(r: CourseRow) -> tuple[str, ...]:
    """The table cells of one course row, as shown."""
    return (
        str(r.session_id),
        local_datetime(r.started_at)[:16],
        _num(r.phq9),
        _num(r.gad7),
        _num(r.peak_cadss),
        _num(r.lowest_moaas),
        _bp(r.baseline_bp),
        _bp(r.peak_bp),
        _bp(r.bp_rise, signed=True),
        r.side_effects_text,
        _num(r.dose_mg) + (" planned" if r.dose_basis == "planned" else ""),
        r.status.replace("_", " ") + (" (amended)" if r.amended else "") + (" DEMO" if r.demo else ""),
    )


class _ScorePlot(pg.PlotWidget):
    """A small score-over-sessions plot (curve and points created once)."""

    def __init__(self, title: str, y_max: float, colour: str, background: str) -> None:
        super().__init__(background=background)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(x=False, y=False)
        self.enableAutoRange(False)
        self.setYRange(0, y_max, padding=0.02)
        self.setTitle(title)
        self.showGrid(x=False, y=True, alpha=0.25)
        self.getAxis("bottom").setLabel("session")
        self.setFixedHeight(170)
        self.curve = self.plot(
            [],
            [],
            pen=pg.mkPen(colour, width=1),
            symbol="o",
            symbolSize=7,
            symbolBrush=colour,
            symbolPen=None,
        )

    def set_points(self, x: list[float], y: list[float | None]) -> None:
        ys = np.array([np.nan if v is None else v for v in y], dtype=np.float64)
        xs = np.asarray(x, dtype=np.float64)
        self.curve.setData(xs, ys, connect="finite")
        self.setXRange(0.5, max(1.5, len(x) + 0.5), padding=0)
        step = max(1, len(x) // 12)  # whole session numbers only, at most about a dozen labels
        self.getAxis("bottom").setTicks([[(v, f"{v:.0f}") for v in x[::step]], []])


class PatientCourseView(QWidget):
    """Every session of one patient."""

    openSession = Signal(int)

    def __init__(
        self,
        db: Any,
        user: Any,
        patient_id: int,
        *,
        theme: Theme | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.svc = db.service(user)
        self.theme = theme or load_theme()
        self.patient = self.svc.patient(patient_id)
        self.setWindowTitle(
            f"Course of patient {self.patient.code}" + (" (DEMO)" if self.patient.demo else "")
        )
        th = self.theme
        title = QLabel(f"Course of patient {self.patient.code}" + ("   DEMO" if self.patient.demo else ""))
        title.setStyleSheet(f"font-size: 14pt; font-weight: bold; color: {th.text};")
        self.phq_plot = _ScorePlot("PHQ-9 before each session (0-27)", 27, "#c792ea", th.background)
        self.gad_plot = _ScorePlot("GAD-7 before each session (0-21)", 21, "#4da3ff", th.background)
        plots = QHBoxLayout()
        plots.addWidget(self.phq_plot)
        plots.addWidget(self.gad_plot)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(9, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(self._open)
        note = QLabel("Scores as corrected by amendments; BP rise = peak minus the pre-dose baseline.")
        note.setStyleSheet(f"color: {th.dim_text};")
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(plots)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        self.rows: list[CourseRow] = []
        self.refresh()

    def refresh(self) -> None:
        self.rows = course_rows(self.db, self.svc, self.patient.id)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, text in enumerate(course_cells(row)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        x = [float(i + 1) for i in range(len(self.rows))]
        self.phq_plot.set_points(x, [r.phq9 for r in self.rows])
        self.gad_plot.set_points(x, [r.gad7 for r in self.rows])

    def _open(self, r: int, _c: int) -> None:
        if 0 <= r < len(self.rows):
            self.openSession.emit(self.rows[r].session_id)

"""The session browser (all roles, read-only): filter, sort, and open a session or a patient's course.

Filters: date range, patient code, clinician, chair, protocol, status and flags (overdue checks, alarms,
amendments, side effect grade >= 3, integrity failure). The flags are computed once per :meth:`refresh` by the
Qt-free :class:`~console.review.browser_model.BrowserModel`; changing a filter or sorting only re-reads that
cache. Double-click (or Open) opens the review window; Patient course opens the course of the selected row's
patient.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.app import Theme, load_theme
from console.review.browser_model import (
    FLAG_WORDS,
    FLAGS,
    STATUS_WORDS,
    STATUSES,
    BrowserFilter,
    BrowserModel,
    SessionRow,
)
from console.review.timeline import local_datetime

COLUMNS: tuple[str, ...] = (
    "Session",
    "Started",
    "Patient",
    "Clinicians",
    "Chair",
    "Protocol",
    "Status",
    "Flags",
    "DEMO",
)
_SORT_BY_COLUMN = {
    0: "id",
    1: "started_at",
    2: "patient",
    3: "clinician",
    4: "chair",
    5: "protocol",
    6: "status",
    7: "flags",
}
FLAG_COLOUR = "#ff8c00"
INTEGRITY_COLOUR = "#ff4d4d"


class SessionBrowser(QWidget):
    """Lists sessions with filters; emits :attr:`openSession` / :attr:`openCourse` with ids."""

    openSession = Signal(int)
    openCourse = Signal(int)

    def __init__(
        self, db: Any, user: Any, *, theme: Theme | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.svc = db.service(user)
        self.theme = theme or load_theme()
        self.model = BrowserModel(db, self.svc)
        self.sort_key = "started_at"
        self.descending = True
        self.shown: list[SessionRow] = []
        self.setWindowTitle("Chairside sessions (read-only)")
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.use_dates = QCheckBox("Dates from")
        self.date_from = QDateEdit()
        self.date_to = QDateEdit()
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setDate(QDate.currentDate())
            d.dateChanged.connect(self.apply_filter)
        self.use_dates.toggled.connect(self.apply_filter)
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("patient ID contains ...")
        self.patient.setClearButtonEnabled(True)
        self.patient.textChanged.connect(self.apply_filter)
        self.clinician = QComboBox()
        self.chair = QComboBox()
        self.protocol = QComboBox()
        self.status = QComboBox()
        self.status.addItem("any status", "")
        for s in STATUSES:
            self.status.addItem(STATUS_WORDS[s], s)
        for combo in (self.clinician, self.chair, self.protocol, self.status):
            combo.currentIndexChanged.connect(self.apply_filter)
        self.flag_boxes: dict[str, QCheckBox] = {}
        flags_row = QHBoxLayout()
        flags_row.addWidget(QLabel("Only sessions with:"))
        for f in FLAGS:
            box = QCheckBox(FLAG_WORDS[f])
            box.toggled.connect(self.apply_filter)
            self.flag_boxes[f] = box
            flags_row.addWidget(box)
        flags_row.addStretch(1)
        self.refresh_button = QPushButton("Reload from record")
        self.refresh_button.clicked.connect(self.refresh)
        flags_row.addWidget(self.refresh_button)

        grid = QGridLayout()
        grid.addWidget(self.use_dates, 0, 0)
        grid.addWidget(self.date_from, 0, 1)
        grid.addWidget(QLabel("to"), 0, 2)
        grid.addWidget(self.date_to, 0, 3)
        grid.addWidget(QLabel("Patient"), 0, 4)
        grid.addWidget(self.patient, 0, 5)
        grid.addWidget(QLabel("Clinician"), 1, 0)
        grid.addWidget(self.clinician, 1, 1)
        grid.addWidget(QLabel("Chair"), 1, 2)
        grid.addWidget(self.chair, 1, 3)
        grid.addWidget(QLabel("Protocol"), 1, 4)
        grid.addWidget(self.protocol, 1, 5)
        grid.addWidget(QLabel("Status"), 1, 6)
        grid.addWidget(self.status, 1, 7)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(1, Qt.SortOrder.DescendingOrder)
        header.sectionClicked.connect(self._on_header_clicked)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._open_row(r))

        self.open_button = QPushButton("Open review")
        self.course_button = QPushButton("Patient course")
        self.open_button.clicked.connect(lambda: self._open_row(self.table.currentRow()))
        self.course_button.clicked.connect(self._open_course)
        self.count = QLabel("")
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.course_button)
        bottom.addWidget(self.open_button)

        title = QLabel(f"Sessions  \u00b7  read-only  \u00b7  {self.user.username} ({self.user.role})")
        title.setStyleSheet(f"font-size: 14pt; font-weight: bold; color: {self.theme.text};")
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(grid)
        lay.addLayout(flags_row)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        """Re-read the record and recompute every flag (the only place they are computed)."""
        self.model.refresh()
        choices = self.model.choices()
        for combo, key, any_text in (
            (self.clinician, "clinician", "any clinician"),
            (self.chair, "chair", "any chair"),
            (self.protocol, "protocol", "any protocol"),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(any_text, "")
            for v in choices[key]:
                combo.addItem(v, v)
            idx = combo.findData(current)
            combo.setCurrentIndex(max(0, idx))
            combo.blockSignals(False)
        self.apply_filter()

    def current_filter(self) -> BrowserFilter:
        """The filter the controls describe."""
        use_dates = self.use_dates.isChecked()
        d_from: date | None = self.date_from.date().toPython() if use_dates else None  # type: ignore
        d_to: date | None = self.date_to.date().toPython() if use_dates else None  # type: ignore
        return BrowserFilter(
            date_from=d_from,
            date_to=d_to,
            patient=self.patient.text(),
            clinician=self.clinician.currentData() or "",
            chair=self.chair.currentData() or "",
            protocol=self.protocol.currentData() or "",
            status=self.status.currentData() or "",
            flags=frozenset(f for f, b in self.flag_boxes.items() if b.isChecked()),
        )

    def apply_filter(self, *_: Any) -> None:
        """Show the cached rows passing the filter, in the current sort order (no database access)."""
        self.shown = self.model.query(self.current_filter(), self.sort_key, self.descending)
        self.table.setRowCount(len(self.shown))
        for r, row in enumerate(self.shown):
            i = row.info
            cells = (
                str(i.id),
                local_datetime(i.started_at),
                i.patient_code,
                ", ".join(row.clinicians),
                i.chair,
                f"{i.protocol_id} v{i.protocol_version}",
                STATUS_WORDS.get(row.status, row.status),
                row.flags.text(),
                "DEMO" if i.demo else "",
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 7 and row.flags.integrity_problem:
                    item.setForeground(QBrush(QColor(INTEGRITY_COLOUR)))
                    item.setToolTip(row.flags.integrity_problem)
                elif c == 7 and text:
                    item.setForeground(QBrush(QColor(FLAG_COLOUR)))
                elif c == 8 and text:
                    item.setForeground(QBrush(QColor(self.theme.demo)))
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, i.id)
                self.table.setItem(r, c, item)
        total = len(self.model.rows)
        self.count.setText(f"{len(self.shown)} of {total} sessions shown")
        self.count.setStyleSheet("")

    def _on_header_clicked(self, column: int) -> None:
        key = _SORT_BY_COLUMN.get(column)
        if key is None:
            return
        if key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = key, key == "started_at"
        self.table.horizontalHeader().setSortIndicator(
            column, Qt.SortOrder.DescendingOrder if self.descending else Qt.SortOrder.AscendingOrder
        )
        self.apply_filter()

    def show_message(self, text: str) -> None:
        """A plain message under the table (errors opening a session, for instance)."""
        self.count.setText(text)
        self.count.setStyleSheet("color: #ff4d4d; font-weight: bold;")

    def shown_ids(self) -> list[int]:
        """Session ids in the order the table shows them."""
        return [row.id for row in self.shown]

    def _open_row(self, r: int) -> None:
        if 0 <= r < len(self.shown):
            self.openSession.emit(self.shown[r].id)

    def _open_course(self) -> None:
        r = self.table.currentRow()
        if 0 <= r < len(self.shown):
            self.openCourse.emit(self.shown[r].info.patient_id)

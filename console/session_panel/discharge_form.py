"""Discharge checklist: automatic criteria shown as judged from the data, the rest confirmed by ticking; or,
when the patient leaves without a regular discharge, how they left (against advice, transferred) and why.
Sign-off is offered once a discharge is recorded."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.clinical.discharge import CRITERIA, CriterionResult
from console.session.state import DEPARTURES
from widgets.form_util import enlarge_labels
from widgets.tap_row import TapRow, check_row

MARK = {True: "\u2714", False: "\u2718", None: "?"}
COLOUR = {True: "#33cc66", False: "#e8202a", None: "#f5c400"}


class DischargeForm(QWidget):
    """Signals :attr:`discharge_requested` and :attr:`signoff_requested`; the panel does the rest."""

    discharge_requested = Signal()
    departure_requested = Signal(str, str)   # how (a key of DEPARTURES), details
    signoff_requested = Signal()
    confirmations_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self.marks: dict[str, QLabel] = {}
        self.checks: dict[str, QCheckBox] = {}
        self.details: dict[str, QLabel] = {}
        self.hints: dict[str, str] = {}
        self.rows: dict[str, TapRow] = {}
        for row, (key, label, _auto) in enumerate(CRITERIA):
            # a check box does not wrap: keep its text short and put the explanation underneath
            short, _, hint = label.partition(" (")
            self.hints[key] = hint.rstrip(")")
            mark = QLabel("?")
            f = mark.font()
            f.setPointSize(16)
            f.setBold(True)
            mark.setFont(f)
            mark.setFixedWidth(28)
            # the whole row (box, text, explanation, empty space) is one tap target for a gloved hand
            tap, cb = check_row(short, below=True)
            cb.setToolTip(label)
            cb.toggled.connect(self.confirmations_changed)
            tap.detail.setObjectName("reason")
            tap.set_detail(self.hints[key])
            grid.addWidget(mark, row, 0)
            grid.addWidget(tap, row, 1)
            self.marks[key], self.checks[key], self.details[key] = mark, cb, tap.detail
            self.rows[key] = tap
        layout.addLayout(grid)
        form = QFormLayout()
        self.ready_minutes = QSpinBox()
        self.ready_minutes.setRange(0, 600)
        self.ready_minutes.setSuffix(" min")
        self.override_reason = QLineEdit()
        self.override_reason.setPlaceholderText("required if a criterion is not met")
        self.notes = QLineEdit()
        form.addRow("Ready to leave after", self.ready_minutes)
        form.addRow("Reason (criteria not met)", self.override_reason)
        form.addRow("Notes", self.notes)
        enlarge_labels(form)
        layout.addLayout(form)
        self.rems_label = QLabel("")
        self.rems_label.setObjectName("remsStatus")
        self.rems_label.setWordWrap(True)
        self.rems_label.setVisible(False)
        layout.addWidget(self.rems_label)
        self.discharge_button = QPushButton("Record discharge")
        self.discharge_button.setObjectName("primary")
        self.discharge_button.clicked.connect(self.discharge_requested)
        self.signoff_button = QPushButton("Sign off session\u2026")
        self.signoff_button.clicked.connect(self.signoff_requested)
        layout.addWidget(self.discharge_button)
        leave = QGroupBox("Leaving without a regular discharge")
        ll = QVBoxLayout(leave)
        self.departure = QComboBox()
        for key, words in DEPARTURES.items():
            self.departure.addItem(words, key)
        self.departure_details = QLineEdit()
        self.departure_details.setPlaceholderText("where to / what the patient was advised (required)")
        self.departure_button = QPushButton("Record how the patient left")
        ll.addWidget(self.departure)
        ll.addWidget(self.departure_details)
        ll.addWidget(self.departure_button)
        self.departure_button.clicked.connect(lambda: self.departure_requested.emit(
            str(self.departure.currentData()), self.departure_details.text()))
        layout.addWidget(leave)
        self.signoff_hint = QLabel("")
        self.signoff_hint.setObjectName("reason")
        self.signoff_hint.setWordWrap(True)
        layout.addWidget(self.signoff_hint)
        layout.addWidget(self.signoff_button)
        layout.addStretch(1)

    def show_signoff(self, refusal: str | None) -> None:
        """Sign-off is possible (``None``) or not yet, and why."""
        self.signoff_hint.setText(refusal or "")
        self.signoff_hint.setVisible(bool(refusal))

    def confirmations(self) -> dict[str, bool]:
        """Ticked boxes; an unticked box is "not confirmed" (absent), never a recorded "no"."""
        return {k: True for k, cb in self.checks.items() if cb.isChecked()}

    def show_rems(self, missing: list[str] | None) -> None:
        """REMS monitoring form status (esketamine only; ``None`` hides it)."""
        self.rems_label.setVisible(missing is not None)
        if missing is None:
            return
        if missing:
            self.rems_label.setText("REMS monitoring form (due within 7 days), still missing: " + "; ".join(missing))
            self.rems_label.setStyleSheet("color: #f5c400; font-size: 12pt;")
        else:
            self.rems_label.setText("REMS monitoring form: every required field is filled.")
            self.rems_label.setStyleSheet("color: #33cc66; font-size: 12pt;")

    def show_results(self, results: list[CriterionResult]) -> None:
        for r in results:
            self.marks[r.key].setText(MARK[r.met])
            self.marks[r.key].setStyleSheet(f"color: {COLOUR[r.met]};")
            self.rows[r.key].set_detail(r.detail or self.hints[r.key])

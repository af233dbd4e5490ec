"""Pre-treatment checks: identity, consent, fasting, escort, medication changes, concomitant medicines,
baseline vitals from the live monitor, and the GAD-7 / PHQ-9 questionnaires (auto-scored, item-9 flag at once).

The form is a few short steps with Back/Next and a step indicator rather than one long scroll (issue 12: the old
form was 2,650 px tall in a viewport of about 270 px); every check box is a whole-row tap target."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from console.clinical.entries import CONCOMITANT_LABELS, precheck_data, questionnaire_data
from console.clinical.entry_model import CONCOMITANT_KEYS
from console.clinical.scales import Scale, ScaleLibrary
from console.clinical.vitals import bp_from_snapshot, snapshot_value, vitals_snapshot
from devices import mdc
from widgets.scale_form import ScaleForm
from widgets.form_util import enlarge_labels
from widgets.tap_row import check_row


#: most questionnaire items on one step: each step must fit the panel at 1366x768 without a scroll bar
ITEMS_PER_STEP = 3


def item_steps(scale: Scale, per_step: int = ITEMS_PER_STEP) -> list[tuple[int, int]]:
    """``(start, stop)`` item ranges, one per step: runs of at most ``per_step`` items of even size, and an item
    that raises an urgent flag (PHQ-9 item 9) alone on its own step, so it is not answered in passing."""
    urgent = {r.item for r in scale.flag_rules if r.urgent and r.item is not None}
    runs: list[tuple[int, int]] = []
    start = 0
    for n, item in enumerate(scale.items):
        if item.id in urgent:
            runs += [(start, n), (n, n + 1)]
            start = n + 1
    runs.append((start, len(scale.items)))
    steps: list[tuple[int, int]] = []
    for a, b in runs:
        if b <= a:
            continue
        count = -(-(b - a) // per_step)  # steps this run needs; items spread evenly over them
        edges = [a + -(-k * (b - a) // count) for k in range(count + 1)]  # larger steps first
        steps += list(itertools.pairwise(edges))
    return steps


class PrecheckForm(QWidget):
    """The form, in steps with Back/Next; :meth:`collect` returns the entries to store, or raises ``ValueError``
    (fields kept). Saving is offered at the last step; what is stored does not depend on the steps."""

    save_requested = Signal()
    close_requested = Signal()

    def __init__(self, scales: ScaleLibrary, parent: QWidget | None = None, *, route: str = "IV") -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.step_label = QLabel("")
        self.step_label.setObjectName("stepIndicator")
        self.step_label.setWordWrap(True)
        layout.addWidget(self.step_label)
        # only the current step is shown (the others are hidden, so they take no room): a QStackedWidget would be
        # as tall as its tallest step
        self.pages = QWidget()
        QVBoxLayout(self.pages).setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages, 1)
        #: (title, page, action run when the step is shown)
        self.steps: list[tuple[str, QWidget, Callable[[], None]]] = []
        self.step = 0
        #: (questionnaire id, 0-based item) -> the step showing it
        self.item_step: dict[tuple[str, int], int] = {}

        page, col = self._page()
        identity_row, self.identity = check_row("Identity confirmed")
        consent_row, self.consent = check_row("Consent on file")
        col.addWidget(identity_row)
        col.addWidget(consent_row)
        self._add_step("Identity and consent", page)

        page, col = self._page()
        fasting_row, self.fasting = check_row("Fasting as instructed")
        escort_row, self.escort = check_row("Escort / transport home arranged")
        col.addWidget(fasting_row)
        col.addWidget(escort_row)
        form = QFormLayout()
        self.medication_changes = QLineEdit()
        self.medication_changes.setPlaceholderText("none")
        form.addRow("Medication changes", self.medication_changes)
        enlarge_labels(form)
        col.addLayout(form)
        self._add_step("Fasting, escort, medication", page)

        page, col = self._page()
        cgrid = QGridLayout()
        cgrid.setContentsMargins(0, 0, 0, 0)
        self.concomitant: dict[str, QCheckBox] = {}
        for n, key in enumerate(CONCOMITANT_KEYS):
            row, cb = check_row(CONCOMITANT_LABELS[key])
            self.concomitant[key] = cb
            cgrid.addWidget(row, n, 0)  # one column: the longest name does not fit half the panel
        col.addLayout(cgrid)
        self._add_step("Taking now (REMS)", page)

        page, col = self._page()
        self.vitals_label = QLabel("no vitals yet")
        self.vitals_label.setObjectName("baselineVitals")
        self.vitals_label.setWordWrap(True)
        f = self.vitals_label.font()
        f.setPointSize(14)
        self.vitals_label.setFont(f)
        col.addWidget(self.vitals_label)
        self.take_bp_button = QPushButton("Take BP now (F6)")
        col.addWidget(self.take_bp_button)
        form = QFormLayout()
        self.iv_site = QLineEdit()
        self.iv_site.setPlaceholderText("e.g. left antecubital")
        if route == "IV":
            form.addRow("IV site", self.iv_site)
        self.notes = QLineEdit()
        form.addRow("Notes", self.notes)
        enlarge_labels(form)
        col.addLayout(form)
        self._add_step("Baseline vitals and notes", page)

        self.gad7 = ScaleForm(scales.get("gad7"), compact=True)
        self.phq9 = ScaleForm(scales.get("phq9"), compact=True)
        for sf in (self.gad7, self.phq9):
            sf.title_label.setVisible(False)  # the step indicator names the questionnaire
            page, col = self._page()
            col.addWidget(sf)
            sf.show_items(*item_steps(sf.scale)[0])  # never taller than one step, also before it is shown
            n_items = len(sf.scale.items)
            for first, last in item_steps(sf.scale):
                for n in range(first, last):
                    self.item_step[(sf.scale.id, n)] = len(self.steps)
                which = f"{first + 1}" if last == first + 1 else f"{first + 1}-{last}"
                self._add_step(f"{sf.scale.title} {which} of {n_items} (optional)", page,
                               functools.partial(sf.show_items, first, last))

        self.error_label = QLabel()
        self.error_label.setObjectName("reason")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        nav = QHBoxLayout()
        self.close_button = QPushButton("\u2715 Close")
        self.close_button.setToolTip("Back to the session: what you entered stays here until you save it (Escape)")
        self.close_button.clicked.connect(self.close_requested)
        nav.addWidget(self.close_button, 1)
        self.back_button = QPushButton("\u2190 Back")
        self.next_button = QPushButton("Next \u2192")
        self.next_button.setObjectName("primary")
        self.save_button = QPushButton("Save pre-check")
        self.save_button.setObjectName("primary")
        self.back_button.clicked.connect(lambda: self.go(self.step - 1))
        self.next_button.clicked.connect(lambda: self.go(self.step + 1))
        self.save_button.clicked.connect(self.save_requested)
        nav.addWidget(self.back_button, 1)
        nav.addWidget(self.next_button, 2)
        nav.addWidget(self.save_button, 2)
        layout.addLayout(nav)
        #: parts already stored, so a retry after a storage failure does not store them twice
        self.saved: set[str] = set()
        self.go(0)

    @staticmethod
    def _page() -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        return page, col

    def _add_step(self, title: str, page: QWidget, on_show: Callable[[], None] = lambda: None) -> None:
        if page.parent() is not self.pages:
            page.layout().addStretch(1)  # type: ignore[union-attr]  # each page is built with a layout
            self.pages.layout().addWidget(page)  # type: ignore[union-attr]
        self.steps.append((title, page, on_show))

    def go(self, step: int) -> None:
        """Show step ``step`` (clamped); Save is offered on the last step, Next before it."""
        self.step = max(0, min(step, len(self.steps) - 1))
        title, page, on_show = self.steps[self.step]
        for _, other, _ in self.steps:
            if other is not page:
                other.setVisible(False)
        on_show()
        page.setVisible(True)
        self.step_label.setText(f"Step {self.step + 1} of {len(self.steps)}: {title}")
        last = self.step == len(self.steps) - 1
        self.back_button.setEnabled(self.step > 0)
        self.next_button.setVisible(not last)
        self.save_button.setVisible(last)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        # Enter moves on (saves at the last step) unless a button has the focus; Escape goes back, keeping
        # everything entered (nothing is lost, so nothing is asked)
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if isinstance(focused, QPushButton) and focused is not self.next_button:
                focused.click()
            elif self.step == len(self.steps) - 1:
                self.save_requested.emit()
            else:
                self.go(self.step + 1)
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self.close_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def show_vitals(self, latest: dict[int, Any]) -> None:
        snap = vitals_snapshot(latest)
        bp = bp_from_snapshot(snap)
        hr, spo2 = snapshot_value(snap, mdc.HEART_RATE), snapshot_value(snap, mdc.SPO2)
        parts = [f"BP {bp[0]:g}/{bp[1]:g}" if bp else "BP --/--",
                 f"HR {hr:g}" if hr is not None else "HR --", f"SpO2 {spo2:g} %" if spo2 is not None else "SpO2 --"]
        self.vitals_label.setText("   ".join(parts))

    def collect(self, latest: dict[int, Any], weight_kg: float | None) -> list[tuple[str, dict[str, Any]]]:
        """(kind, data) pairs still to store: the pre-check, then each questionnaire that was filled in."""
        out: list[tuple[str, dict[str, Any]]] = []
        if "precheck" not in self.saved:
            out.append(("precheck", precheck_data(
                identity_confirmed=self.identity.isChecked(), consent_on_file=self.consent.isChecked(),
                fasting=self.fasting.isChecked(), escort_arranged=self.escort.isChecked(),
                medication_changes=self.medication_changes.text(), weight_kg=weight_kg,
                concomitant={k: cb.isChecked() for k, cb in self.concomitant.items()},
                iv_site=self.iv_site.text(), baseline_vitals=latest, notes=self.notes.text())))
        for sf in (self.gad7, self.phq9):
            if sf.scale.id in self.saved or sf.is_empty():
                continue
            problems = sf.problems()
            if problems:
                # show the first question still to answer: the clinician should not have to hunt for it
                answered = sf.values()
                first = next((n for n, it in enumerate(sf.scale.items) if it.id not in answered), 0)
                self.go(self.item_step.get((sf.scale.id, first), self.step))
                raise ValueError("; ".join(problems))
            out.append(("questionnaire", questionnaire_data(sf.scale, sf.result(), timing="before")))
        return out

    def warnings(self) -> list[str]:
        """Checks answered "no": recorded as such, but the clinician should see them before dosing."""
        words = [(self.identity, "identity not confirmed"), (self.consent, "no consent on file"),
                 (self.fasting, "not fasting"), (self.escort, "no escort arranged")]
        return [w for cb, w in words if not cb.isChecked()]

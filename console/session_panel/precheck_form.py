"""Pre-treatment checks: identity, consent, fasting, escort, medication changes, concomitant medicines,
baseline vitals from the live monitor, and the GAD-7 / PHQ-9 questionnaires (auto-scored, item-9 flag at once).

The form is a few short steps with Back/Next and a step indicator rather than one long scroll (issue 12: the old
form was 2,650 px tall in a viewport of about 270 px); every check box is a whole-row tap target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from console.clinical.entries import CONCOMITANT_LABELS, precheck_data, questionnaire_data
from console.clinical.entry_model import CONCOMITANT_KEYS
from console.clinical.scales import ScaleLibrary
from console.clinical.vitals import bp_from_snapshot, snapshot_value, vitals_snapshot
from devices import mdc
from widgets.scale_form import ScaleForm
from widgets.form_util import enlarge_labels
from widgets.tap_row import check_row


#: questionnaire items per step: each step must fit the panel at 1366x768 without a scroll bar
ITEMS_PER_STEP = 3


class PrecheckForm(QWidget):
    """The form, in steps with Back/Next; :meth:`collect` returns the entries to store, or raises ``ValueError``
    (fields kept). Saving is offered at the last step; what is stored does not depend on the steps."""

    save_requested = Signal()

    def __init__(self, scales: ScaleLibrary, parent: QWidget | None = None, *, route: str = "IV") -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.step_label = QLabel("")
        self.step_label.setObjectName("stepIndicator")
        self.step_label.setWordWrap(True)
        layout.addWidget(self.step_label)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        #: (title, page, action run when the step is shown)
        self.steps: list[tuple[str, QWidget, Callable[[], None]]] = []

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
        self._add_step("Fasting, escort and medication changes", page)

        page, col = self._page()
        cgrid = QGridLayout()
        cgrid.setContentsMargins(0, 0, 0, 0)
        self.concomitant: dict[str, QCheckBox] = {}
        for n, key in enumerate(CONCOMITANT_KEYS):
            row, cb = check_row(CONCOMITANT_LABELS[key])
            self.concomitant[key] = cb
            cgrid.addWidget(row, n // 2, n % 2)  # two columns: five rows would not fit a laptop screen
        col.addLayout(cgrid)
        self._add_step("Taking now (REMS): tick what applies", page)

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
        self._add_step("Baseline vitals (live monitor) and notes", page)

        self.gad7 = ScaleForm(scales.get("gad7"))
        self.phq9 = ScaleForm(scales.get("phq9"))
        for sf in (self.gad7, self.phq9):
            sf.title_label.setVisible(False)  # the step indicator names the questionnaire
            page, col = self._page()
            col.addWidget(sf)
            n_items = len(sf.scale.items)
            for first in range(0, n_items, ITEMS_PER_STEP):
                last = min(first + ITEMS_PER_STEP, n_items)
                self._add_step(f"{sf.scale.title} (optional), questions {first + 1}-{last} of {n_items}", page,
                               lambda sf=sf, a=first, b=last: sf.show_items(a, b))

        self.error_label = QLabel()
        self.error_label.setObjectName("reason")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        nav = QHBoxLayout()
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
        self.step = 0
        self.go(0)

    @staticmethod
    def _page() -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        return page, col

    def _add_step(self, title: str, page: QWidget, on_show: Callable[[], None] = lambda: None) -> None:
        if self.pages.indexOf(page) < 0:
            page.layout().addStretch(1)  # type: ignore[union-attr]  # each page is built with a layout
            self.pages.addWidget(page)
        self.steps.append((title, page, on_show))

    def go(self, step: int) -> None:
        """Show step ``step`` (clamped); Save is offered on the last step, Next before it."""
        self.step = max(0, min(step, len(self.steps) - 1))
        title, page, on_show = self.steps[self.step]
        on_show()
        self.pages.setCurrentWidget(page)
        self.step_label.setText(f"Step {self.step + 1} of {len(self.steps)}: {title}")
        last = self.step == len(self.steps) - 1
        self.back_button.setEnabled(self.step > 0)
        self.next_button.setVisible(not last)
        self.save_button.setVisible(last)

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
                raise ValueError("; ".join(problems))
            out.append(("questionnaire", questionnaire_data(sf.scale, sf.result(), timing="before")))
        return out

    def warnings(self) -> list[str]:
        """Checks answered "no": recorded as such, but the clinician should see them before dosing."""
        words = [(self.identity, "identity not confirmed"), (self.consent, "no consent on file"),
                 (self.fasting, "not fasting"), (self.escort, "no escort arranged")]
        return [w for cb, w in words if not cb.isChecked()]

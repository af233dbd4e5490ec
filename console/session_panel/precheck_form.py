"""Pre-treatment checks: identity, consent, fasting, escort, medication changes, concomitant medicines,
baseline vitals from the live monitor, and the GAD-7 / PHQ-9 questionnaires (auto-scored, item-9 flag at once)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGroupBox, QGridLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from console.clinical.entries import CONCOMITANT_LABELS, precheck_data, questionnaire_data
from console.clinical.entry_model import CONCOMITANT_KEYS
from console.clinical.scales import ScaleLibrary
from console.clinical.vitals import bp_from_snapshot, snapshot_value, vitals_snapshot
from devices import mdc
from widgets.scale_form import ScaleForm
from widgets.form_util import enlarge_labels


class PrecheckForm(QWidget):
    """The form; :meth:`collect` returns the entries to store, or raises ``ValueError`` (fields kept)."""

    save_requested = Signal()

    def __init__(self, scales: ScaleLibrary, parent: QWidget | None = None, *, route: str = "IV") -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        checks = QGroupBox("Checks")
        grid = QGridLayout(checks)
        self.identity = QCheckBox("Identity confirmed")
        self.consent = QCheckBox("Consent on file")
        self.fasting = QCheckBox("Fasting as instructed")
        self.escort = QCheckBox("Escort / transport home arranged")
        for n, cb in enumerate((self.identity, self.consent, self.fasting, self.escort)):
            grid.addWidget(cb, n, 0)
        layout.addWidget(checks)
        form = QFormLayout()
        self.medication_changes = QLineEdit()
        self.medication_changes.setPlaceholderText("none")
        self.iv_site = QLineEdit()
        self.iv_site.setPlaceholderText("e.g. left antecubital")
        form.addRow("Medication changes", self.medication_changes)
        if route == "IV":
            form.addRow("IV site", self.iv_site)
        self.notes = QLineEdit()
        form.addRow("Notes", self.notes)
        enlarge_labels(form)
        layout.addLayout(form)
        conc = QGroupBox("Taking now (REMS)")
        cgrid = QGridLayout(conc)
        self.concomitant: dict[str, QCheckBox] = {}
        for n, key in enumerate(CONCOMITANT_KEYS):
            cb = QCheckBox(CONCOMITANT_LABELS[key])
            self.concomitant[key] = cb
            cgrid.addWidget(cb, n, 0)
        layout.addWidget(conc)

        vit = QGroupBox("Baseline vitals (live monitor)")
        vl = QVBoxLayout(vit)
        self.vitals_label = QLabel("no vitals yet")
        self.vitals_label.setObjectName("baselineVitals")
        f = self.vitals_label.font()
        f.setPointSize(14)
        self.vitals_label.setFont(f)
        vl.addWidget(self.vitals_label)
        self.take_bp_button = QPushButton("Take BP now (F6)")
        vl.addWidget(self.take_bp_button)
        layout.addWidget(vit)

        self.gad7 = ScaleForm(scales.get("gad7"))
        self.phq9 = ScaleForm(scales.get("phq9"))
        for sf in (self.gad7, self.phq9):
            box = QGroupBox(sf.scale.title)
            QVBoxLayout(box).addWidget(sf)
            layout.addWidget(box)
        self.error_label = QLabel()
        self.error_label.setObjectName("reason")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.save_button = QPushButton("Save pre-check")
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save_requested)
        layout.addWidget(self.save_button)
        #: parts already stored, so a retry after a storage failure does not store them twice
        self.saved: set[str] = set()

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

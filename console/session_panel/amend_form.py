"""Correcting an entry: the original stays in the record; the amendment holds the reason and corrected data.

A rating is corrected by answering the scale again (prefilled with the original answers), a note by editing
its text; any other entry takes a written correction added to its data.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.clinical import entry_model
from console.clinical._common import field
from console.clinical.entries import note_data, observation_data
from console.clinical.scales import ScaleLibrary
from console.session_panel.summary import entry_summary
from widgets.form_util import enlarge_labels
from widgets.scale_form import ScaleForm

#: kinds the record refuses to amend (the entry model's list: signatures, amendments, checkpoints, breaks)
NOT_AMENDABLE: frozenset[str] = frozenset(str(k) for k in entry_model.NOT_AMENDABLE)
MIN_REASON = 5


class AmendForm(QWidget):
    """Form for one correction; :meth:`amendment` returns ``(reason, data)`` or raises ``ValueError``."""

    def __init__(self, entry: Any, scales: ScaleLibrary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.kind = field(entry, "kind")
        self.original: dict[str, Any] = dict(field(entry, "data") or {})
        layout = QVBoxLayout(self)
        orig = QLabel("Original: " + entry_summary(entry).strip())
        orig.setWordWrap(True)
        orig.setObjectName("amendOriginal")
        f = orig.font()
        f.setPointSize(12)
        orig.setFont(f)
        layout.addWidget(orig)
        form = QFormLayout()
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why the entry is corrected (required)")
        form.addRow("Reason", self.reason)
        self.scale_form: ScaleForm | None = None
        self.text: QLineEdit | None = None
        scale_id = self.original.get("scale")
        if self.kind in ("observation", "questionnaire") and isinstance(scale_id, str) and scale_id in scales:
            self.scale_form = ScaleForm(scales.get(scale_id), baseline_total=self.original.get("baseline_total"))
            self.scale_form.set_values({k: v for k, v in (self.original.get("items") or {}).items()})
        else:
            self.text = QLineEdit(self.original.get("text", "") if self.kind == "note" else "")
            if self.kind != "note":
                self.text.setPlaceholderText("the correction: what was wrong and what is right")
            form.addRow("Note" if self.kind == "note" else "Correction", self.text)
        enlarge_labels(form)
        layout.addLayout(form)
        if self.scale_form is not None:
            layout.addWidget(self.scale_form)
        layout.addStretch(1)

    def amendment(self) -> tuple[str, dict[str, Any]]:
        reason = self.reason.text().strip()
        if len(reason) < MIN_REASON:
            raise ValueError(f"a correction needs a reason (at least {MIN_REASON} characters)")
        if self.scale_form is not None:
            res = self.scale_form.result()
            data = observation_data(self.scale_form.scale, res, vitals=self.original.get("vitals"),
                                    baseline_total=self.original.get("baseline_total"),
                                    point=self.original.get("point"))
            if self.kind == "questionnaire":
                data.pop("vitals", None)
                data["timing"] = self.original.get("timing", "before")
            return reason, data
        assert self.text is not None
        if self.kind == "note":
            return reason, note_data(self.text.text())
        correction = self.text.text().strip()
        if not correction:
            raise ValueError("write the correction")
        return reason, dict(self.original, correction=correction)

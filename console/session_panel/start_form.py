"""Start-session form: patient, protocol and weight, with the dose shown as soon as it can be computed."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.clinical.protocols import DosePlan, Protocol, ProtocolLibrary
from console.session.controller import age_in_years
from widgets.form_util import enlarge_labels

DEFAULT_PROTOCOL = "iv-ketamine-0.5"


@dataclass(frozen=True, slots=True)
class StartRequest:
    """What the form collected, validated."""

    patient_code: str
    name: str | None
    birth_date: _dt.date | None
    sex: str | None
    weight_kg: float | None
    protocol: Protocol
    plan: DosePlan
    chair: str


#: age in whole years on a day (one implementation, shared with the session controller)
age_on = age_in_years


class StartSessionForm(QWidget):
    """Emits :attr:`start_requested` with a :class:`StartRequest` when the Start button is pressed and valid."""

    start_requested = Signal(object)

    def __init__(self, protocols: ProtocolLibrary, parent: QWidget | None = None, *, chair: str = "") -> None:
        super().__init__(parent)
        self.protocols = protocols
        layout = QVBoxLayout(self)
        title = QLabel("Start a session")
        title.setObjectName("sessionTitle")
        layout.addWidget(title)
        form = QFormLayout()
        layout.addLayout(form)
        self.code = QLineEdit()
        self.code.setPlaceholderText("clinic patient code (required)")
        self.name = QLineEdit()
        self.birth_known = QCheckBox("known")
        self.birth = QDateEdit(QDate(1970, 1, 1))
        self.birth.setDisplayFormat("yyyy-MM-dd")
        self.birth.setEnabled(False)
        self.birth_known.toggled.connect(self.birth.setEnabled)
        birth_row = QWidget()
        br = QHBoxLayout(birth_row)
        br.setContentsMargins(0, 0, 0, 0)
        br.addWidget(self.birth_known)
        br.addWidget(self.birth, 1)
        self.sex = QComboBox()
        self.sex.addItems(["", "F", "M", "X"])
        self.weight = QLineEdit()
        self.weight.setPlaceholderText("kg")
        self.protocol = QComboBox()
        # the closed box may be narrower than a long title (it must never push the form past the panel's
        # edge); the full title is always shown, wrapped, just below it
        self.protocol.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.protocol.setMinimumContentsLength(12)
        for p in protocols:
            self.protocol.addItem(p.title, p.id)
        self.protocol_title = QLabel()
        self.protocol_title.setObjectName("protocolTitle")
        self.protocol_title.setWordWrap(True)
        # the commonest session first; a clinic can still pick any other template
        default = self.protocol.findData(DEFAULT_PROTOCOL)
        if default >= 0:
            self.protocol.setCurrentIndex(default)
        self.concentration = QLineEdit()
        self.concentration.setPlaceholderText("mg/mL")
        self.chair = QLineEdit(chair)
        form.addRow("Patient code", self.code)
        form.addRow("Name", self.name)
        form.addRow("Birth date", birth_row)
        form.addRow("Sex", self.sex)
        form.addRow("Weight (kg)", self.weight)
        form.addRow("Protocol", self.protocol)
        form.addRow("", self.protocol_title)
        form.addRow("Concentration", self.concentration)
        form.addRow("Chair", self.chair)
        enlarge_labels(form)
        self.dose_label = QLabel()
        self.dose_label.setObjectName("doseLabel")
        self.dose_label.setWordWrap(True)
        f = self.dose_label.font()
        f.setPointSize(15)
        f.setBold(True)
        self.dose_label.setFont(f)
        layout.addWidget(self.dose_label)
        self.error_label = QLabel()
        self.error_label.setObjectName("reason")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.start_button = QPushButton("Start session")
        self.start_button.setObjectName("primary")
        layout.addWidget(self.start_button)
        layout.addStretch(1)

        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        for w in (self.weight, self.concentration):
            w.textChanged.connect(self.update_dose)
        self.start_button.clicked.connect(self._start)
        self._protocol_changed()

    def selected_protocol(self) -> Protocol:
        return self.protocols.get(self.protocol.currentData())

    def _protocol_changed(self) -> None:
        p = self.selected_protocol()
        self.protocol_title.setText(p.title)
        conc = p.dose.get("concentration_mg_per_ml")
        self.concentration.setText("" if conc is None else f"{conc:g}")
        needs_weight = not p.uses_devices
        self.weight.setEnabled(True)
        self.concentration.setEnabled(needs_weight)
        self.update_dose()

    def _number(self, edit: QLineEdit) -> float | str | None:
        text = edit.text().strip().replace(",", ".")
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return text

    def plan(self) -> DosePlan:
        """The dose for the values typed; ``ValueError`` with the reason when they do not make one."""
        p = self.selected_protocol()
        if p.uses_devices:
            return p.plan()
        weight = self._number(self.weight)
        if isinstance(weight, str):
            raise ValueError(f"weight {weight!r} is not a number")
        conc = self._number(self.concentration)
        if isinstance(conc, str):
            raise ValueError(f"concentration {conc!r} is not a number")
        return p.plan(weight, concentration_mg_per_ml=conc)

    def update_dose(self) -> None:
        try:
            self.dose_label.setText("Dose: " + self.plan().summary())
            self.dose_label.setStyleSheet("")
        except ValueError as exc:
            self.dose_label.setText(f"Dose: {exc}")
            self.dose_label.setStyleSheet("color: #f5c400;")

    def request(self) -> StartRequest:
        """Validate the form; ``ValueError`` naming the first problem."""
        code = self.code.text().strip()
        if not code:
            raise ValueError("enter the patient code")
        plan = self.plan()
        weight = self._number(self.weight)
        if isinstance(weight, str):
            raise ValueError(f"weight {weight!r} is not a number")
        picked = self.birth.date().toPython() if self.birth_known.isChecked() else None
        birth = picked if isinstance(picked, _dt.date) else None
        return StartRequest(code, self.name.text().strip() or None, birth, self.sex.currentText() or None,
                            weight, self.selected_protocol(), plan, self.chair.text().strip())

    def _start(self) -> None:
        try:
            req = self.request()
        except ValueError as exc:
            self.error_label.setText(str(exc)[0].upper() + str(exc)[1:])
            return
        self.error_label.setText("")
        self.start_requested.emit(req)

    def details(self, req: StartRequest, today: _dt.date) -> dict[str, Any]:
        """Session details recorded at start: the effective protocol, the dose plan, weight and age."""
        return {"protocol_tag": req.protocol.version_tag, "protocol": req.protocol.to_dict(),
                "dose_plan": req.plan.as_dict(), "weight_kg": req.weight_kg,
                "age_years": age_on(req.birth_date, today)}

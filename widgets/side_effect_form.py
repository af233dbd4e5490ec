"""Entry form for a side effect: what, when it began, CTCAE grade, the intervention and the outcome.

The form never loses what was typed: :meth:`SideEffectForm.data` validates through
:func:`console.clinical.entries.side_effect_data` and raises ``ValueError`` with a plain message, leaving every
field as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from console.clinical.entries import side_effect_data
from console.clinical.entry_model import OUTCOMES
from console.clinical.side_effects import Catalogue
from widgets.form_util import enlarge_labels
from widgets.tap_row import TapRow

BIG = ("QPushButton { min-height: 44px; min-width: 44px; font-size: 13pt; } "
       "QPushButton:checked { background-color: #1f6feb; color: white; } "
       "QRadioButton { font-size: 12pt; min-height: 44px; }")


def _datetime_edit(t: float) -> QDateTimeEdit:
    edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(t)))
    edit.setDisplayFormat("HH:mm  dd MMM")
    edit.setCalendarPopup(False)
    return edit


class SideEffectForm(QWidget):
    """Side-effect entry built from the catalogue, filtered for the protocol's ``route``."""

    def __init__(self, catalogue: Catalogue, route: str | None = None, parent: QWidget | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.catalogue = catalogue
        self.clock = clock
        self.setStyleSheet(BIG)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        # in a narrow side panel a row whose field needs the width goes under its label, never off the edge
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)

        self.effect = QComboBox()
        self.effect.setEditable(True)  # anything not in the list can be typed
        self.effect.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.effect.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.effect.setMinimumContentsLength(12)  # the list opens as wide as its longest name
        for e in catalogue.for_route(route):
            self.effect.addItem(e.label, e.id)
        self.effect.setCurrentIndex(-1)
        editor = self.effect.lineEdit()
        assert editor is not None  # an editable combo box always has its line edit
        editor.setPlaceholderText("Choose or type the side effect")
        form.addRow("Side effect", self.effect)

        now = clock()
        self.onset = _datetime_edit(now)
        form.addRow("Onset", self.onset)

        grades = QWidget()
        row = QGridLayout(grades)
        row.setContentsMargins(0, 0, 0, 0)
        self.grade_group = QButtonGroup(self)
        self.grade_buttons: dict[int, QPushButton] = {}
        for g in (1, 2, 3, 4):
            label, description = catalogue.grades.get(g, (str(g), ""))
            b = QPushButton(f"{g} {label}")
            b.setCheckable(True)
            b.setToolTip(description)
            b.setObjectName(f"grade_{g}")
            self.grade_group.addButton(b, g)
            self.grade_buttons[g] = b
            row.addWidget(b, (g - 1) // 2, (g - 1) % 2)
        form.addRow("CTCAE grade", grades)
        self.grade_hint = QLabel("")
        self.grade_hint.setWordWrap(True)
        form.addRow("", self.grade_hint)
        self.grade_group.idClicked.connect(
            lambda g: self.grade_hint.setText(catalogue.grades.get(g, ("", ""))[1]))

        kinds = QWidget()
        krow = QHBoxLayout(kinds)
        krow.setContentsMargins(0, 0, 0, 0)
        self.kind_group = QButtonGroup(self)
        self.kind_none = QRadioButton("None")
        self.kind_drug = QRadioButton("Drug")
        self.kind_other = QRadioButton("Non-drug")
        for n, rb in enumerate((self.kind_none, self.kind_drug, self.kind_other)):
            self.kind_group.addButton(rb, n)
            krow.addWidget(TapRow(rb))  # a third of the row each: a gloved tap need not hit the small circle
        self.kind_none.setChecked(True)
        form.addRow("Intervention", kinds)

        drug_page = QWidget()
        dform = QFormLayout(drug_page)
        dform.setContentsMargins(0, 0, 0, 0)
        self.drug = QComboBox()
        self.drug.setEditable(True)
        for d in catalogue.drug_interventions:
            self.drug.addItem(d.drug, (d.dose, d.route))
        self.drug.setCurrentIndex(-1)
        self.drug.currentIndexChanged.connect(self._drug_chosen)
        self.dose = QLineEdit()
        self.dose.setPlaceholderText("e.g. 4 mg")
        self.route = QComboBox()
        self.route.setEditable(True)
        self.route.addItems(list(catalogue.routes))
        self.route.setCurrentIndex(-1)
        self.drug_time = _datetime_edit(now)
        dform.addRow("Drug", self.drug)
        dform.addRow("Dose", self.dose)
        dform.addRow("Route", self.route)
        dform.addRow("Given at", self.drug_time)
        self.drug_pane = drug_page
        other_page = QWidget()
        oform = QFormLayout(other_page)
        oform.setContentsMargins(0, 0, 0, 0)
        self.action = QComboBox()
        self.action.setEditable(True)
        self.action.addItems(list(catalogue.non_drug_interventions))
        self.action.setCurrentIndex(-1)
        self.action_time = _datetime_edit(now)
        oform.addRow("Action", self.action)
        oform.addRow("At", self.action_time)
        self.non_drug_pane = other_page
        self.kind_group.idClicked.connect(self._show_kind)
        form.addRow(drug_page)
        form.addRow(other_page)
        self._show_kind(0)
        enlarge_labels(dform)
        enlarge_labels(oform)

        self.outcome = QComboBox()
        self.outcome.addItems(list(catalogue.outcomes or OUTCOMES))
        self.outcome.setCurrentText("ongoing")
        form.addRow("Outcome", self.outcome)
        self.notes = QLineEdit()
        form.addRow("Notes", self.notes)
        enlarge_labels(form)

    def _show_kind(self, kind: int) -> None:
        self.drug_pane.setVisible(kind == 1)
        self.non_drug_pane.setVisible(kind == 2)

    def _drug_chosen(self, index: int) -> None:
        data = self.drug.itemData(index)
        if data:
            dose, route = data
            if dose and not self.dose.text():
                self.dose.setText(dose)
            if route and not self.route.currentText():
                self.route.setCurrentText(route)

    # -- API -------------------------------------------------------------------------------------------------
    def set_effect(self, text_or_id: str) -> None:
        """Choose an effect by catalogue id or label, or type a free one."""
        idx = self.effect.findData(text_or_id)
        if idx < 0:
            idx = self.effect.findText(text_or_id, Qt.MatchFlag.MatchFixedString)
        if idx >= 0:
            self.effect.setCurrentIndex(idx)
        else:
            self.effect.setEditText(text_or_id)

    def set_grade(self, grade: int) -> None:
        self.grade_buttons[grade].setChecked(True)
        self.grade_hint.setText(self.catalogue.grades.get(grade, ("", ""))[1])

    def set_intervention(self, kind: str) -> None:
        """``"none"``, ``"drug"`` or ``"non_drug"``."""
        rb = {"none": self.kind_none, "drug": self.kind_drug, "non_drug": self.kind_other}[kind]
        rb.setChecked(True)
        self._show_kind(self.kind_group.id(rb))

    def effect_name(self) -> str:
        return self.effect.currentText().strip()

    def data(self) -> dict[str, Any]:
        """The entry data; ``ValueError`` with a plain message when a field is wrong (fields stay as typed)."""
        grade = self.grade_group.checkedId()
        if grade == -1:
            raise ValueError("choose a grade (1 mild, 2 moderate, 3 severe, 4 life-threatening)")
        kind = self.kind_group.checkedId()
        intervention: dict[str, Any] | None = None
        if kind == 1:
            intervention = {"type": "drug", "drug": self.drug.currentText(), "dose": self.dose.text(),
                            "route": self.route.currentText(),
                            "time": float(self.drug_time.dateTime().toSecsSinceEpoch())}
        elif kind == 2:
            intervention = {"type": "non_drug", "action": self.action.currentText(),
                            "time": float(self.action_time.dateTime().toSecsSinceEpoch())}
        data = side_effect_data(self.effect_name(), onset=float(self.onset.dateTime().toSecsSinceEpoch()),
                                grade=grade, intervention=intervention, outcome=self.outcome.currentText(),
                                notes=self.notes.text())
        idx = self.effect.findText(self.effect_name(), Qt.MatchFlag.MatchFixedString)
        if idx >= 0 and self.effect.itemData(idx):
            data["effect_id"] = self.effect.itemData(idx)
        return data

"""Small helpers shared by the entry forms."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel

#: readable from the chair at arm's length; the dark palette's default (9 pt) is too small
FORM_LABEL_PT = 12


def enlarge_labels(form: QFormLayout, point_size: int = FORM_LABEL_PT) -> None:
    """Set the font size of every row label of ``form`` (call after the rows are added)."""
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        label = item.widget() if item is not None else None
        if isinstance(label, QLabel):
            f = label.font()
            f.setPointSize(point_size)
            label.setFont(f)

"""A read-only table of record entries (rows prepared elsewhere), marking late entries and amendments.

Rows are plain text cells; ``kinds`` says per row whether it is an ``"amendment"`` (indented, tinted), an
``"amended"`` original (tinted, never hidden) or ``""``. Nothing in the table can be edited.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

AMENDMENT_BG = "#3a3000"
AMENDED_BG = "#2a2a12"
LATE_FG = "#ffb84d"


class EntryTable(QTableWidget):
    """Read-only entry log table."""

    def __init__(
        self, columns: Sequence[str], *, stretch_column: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(0, len(columns), parent)
        self.setHorizontalHeaderLabels(list(columns))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if stretch_column is not None:
            header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        self._late_column: int | None = None

    def set_rows(
        self,
        rows: Sequence[Sequence[str]],
        kinds: Sequence[str] = (),
        late: Sequence[bool] = (),
        tooltips: Sequence[str] = (),
    ) -> None:
        """Replace the contents. ``kinds``/``late``/``tooltips`` are per row (may be empty)."""
        self.setRowCount(len(rows))
        for r, cells in enumerate(rows):
            kind = kinds[r] if r < len(kinds) else ""
            is_late = late[r] if r < len(late) else False
            tip = tooltips[r] if r < len(tooltips) else ""
            for c, text in enumerate(cells):
                shown = ("    \u21b3 " + text) if kind == "amendment" and c == 0 else text
                item = QTableWidgetItem(shown)
                if kind == "amendment":
                    item.setBackground(QBrush(QColor(AMENDMENT_BG)))
                elif kind == "amended":
                    item.setBackground(QBrush(QColor(AMENDED_BG)))
                if is_late:
                    item.setForeground(QBrush(QColor(LATE_FG)))
                if tip:
                    item.setToolTip(tip)
                self.setItem(r, c, item)

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return "" if item is None else item.text()

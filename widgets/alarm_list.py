"""The session's alarm list: every alarm with start/end times, priority, parameter, value, limit and who
acknowledged it, newest first, with per-alarm acknowledgement.

It sits in a narrow column beside the NIBP tile (about 300 px), so each alarm is one two-line row in four
columns (priority, time, what and limit, who acknowledged) rather than eight columns that only scroll into
view: everything a clinician needs is visible without scrolling sideways.

A view of :meth:`console.alarms.AlarmEngine.history`; :meth:`AlarmList.refresh` (from the app's display timer)
rebuilds the table only when the engine's ``revision`` moved, so an unchanged list costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.alarms import AlarmEngine
from console.alarms.model import Alarm, priority_name
from console.alarms.presentation import style_for
from console.clinical.units import display_unit

COLUMNS: tuple[str, ...] = ("Priority", "Time", "Alarm", "Ack by")


def _clock(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def _value_text(a: Alarm) -> str:
    if a.reading:  # one NIBP condition: the whole latest reading
        return f"{a.reading} {a.unit}"
    if a.value is None:
        return ""
    text = f"{_num(a.value)} {display_unit(a.unit)}".strip()
    if a.worst_value is not None and a.worst_value != a.value:
        text += f" (worst {_num(a.worst_value)})"
    return text


def _end_text(a: Alarm) -> str:
    if a.ended is None:
        return "active"
    return _clock(a.ended) + (" (latched)" if a.latched else "")


class AlarmTableModel(QAbstractTableModel):
    """Rows are the engine's alarms, newest first."""

    def __init__(self, engine: AlarmEngine, parent: Any = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._rows: list[Alarm] = []
        self._revision = -1

    def sync(self) -> bool:
        """Re-read the engine if it changed; returns True when the rows were rebuilt."""
        if self._engine.revision == self._revision:
            return False
        self.beginResetModel()
        self._rows = list(reversed(self._engine.history()))
        self._revision = self._engine.revision
        self.endResetModel()
        return True

    def alarm_at(self, row: int) -> Alarm | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # Qt's own signature: QModelIndex() is an immutable invalid index, so a shared default is harmless
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        a = self.alarm_at(index.row())
        if a is None:
            return None
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "Priority":
                return priority_name(a.priority).upper() + ("\nINOP" if a.technical else "")
            if col == "Time":
                return f"{_clock(a.started)}\n→ {_end_text(a)}"
            if col == "Alarm":
                what = " ".join(p for p in (a.parameter + (f" ({a.source})" if a.source else ""),
                                            _value_text(a)) if p)
                return f"{what}\n{('limit ' + a.limit_text) if a.limit_text else a.message}"
            if col == "Ack by":
                return f"{a.acknowledged_by}\n{_clock(a.acknowledged_at)}" if a.acknowledged_by else "—"
        if col == "Priority" and role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            style = style_for(a.priority, a.technical)
            colour = style.background if role == Qt.ItemDataRole.BackgroundRole else style.foreground
            return QBrush(QColor(colour))
        if role == Qt.ItemDataRole.ToolTipRole:
            return a.message
        return None


class AlarmList(QWidget):
    """Table of the session's alarms with an "Acknowledge selected" button (needs a signed-in user)."""

    acknowledged = Signal(int)

    def __init__(self, engine: AlarmEngine, *, user: Callable[[], str | None] = lambda: None,
                 clock: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._user = user
        self._clock = clock
        self.model = AlarmTableModel(engine, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Alarm"), QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._ack = QPushButton("Acknowledge selected")
        self._ack.setMinimumHeight(40)
        self._ack.clicked.connect(self.acknowledge_selected)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._ack)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the rows when the engine changed (keeps the selected alarm selected)."""
        selected = self.selected_alarm()
        if self.model.sync() and selected is not None:
            for row in range(self.model.rowCount()):
                a = self.model.alarm_at(row)
                if a is not None and a.id == selected.id:
                    self.table.selectRow(row)
                    break
        self._update_button()

    def selected_alarm(self) -> Alarm | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.alarm_at(rows[0].row()) if rows else None

    def row_texts(self) -> list[list[str]]:
        """What the table shows, row by row (for tests and the auditor's copy)."""
        m = self.model
        return [[m.data(m.index(r, c)) or "" for c in range(m.columnCount())] for r in range(m.rowCount())]

    def acknowledge_selected(self) -> bool:
        """Acknowledge the selected alarm as the signed-in user."""
        alarm, user = self.selected_alarm(), self._user()
        if alarm is None or not user:
            return False
        done = self._engine.acknowledge(alarm.id, user, self._clock())
        if done:
            self.acknowledged.emit(alarm.id)
        self.refresh()
        return done

    def _update_button(self) -> None:
        alarm, user = self.selected_alarm(), self._user()
        self._ack.setEnabled(bool(user) and alarm is not None and not alarm.acknowledged)
        self._ack.setToolTip("" if user else "Sign in to acknowledge (the record names who did it)")

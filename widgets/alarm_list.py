"""The session's alarm list: every alarm with its priority, parameter, value, limit, times and who
acknowledged it, newest first, with per-alarm acknowledgement.

It sits in the narrow space beside the NIBP tile: about 220 px wide at 1366x768 and 1280x800, about 450 px at
1920x1080. Columns in that space either scroll sideways or wrap into cells a few characters wide (issue 12: the
"Alarm" column was a 40 px cell). So each alarm is ONE row of one full-width cell in a compact layout, three
lines that wrap between words when the space is narrower still, with the priority as a coloured bar at the
left and as a word::

    HIGH · SpO2 (mon) 90 % (worst 84)
    limit < 88 · 06:39:16 → active
    ack nurse.kim 06:40:02

A view of :meth:`console.alarms.AlarmEngine.history`; :meth:`AlarmList.refresh` (from the app's display timer)
rebuilds the rows only when the engine's ``revision`` moved, so an unchanged list costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.alarms import AlarmEngine
from console.alarms.model import Alarm, priority_name
from console.alarms.presentation import style_for
from console.clinical.units import display_unit

#: one column: what each row says, line by line (see the module docstring)
COLUMNS: tuple[str, ...] = ("Alarm",)
#: width of the priority bar at the left of a row, and the gap between it and the words (px)
BAR_W, BAR_GAP = 8, 6
#: the role under which the model hands the delegate the colour of a row's priority bar
BAR_ROLE = Qt.ItemDataRole.UserRole + 1


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


def row_lines(a: Alarm) -> tuple[str, str, str]:
    """The three lines of one alarm's row: priority, parameter and value; limit and times; who acknowledged
    (or that nobody did, and that it stays shown until someone does)."""
    priority = priority_name(a.priority).upper() + (" INOP" if a.technical else "")
    what = " ".join(p for p in (a.parameter + (f" ({a.source})" if a.source else ""), _value_text(a)) if p)
    # a technical alarm's "limit" is its cause in words ("link lost", "sensor off"): said as such
    limit = (a.limit_text if a.technical else "limit " + a.limit_text) if a.limit_text else a.message
    times = f"{_clock(a.started)} → {'active' if a.ended is None else _clock(a.ended)}"
    if a.acknowledged_by:
        ack = f"ack {a.acknowledged_by} {_clock(a.acknowledged_at)}"
    else:
        ack = "not acknowledged" + (" (latched)" if a.latched else "")
    return f"{priority} · {what}", f"{limit} · {times}", ack


class AlarmTableModel(QAbstractTableModel):
    """Rows are the engine's alarms, newest first; one column holding each alarm's compact text."""

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
        if role == Qt.ItemDataRole.DisplayRole:
            return "\n".join(row_lines(a))
        if role == BAR_ROLE:
            style = style_for(a.priority, a.technical)
            return QColor(style.background)
        if role == Qt.ItemDataRole.ToolTipRole:
            return a.message
        return None


class _RowDelegate(QStyledItemDelegate):
    """Draws a row's words right of its priority bar; sizes the row for the words wrapped in what is left."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        colour = index.data(BAR_ROLE)
        rect: QRect = option.rect  # type: ignore[attr-defined]
        if isinstance(colour, QColor):
            painter.fillRect(QRect(rect.left() + 1, rect.top() + 2, BAR_W, rect.height() - 4), colour)
        shifted = QStyleOptionViewItem(option)
        shifted.rect = rect.adjusted(BAR_W + BAR_GAP, 0, 0, 0)  # type: ignore[attr-defined]
        super().paint(painter, shifted, index)

    def sizeHint(self, option: QStyleOptionViewItem,  # noqa: N802 (Qt name)
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        narrower = QStyleOptionViewItem(option)
        rect: QRect = option.rect  # type: ignore[attr-defined]
        narrower.rect = rect.adjusted(BAR_W + BAR_GAP, 0, 0, 0)  # type: ignore[attr-defined]
        size = super().sizeHint(narrower, index)
        return QSize(size.width() + BAR_W + BAR_GAP, size.height() + 2)


class AlarmList(QWidget):
    """Table of the session's alarms with an "Acknowledge selected" button (needs a signed-in user).

    The button takes its 44 px of this small space only while a selected alarm waits for an acknowledgement;
    the rest of the time the rows have the whole height (at 1366x768 that is the difference between one alarm
    and two readable at a glance). Selecting a row brings its top into view above the button."""

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
        self.table.setWordWrap(True)  # between words, never inside one (no elided "…" either)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setShowGrid(False)
        self.table.setFrameShape(QFrame.Shape.NoFrame)  # every pixel of this small space goes to the rows
        self.table.setItemDelegate(_RowDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setVisible(False)  # one column: its rows say what they are
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._ack = QPushButton("Acknowledge selected")
        self._ack.setMinimumHeight(44)  # a gloved fingertip (issue 12: touch targets of 44 px at least)
        self._ack.clicked.connect(self.acknowledge_selected)
        self._ack.setVisible(False)
        self._selected_id: int | None = None
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._ack)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
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
        """What the table shows, row by row and column by column (for tests and the auditor's copy)."""
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

    @property
    def ack_button(self) -> QPushButton:
        """The "Acknowledge selected" button (shown while a selected alarm can be acknowledged)."""
        return self._ack

    def _selection_changed(self) -> None:
        alarm = self.selected_alarm()
        self._update_button()
        new_id = alarm.id if alarm is not None else None
        if new_id != self._selected_id and new_id is not None:
            # the user picked another alarm (a rebuild that re-selects the same one does not scroll)
            rows = self.table.selectionModel().selectedRows()
            self.table.scrollTo(rows[0], QAbstractItemView.ScrollHint.PositionAtTop)
        self._selected_id = new_id

    def _update_button(self) -> None:
        alarm, user = self.selected_alarm(), self._user()
        waiting = alarm is not None and not alarm.acknowledged
        self._ack.setVisible(waiting)
        self._ack.setEnabled(bool(user) and waiting)
        self._ack.setToolTip("" if user else "Sign in to acknowledge (the record names who did it)")

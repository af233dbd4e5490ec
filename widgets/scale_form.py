"""Entry form for one rating scale or questionnaire, built from its definition.

Large answer buttons (one exclusive group per item) suit a touch screen at the chair; the running total, band,
subscales and flags update on every click, and an urgent flag (PHQ-9 item 9) appears the moment it is
answered, before the form is complete. For a one-item scale the digit keys pick the answer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.clinical.scales import Flag, Scale, ScaleResult
from widgets.tap_row import TapRow

URGENT_STYLE = ("background-color: #e8202a; color: #ffffff; font-weight: bold; font-size: 14pt; "
                "border-radius: 6px; padding: 8px;")
FLAG_STYLE = "background-color: #f5c400; color: #000000; font-weight: bold; border-radius: 6px; padding: 6px;"
#: narrower answer buttons beside the question (still at least 44x44 px)
#: most number buttons in one row (5 of them with their padding fit the side panel at 1366 px wide)
BUTTONS_PER_ROW = 5
COMPACT_STYLE = " QPushButton { padding: 2px 2px; min-width: 44px; }"
ANSWER_STYLE = ("QPushButton { min-height: 44px; min-width: 44px; padding: 4px 10px; font-size: 13pt; } "
                "QPushButton:checked { background-color: #1f6feb; color: #ffffff; font-weight: bold; }")


class ScaleForm(QWidget):
    """Answer buttons for every item of ``scale``; :meth:`result` scores it (raising ``ScoreError``)."""

    changed = Signal()

    def __init__(self, scale: Scale, parent: QWidget | None = None, *, baseline_total: int | None = None,
                 compact: bool = False) -> None:
        """``compact`` puts each question beside its answer buttons (a stepped form shows more per step)."""
        super().__init__(parent)
        self.scale = scale
        self.baseline_total = baseline_total
        self.groups: dict[str, QButtonGroup] = {}
        self.buttons: dict[tuple[str, int], QAbstractButton] = {}
        #: one widget per item, in order (see :meth:`show_items`)
        self.item_boxes: list[QWidget] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(ANSWER_STYLE + (COMPACT_STYLE if compact else ""))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        heading = scale.title if not scale.name else f"{scale.title}: {scale.name}"
        self.title_label = QLabel(heading)
        self.title_label.setWordWrap(True)
        f = self.title_label.font()
        f.setBold(True)
        f.setPointSize(13)
        self.title_label.setFont(f)
        layout.addWidget(self.title_label)
        if not scale.validated or scale.additional_only:
            warn = QLabel("Not validated: record it only in addition to a validated scale.")
            warn.setObjectName("notValidated")
            warn.setStyleSheet(FLAG_STYLE)
            warn.setWordWrap(True)
            layout.addWidget(warn)
        if scale.instructions:
            ins = QLabel(scale.instructions)
            ins.setWordWrap(True)
            layout.addWidget(ins)

        legend = self._legend(scale)
        if legend:
            leg = QLabel(legend)
            leg.setObjectName("scaleLegend")
            leg.setWordWrap(True)
            f = leg.font()
            f.setPointSize(12)
            f.setBold(True)
            leg.setFont(f)
            layout.addWidget(leg)

        for n, item in enumerate(scale.items, start=1):
            group = QButtonGroup(self)
            group.setExclusive(True)
            self.groups[item.id] = group
            box = QWidget(self)
            if scale.single and item.options:
                # one question with worded answers: a tall column, best answer first, as printed on the scale;
                # each answer is a whole-row radio button whose words wrap (a push button cut them off)
                col = QVBoxLayout(box)
                col.setContentsMargins(0, 0, 0, 0)
                col.setSpacing(0)
                for opt in item.options:
                    radio = QRadioButton(str(opt.value))
                    self._register(item.id, opt.value, radio, group)
                    col.addWidget(TapRow(radio, opt.label, box))
            else:
                grid = QHBoxLayout(box) if compact else QVBoxLayout(box)
                grid.setContentsMargins(0, 4, 0, 4)
                number = item.number if item.number is not None else n
                lab = QLabel(item.label if scale.single else f"{number}. {item.label}")
                lab.setWordWrap(True)
                f = lab.font()
                f.setPointSize(12)
                lab.setFont(f)
                grid.addWidget(lab, 1)
                # one row of number buttons per item; the words are in the legend above and in the tooltips,
                # so a 9-item questionnaire stays readable without scrolling through 36 worded buttons
                # a 0-10 scale is 11 finger-wide buttons: more than a side panel holds in one row, so long
                # scales wrap onto rows of at most BUTTONS_PER_ROW (the numbers stay in order, left to right)
                row = QGridLayout()
                row.setSpacing(4)
                values = [o.value for o in item.options] if item.options else list(range(item.min, item.max + 1))
                for i, value in enumerate(values):
                    b = self._button(item.id, value, str(value), group)
                    if item.options:
                        b.setToolTip(item.option_label(value))
                    row.addWidget(b, i // BUTTONS_PER_ROW, i % BUTTONS_PER_ROW)
                grid.addLayout(row)
            layout.addWidget(box)
            self.item_boxes.append(box)
            group.idClicked.connect(lambda _id: self._on_change())

        self.summary_label = QLabel()
        self.summary_label.setObjectName("scaleSummary")
        f = self.summary_label.font()
        f.setPointSize(14)
        f.setBold(True)
        self.summary_label.setFont(f)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        self.flag_label = QLabel()
        self.flag_label.setObjectName("scaleFlag")
        self.flag_label.setWordWrap(True)
        self.flag_label.setVisible(False)
        layout.addWidget(self.flag_label)
        self._refresh()

    @staticmethod
    def _legend(scale: Scale) -> str:
        """``"0 Not at all · 1 Several days · ..."`` when every item shares the same worded answers."""
        if scale.single or not scale.items[0].options:
            return ""
        first = scale.items[0].options
        if any(it.options != first for it in scale.items):
            return ""
        return "   ".join(f"{o.value} {o.label}" for o in first)

    def _button(self, item_id: str, value: int, text: str, group: QButtonGroup) -> QPushButton:
        b = QPushButton(text, self)
        b.setCheckable(True)
        b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._register(item_id, value, b, group)
        return b

    def _register(self, item_id: str, value: int, b: QAbstractButton, group: QButtonGroup) -> None:
        b.setObjectName(f"answer_{item_id}_{value}")
        # QButtonGroup ids must be unique ints; the value can be negative (RASS), so offset it
        group.addButton(b, value + 1000)
        self.buttons[(item_id, value)] = b

    def show_items(self, start: int = 0, stop: int | None = None) -> None:
        """Show only items ``start`` to ``stop`` (0-based, ``stop`` excluded): one step of a stepped form.
        Answers to hidden items are kept and still count."""
        for n, box in enumerate(self.item_boxes):
            box.setVisible(start <= n and (stop is None or n < stop))

    # -- values ----------------------------------------------------------------------------------------------
    def values(self) -> dict[str, int]:
        """Answers given so far: item id -> value."""
        out: dict[str, int] = {}
        for item_id, group in self.groups.items():
            checked = group.checkedId()
            if checked != -1:
                out[item_id] = checked - 1000
        return out

    def select(self, item_id: str, value: int) -> None:
        """Pick an answer (as a click would)."""
        button = self.buttons.get((str(item_id), int(value)))
        if button is None:
            raise KeyError(f"{self.scale.title} item {item_id} has no answer {value}")
        button.setChecked(True)
        self._on_change()

    def set_values(self, values: dict[str, int]) -> None:
        for item_id, value in values.items():
            b = self.buttons.get((str(item_id), int(value)))
            if b is not None:
                b.setChecked(True)
        self._on_change()

    def clear(self) -> None:
        for group in self.groups.values():
            group.setExclusive(False)
            for b in group.buttons():
                b.setChecked(False)
            group.setExclusive(True)
        self._on_change()

    def is_complete(self) -> bool:
        return len(self.values()) == len(self.scale.items)

    def is_empty(self) -> bool:
        return not self.values()

    def problems(self) -> list[str]:
        return self.scale.problems(self.values())

    def result(self) -> ScaleResult:
        """Score the answers; ``ScoreError`` (a ``ValueError``) lists what is missing."""
        return self.scale.score(self.values(), self.baseline_total)

    def set_baseline(self, total: int | None) -> None:
        self.baseline_total = total
        self._refresh()

    # -- display ---------------------------------------------------------------------------------------------
    def current_flags(self) -> list[Flag]:
        """Flags of the answers so far: item flags at once, total-based flags once complete."""
        if self.is_complete():
            return list(self.result().flags)
        return self.scale.partial_flags(self.values())

    def _on_change(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        vals = self.values()
        if self.scale.single:
            item_id = self.scale.items[0].id
            text = f"{self.scale.title}: {vals[item_id]}" if item_id in vals else f"{self.scale.title}: not answered"
        else:
            answered = len(vals)
            total = sum(vals.values())
            text = f"Total {total} (of {self.scale.max_total})"
            if answered < len(self.scale.items):
                text += f": {answered} of {len(self.scale.items)} answered"
            else:
                res = self.result()
                if res.band:
                    text += f": {res.band}"
                if res.subscales:
                    text += " | " + ", ".join(f"{k} {v}" for k, v in res.subscales.items())
        self.summary_label.setText(text)
        flags = self.current_flags()
        if flags:
            self.flag_label.setText("\n".join(f.message for f in flags))
            self.flag_label.setStyleSheet(URGENT_STYLE if any(f.urgent for f in flags) else FLAG_STYLE)
            self.flag_label.setVisible(True)
        else:
            self.flag_label.setVisible(False)
            self.flag_label.setText("")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        # digits answer a one-item scale quickly (MOAA/S "5")
        text = event.text()
        if self.scale.single and text.isdigit():
            item = self.scale.items[0]
            value = int(text)
            if (item.id, value) in self.buttons:
                self.select(item.id, value)
                return
        super().keyPressEvent(event)

"""One chair on the central board: who, where in the session, the key numbers, and its worst alarm.

The tile takes a Qt-free :class:`console.board.BoardChair` and a flash phase; it never reads a database. Its
fonts follow its height, so 4 chairs on a 1920×1080 screen and 16 on a 1366×768 laptop are both readable, and
long texts wrap rather than being cut.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.alarms.presentation import TECHNICAL_BACKGROUND, TECHNICAL_FOREGROUND, flash_on, style_for
from console.board.board import BoardChair, chair_title
from devices import mdc
from devices.model import AlarmPriority

#: the numbers a charge nurse scans for, in tile order: label, MDC codes tried in turn, decimals
TILE_NUMERICS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("HR", (mdc.HEART_RATE, mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE)),
    ("SpO₂", (mdc.SPO2,)),
    ("NIBP", (mdc.NIBP_SYS,)),
    ("RR", (mdc.RESP_RATE, mdc.AWAY_RESP_RATE)),
)
#: numerics older than this are greyed (NIBP is measured every few minutes, so it gets longer)
STALE_S = 30.0
NIBP_STALE_S = 900.0
_PRIORITY = {"high": AlarmPriority.HIGH, "medium": AlarmPriority.MEDIUM, "low": AlarmPriority.LOW}
BACKGROUND = "#0b0f14"
TEXT = "#e8e8e8"
DIM = "#9aa3ad"
STALE = "#6b7178"
OVERDUE = "#f5c400"


class ChairTile(QFrame):
    """A chair's tile; :meth:`show_chair` updates it, clicks emit :attr:`clicked` with the chair name."""

    clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chairTile")
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(3)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(300, 150)
        self._chair = ""
        self._sheet = ""
        self._colours: dict[str, tuple[str, str | None]] = {}
        self.title = self._label("title", bold=True)
        self.patient = self._label("patient")
        self.phase = self._label("phase", wrap=True)
        self.alarm = self._label("alarm", bold=True, wrap=True)
        self.footer = self._label("footer", wrap=True)
        self.values: dict[str, QLabel] = {}
        grid = self._grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(0)
        for col, (name, _codes) in enumerate(TILE_NUMERICS):
            head = self._label(f"head_{name}")
            head.setText(name)
            value = self._label(f"value_{name}", bold=True)
            # the name sits right on top of its number (the grid's spare height goes above and below the pair)
            grid.addWidget(head, 0, col, Qt.AlignmentFlag.AlignBottom)
            grid.addWidget(value, 1, col, Qt.AlignmentFlag.AlignTop)
            self.values[name] = value
        top = QGridLayout()
        top.addWidget(self.title, 0, 0)
        top.addWidget(self.patient, 0, 1, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.phase)
        layout.addLayout(grid, 1)
        layout.addWidget(self.alarm)
        layout.addWidget(self.footer)
        for label in self.findChildren(QLabel):
            self._colour(label, DIM if label in (self.patient, self.phase, self.footer) else TEXT)
        self.alarm.setContentsMargins(6, 2, 6, 2)

    def _label(self, name: str, *, bold: bool = False, wrap: bool = False) -> QLabel:
        label = QLabel("", self)
        label.setObjectName(name)
        label.setWordWrap(wrap)
        font = label.font()
        font.setBold(bold)
        label.setFont(font)
        return label

    @property
    def chair(self) -> str:
        return self._chair

    def show_chair(self, chair: BoardChair, flash_tick: int) -> None:
        """Show ``chair`` at flash phase ``flash_tick`` (the board's 125 ms counter)."""
        self._chair = chair.chair
        s = chair.status
        demo = " DEMO" if s is not None and s.demo else ""
        heading = (chair_title(chair.chair), f"{s.patient or '—'}{demo}" if s is not None else "")
        if heading != (self.title.text(), self.patient.text()):
            self.title.setText(heading[0])
            self.patient.setText(heading[1])
            self._fit_fonts()  # a longer name or code must still fit beside the title
        if s is None:
            self.phase.setText("status unreadable")
        else:
            detail = f" · {s.phase_detail}" if s.phase_detail else ""
            self.phase.setText(f"{s.phase.value.capitalize()}{detail}")
        for name, codes in TILE_NUMERICS:
            self.values[name].setText(self._value_text(chair, name, codes))
            self._colour(self.values[name], self._value_colour(chair, name, codes))
        top = chair.alarms[0] if chair.alarms else None
        self.alarm.setText(self._alarm_text(chair))
        foot: list[str] = []
        if s is not None and s.overdue:
            foot.append("OVERDUE: " + ", ".join(s.overdue))
        elif s is not None and s.next_check:
            foot.append(f"Next: {s.next_check}")
        lost = [name for name, state in (s.devices.items() if s is not None else ()) if state != "connected"]
        if lost:
            foot.append("Link: " + ", ".join(f"{n} {s.devices[n]}" for n in lost))  # type: ignore[union-attr]
        foot.append("offline" if not chair.online else f"updated {chair.age_s:.0f} s ago")
        self.footer.setText(" · ".join(foot))
        self._colour(self.footer, OVERDUE if s is not None and s.overdue else DIM)
        self._apply_alarm_colours(top.priority if top else None, bool(top and top.technical), flash_tick,
                                  chair.online)

    @staticmethod
    def _value_text(chair: BoardChair, name: str, codes: tuple[int, ...]) -> str:
        if not chair.online:
            return "—"
        for code in codes:
            n = chair.numeric(code)
            if n is None:
                continue
            if name == "NIBP":
                dia = chair.numeric(mdc.NIBP_DIA)
                return f"{n.value:.0f}/{dia.value:.0f}" if dia is not None else f"{n.value:.0f}/—"
            return f"{n.value:.0f}"
        return "—"

    @staticmethod
    def _value_colour(chair: BoardChair, name: str, codes: tuple[int, ...]) -> str:
        limit = NIBP_STALE_S if name == "NIBP" else STALE_S
        for code in codes:
            n = chair.numeric(code)
            if n is not None:
                return TEXT if chair.online and n.age_s <= limit else STALE
        return STALE

    @staticmethod
    def _alarm_text(chair: BoardChair) -> str:
        if not chair.alarms:
            return "No alarms"
        top = chair.alarms[0]
        more = f"  (+{len(chair.alarms) - 1} more)" if len(chair.alarms) > 1 else ""
        return f"{top.text}{more}"

    def _apply_alarm_colours(self, priority: str | None, technical: bool, tick: int, online: bool) -> None:
        # Why palettes and a cached style sheet: the board flashes up to 16 tiles at 8 ticks a second, and
        # re-applying a style sheet re-polishes every child widget (measured: a quarter of a core for 16 tiles).
        # The frame's sheet changes only with the alarm's priority; the flash only swaps the alarm label's
        # palette.
        if priority is None:
            border = "#262c33"
            alarm_bg, alarm_fg = BACKGROUND, DIM
        else:
            p = _PRIORITY[priority]
            style = style_for(p, technical)
            on = flash_on(p, tick, technical)
            alarm_bg, alarm_fg = (style.background, style.foreground) if on else (BACKGROUND, style.background)
            border = style.background
        if not online:
            alarm_bg, alarm_fg, border = TECHNICAL_BACKGROUND, TECHNICAL_FOREGROUND, TECHNICAL_BACKGROUND
        sheet = f"#chairTile {{ background: {BACKGROUND}; border: 4px solid {border}; border-radius: 6px; }}"
        if sheet != self._sheet:
            self._sheet = sheet
            self.setStyleSheet(sheet)
        self._colour(self.alarm, alarm_fg, alarm_bg)

    def _colour(self, label: QLabel, colour: str, background: str | None = None) -> None:
        key = (colour, background)
        if self._colours.get(label.objectName()) == key:
            return
        self._colours[label.objectName()] = key
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        if background is not None:
            label.setAutoFillBackground(True)
            palette.setColor(QPalette.ColorRole.Window, QColor(background))
        label.setPalette(palette)

    @property
    def alarm_colours(self) -> tuple[str, str | None]:
        """(text, background) colours of the alarm line as now shown (tests)."""
        return self._colours.get("alarm", (DIM, None))  # type: ignore[return-value]

    @property
    def border_colour(self) -> str:
        """The tile's border colour: the worst alarm's colour, technical blue when offline (tests)."""
        return self._sheet.split("solid ")[1].split(";")[0] if self._sheet else ""

    #: the widest numbers a tile shows, per column (fonts are chosen so that these fit, so a changing value
    #: never makes the font jump or the text run into the next column)
    WIDEST: ClassVar[dict[str, str]] = {"HR": "888", "SpO₂": "100", "NIBP": "288/188", "RR": "88"}

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit_fonts()

    def _fit_fonts(self) -> None:
        """Fonts as large as the tile allows, and never wider than it."""
        h = max(150, self.height())
        width = self.contentsRect().width() - 20  # the layout's side margins
        sizes = {"title": h * 0.11, "patient": h * 0.08, "phase": h * 0.075, "alarm": h * 0.085,
                 "footer": h * 0.065}
        for name, px in sizes.items():
            label = self.findChild(QLabel, name)
            if label is not None:
                self._pixel_font(label, px)
        # the title and the patient code share one line: shrink both until they fit it side by side
        self._fit_pair(self.title, self.patient, width)
        # the big numbers are as tall as the tile allows and no wider than it: one font for all four
        px = h * 0.2
        while px > 12:
            needed = sum(self._advance(self.values[n], self.WIDEST.get(n, "888"), px) for n in self.values)
            if needed + self._gap(px) * (len(self.values) - 1) <= width:
                break
            px *= 0.92
        # each column as wide as its widest number and a gap that grows with the font: "132/84 14" read as
        # one number when the columns shrank to the current values with 10 px between them
        self._grid.setHorizontalSpacing(self._gap(px))
        for col, name in enumerate(self.values):
            self._grid.setColumnMinimumWidth(col, self._advance(self.values[name], self.WIDEST.get(name, "888"), px))
        for name in self.values:
            self._pixel_font(self.values[name], px)
            head = self.findChild(QLabel, f"head_{name}")
            if head is not None:
                self._pixel_font(head, min(h * 0.065, px * 0.45))

    @staticmethod
    def _gap(px: float) -> int:
        """Space between two value columns for numbers ``px`` high: about an em-third, at least 10 px."""
        return max(10, int(px * 0.35))

    @staticmethod
    def _advance(label: QLabel, text: str, px: float) -> int:
        font = QFont(label.font())
        font.setPixelSize(max(11, int(px)))
        return QFontMetrics(font).horizontalAdvance(text)

    def _fit_pair(self, left: QLabel, right: QLabel, width: int) -> None:
        for _ in range(12):
            need = (QFontMetrics(left.font()).horizontalAdvance(left.text() or "Chair 88")
                    + QFontMetrics(right.font()).horizontalAdvance(right.text() or "PT-0000 DEMO") + 16)
            if need <= width or left.font().pixelSize() <= 11:
                return
            for label in (left, right):
                self._pixel_font(label, label.font().pixelSize() * 0.9)

    @staticmethod
    def _pixel_font(label: QLabel, px: float) -> None:
        font = QFont(label.font())
        font.setPixelSize(max(11, int(px)))
        label.setFont(font)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._chair:
            self.clicked.emit(self._chair)
        super().mousePressEvent(event)

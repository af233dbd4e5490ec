"""Numeric tiles of the live monitor: one parameter's value, big enough to read from two metres.

A tile shows the label, unit and value in the parameter's colour; dashes (``---``) when the device says the value
is invalid or there is none; the value greyed with its age when it has not been updated for ``stale_after``
seconds; the reason a value is unusable ("sensor off", "lead off"); a DEMO/TEST badge for data that does not come
from a patient; and an alarm look set from outside with :meth:`NumericTile.set_alarm`.

:class:`NibpTile` shows an episodic blood pressure: systolic/diastolic, the mean in brackets, the clock time and
age of the last measurement (greyed after ``stale_after``, 15 min by default) and a MEASURING indicator while the
cuff is inflating.

The tiles are views: the window calls ``show_value``/``show_nibp`` from its frame timer, and labels are only
touched when their text or colour actually changes, so an unchanged tile costs next to nothing per frame.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.clinical.units import display_unit
from devices.model import State

DASHES = "---"
#: the info line's prefix while the device's link is down (the value is stale at once)
LINK_DOWN_WORDS = "no link"

#: states that make a value unusable, with the words shown under the dashes (first match wins)
_REASONS: tuple[tuple[State, str], ...] = (
    (State.LEAD_OFF, "lead off"),
    (State.SENSOR_OFF, "sensor off"),
    (State.SEARCHING, "searching"),
    (State.CALIBRATING, "calibrating"),
    (State.ARTIFACT, "artifact"),
    (State.LOW_PERFUSION, "low perfusion"),
    (State.OUT_OF_RANGE, "out of range"),
    (State.UNAVAILABLE, "unavailable"),
    (State.QUESTIONABLE, "questionable"),
    (State.INVALID, "invalid"),
)
_UNUSABLE = State.INVALID | State.QUESTIONABLE | State.UNAVAILABLE


@dataclass(frozen=True, slots=True)
class TileColours:
    """The shared colours of all tiles (``#rrggbb``)."""

    text: str = "#e8e8e8"
    dim: str = "#9aa3ad"
    stale: str = "#6b7178"
    demo: str = "#ff9f1a"
    panel: str = "#0b0f14"
    border: str = "#262c33"
    alarm_high: str = "#e8202a"
    alarm_medium: str = "#f5c400"
    alarm_low: str = "#00bcd4"


def format_age(seconds: float) -> str:
    """A short age for a clinician: ``"12 s"``, ``"4 min"``, ``"1 h 05 min"``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_value(value: float | None, decimals: int = 0) -> str:
    """The value as the tile shows it; dashes for none."""
    if value is None or math.isnan(value):
        return DASHES
    return f"{value:.{decimals}f}"


def unusable_reason(state: State) -> str:
    """Plain words for why a value is not shown, or "" when its state does not say."""
    for flag, words in _REASONS:
        if state & flag:
            return words
    return ""


class FitLabel(QLabel):
    """A one-line label whose font is sized to fit ``template`` (its widest text) into its own rectangle.

    Sizing from the label's real rectangle (not an estimate of what the tile's other rows leave) keeps big
    values from being clipped in short tiles. The label ignores its size hint, so refitting never resizes it.
    """

    def __init__(self, text: str, template: str, family: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.template = template
        self.family = family
        self.bold = True
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(20, 16)

    def set_bold(self, bold: bool) -> None:
        if bold != self.bold:
            self.bold = bold
            self.refit()

    def refit(self) -> None:
        rect = self.contentsRect()
        probe_font = QFont(self.family) if self.family else QFont()
        probe_font.setPixelSize(100)
        probe_font.setBold(True)  # size as if bold, so dashes and digits take the same size
        probe = QFontMetricsF(probe_font)
        per_px_w = probe.horizontalAdvance(self.template) / 100.0
        # a centred line keeps digits inside when the box is at least the line height minus the space above
        # the capitals on both sides (Qt centres the ascent+descent box, digits sit between baseline and cap)
        per_px_h = (probe.height() - 2 * (probe.ascent() - probe.capHeight())) / 100.0
        pixels = min(rect.width() / per_px_w, rect.height() / per_px_h) * 0.96 if per_px_w > 0 else 12
        font = QFont(self.family) if self.family else QFont()
        font.setPixelSize(max(12, int(pixels)))
        font.setBold(self.bold)
        if font != self.font():
            self.setFont(font)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self.refit()


class NumericTile(QFrame):
    """One parameter. ``template`` is the widest text the value can take; the font is sized to fit it."""

    def __init__(self, label: str, unit: str, colour: str, *, decimals: int = 0, template: str = "888",
                 stale_after: float = 10.0, colours: TileColours | None = None, font_family: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.colour = colour
        self.decimals = decimals
        self.template = template
        self.stale_after = stale_after
        self.colours = colours or TileColours()
        self.setObjectName(f"tile:{label}")
        self._family = font_family
        self._demo = False
        self._alarm = (0, False)
        self._stale = False
        self._dashes = True
        self._value_colour = colour
        self._info_colour = self.colours.dim
        self._texts: dict[QLabel, str] = {}
        self._label_colours: dict[QLabel, str] = {}
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(150, 90)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 6)
        outer.setSpacing(0)
        self.header = QHBoxLayout()
        self.header.setSpacing(8)
        footer = QHBoxLayout()
        footer.setSpacing(8)
        self.title = self._make_label(label, colour, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.unit = self._make_label(display_unit(unit), self.colours.dim,
                                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.badge = self._make_label("", self.colours.demo, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.value = FitLabel(DASHES, template, font_family, self)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self._texts[self.value] = DASHES
        self._set_colour(self.value, colour)
        self.value.set_bold(False)
        self.secondary = self._make_label("", colour, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.info = self._make_label("no data", self.colours.dim,
                                     Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom)
        self.header.addWidget(self.title)
        self.header.addWidget(self.unit)
        self.header.addStretch(1)
        self.header.addWidget(self.badge)
        footer.addWidget(self.secondary)
        footer.addStretch(1)
        footer.addWidget(self.info)
        outer.addLayout(self.header)
        outer.addWidget(self.value, 1)
        outer.addLayout(footer)
        self._apply_fonts()

    # --- what the window calls ---------------------------------------------------------------------

    def show_value(self, value: float | None, state: State, measured_at: float | None, now: float,
                   secondary: str = "", *, link_down: bool = False) -> None:
        """Show one report: value and state flags as the device gave them, ``measured_at`` host time.

        ``value=None`` with ``measured_at=None`` means the parameter never arrived. ``secondary`` is an extra
        short line (the pulse rate under SpO2). ``link_down``: the device's link is lost, so the value is stale
        now, however young (no new value can arrive to contradict it).
        """
        if measured_at is None:
            self._show(DASHES, self.colour, "no data", self.colours.dim, secondary, State.NONE)
            return
        age = now - measured_at
        stale = age > self.stale_after or link_down
        usable = value is not None and not (state & _UNUSABLE)
        text = format_value(value, self.decimals) if usable else DASHES
        info = unusable_reason(state) if not usable else ""
        if stale:
            info = f"{format_age(age)} ago"
        if link_down:
            info = f"{LINK_DOWN_WORDS} \u00b7 {info}"
        colour = self.colours.stale if stale else self.colour
        self._stale = stale
        self._show(text, colour, info, self.colours.stale if stale else self.colours.dim, secondary, state)

    def set_demo(self, on: bool) -> None:
        """Mark everything this tile shows as demo data (the window does this for the simulator)."""
        self._demo = on
        self._set_text(self.badge, "DEMO" if on else "")

    @property
    def alarm_priority(self) -> int:
        """The alarm priority the tile currently shows (0 when none)."""
        return self._alarm[0]

    def set_alarm(self, priority: int, flash_on: bool) -> None:
        """Show an alarm of ``priority`` (0 none, 1 low, 2 medium, 3 high, as ``AlarmPriority``).

        The caller drives flashing (IEC 60601-1-8: high 1.4-2.8 Hz, medium 0.4-0.8 Hz, low steady) by calling
        this with ``flash_on`` alternating; the tile fills with the alarm colour while ``flash_on`` is true and
        keeps a thick border in that colour otherwise.
        """
        alarm = (int(priority), bool(flash_on) and priority > 0)
        if alarm == self._alarm:
            return
        self._alarm = alarm
        self._refresh_colours()
        self.update()

    # --- what tests and screenshots read -------------------------------------------------------------

    def value_text(self) -> str:
        return self.value.text()

    def info_text(self) -> str:
        return self.info.text()

    def secondary_text(self) -> str:
        return self.secondary.text()

    def badge_text(self) -> str:
        return self.badge.text()

    def value_colour(self) -> str:
        """The colour the value is drawn in now (``#rrggbb``)."""
        return self.value.palette().color(QPalette.ColorRole.WindowText).name()

    @property
    def is_stale(self) -> bool:
        return self._stale

    @property
    def alarm(self) -> tuple[int, bool]:
        return self._alarm

    # --- internals ---------------------------------------------------------------------------------

    def _show(self, text: str, colour: str, info: str, info_colour: str, secondary: str, state: State) -> None:
        dashes = DASHES in text
        if dashes != self._dashes:
            # bold dashes at this size read as coloured bars (an alarm look); thin ones read as "no value"
            self._dashes = dashes
            self.value.set_bold(not dashes)
        self._set_text(self.value, text)
        self._value_colour = colour
        self._set_text(self.info, info)
        self._info_colour = info_colour
        self._set_text(self.secondary, secondary)
        badge = "DEMO" if (self._demo or state & State.DEMO) else ("TEST" if state & State.TEST else "")
        self._set_text(self.badge, badge)
        self._refresh_colours()

    def _refresh_colours(self) -> None:
        priority, flash_on = self._alarm
        value_colour = self._value_colour
        info_colour = self._info_colour
        title_colour = self.colour
        if flash_on:
            # on a filled alarm background the parameter colour would vanish: black on yellow, white on red
            value_colour = info_colour = title_colour = "#000000" if priority < 3 else "#ffffff"
        self._set_colour(self.value, value_colour)
        self._set_colour(self.title, title_colour)
        self._set_colour(self.secondary, value_colour if not flash_on else title_colour)
        self._set_colour(self.info, info_colour)
        # on a filled background every line switches to the contrast colour, DEMO included
        self._set_colour(self.unit, title_colour if flash_on else self.colours.dim)
        self._set_colour(self.badge, title_colour if flash_on else self.colours.demo)
        measuring = getattr(self, "measuring", None)
        if measuring is not None:
            self._set_colour(measuring, title_colour if flash_on else self.colour)

    def _alarm_colour(self, priority: int) -> str:
        if priority >= 3:
            return self.colours.alarm_high
        if priority == 2:
            return self.colours.alarm_medium
        return self.colours.alarm_low

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        priority, flash_on = self._alarm
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        fill = QColor(self._alarm_colour(priority)) if flash_on else QColor(self.colours.panel)
        border = QColor(self._alarm_colour(priority)) if priority > 0 else QColor(self.colours.border)
        width = 4 if priority > 0 else 1
        painter.setPen(QPen(border, width))
        painter.setBrush(fill)
        painter.drawRect(rect.adjusted(width / 2, width / 2, -width / 2, -width / 2))
        painter.end()

    def _make_label(self, text: str, colour: str, align: Qt.AlignmentFlag) -> QLabel:
        label = QLabel(text, self)
        label.setAlignment(align)
        label.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self._texts[label] = text
        self._set_colour(label, colour)
        return label

    def _set_text(self, label: QLabel, text: str) -> None:
        if self._texts.get(label) != text:
            self._texts[label] = text
            label.setText(text)

    def _set_colour(self, label: QLabel, colour: str) -> None:
        if self._label_colours.get(label) != colour:
            self._label_colours[label] = colour
            palette = label.palette()
            palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
            label.setPalette(palette)

    def _font(self, pixels: int, bold: bool = False) -> QFont:
        font = QFont(self._family) if self._family else QFont()
        font.setPixelSize(max(8, int(pixels)))
        font.setBold(bold)
        return font

    def _small_sizes(self) -> tuple[int, int]:
        """Pixel sizes of the header and footer lines for the current tile height."""
        h = max(self.height(), 90)
        return int(min(30, max(15, h * 0.13))), int(min(26, max(13, h * 0.11)))

    def _apply_fonts(self) -> None:
        header, footer = self._small_sizes()
        self.title.setFont(self._font(header, bold=True))
        self.unit.setFont(self._font(int(header * 0.8)))
        self.badge.setFont(self._font(header, bold=True))
        self.secondary.setFont(self._font(int(footer * 1.25), bold=True))
        self.info.setFont(self._font(footer))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._apply_fonts()


class NibpTile(NumericTile):
    """Non-invasive blood pressure: ``sys/dia``, ``(mean)``, time and age of the last measurement, MEASURING."""

    def __init__(self, colour: str, *, label: str = "NIBP", unit: str = "mmHg", stale_after: float = 900.0,
                 colours: TileColours | None = None, font_family: str = "", parent: QWidget | None = None) -> None:
        super().__init__(label, unit, colour, template="188/128", stale_after=stale_after, colours=colours,
                         font_family=font_family, parent=parent)
        self.measuring = self._make_label("", colour, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        # between the stretch and the DEMO badge
        self.header.insertWidget(self.header.count() - 1, self.measuring)
        self._apply_fonts()

    def show_nibp(self, systolic: float | None, diastolic: float | None, mean: float | None, state: State,
                  measured_at: float | None, now: float, measuring: bool = False, *,
                  link_down: bool = False) -> None:
        """Show the last measurement (``measured_at`` host time; ``None`` = none yet) and the cuff state;
        ``link_down`` greys it as stale at once (see :meth:`NumericTile.show_value`)."""
        self._set_text(self.measuring, "MEASURING\u2026" if measuring else "")
        if measured_at is None or systolic is None and diastolic is None:
            info = "measuring\u2026" if measuring else "no measurement yet"
            self._show(f"{DASHES}/{DASHES}", self.colour, info, self.colours.dim, "", state)
            return
        usable = not (state & _UNUSABLE)
        text = (f"{format_value(systolic)}/{format_value(diastolic)}" if usable else f"{DASHES}/{DASHES}")
        mean_text = f"({format_value(mean)})" if usable and mean is not None else ""
        age = now - measured_at
        stale = age > self.stale_after or link_down
        self._stale = stale
        clock = time.strftime("%H:%M", time.localtime(measured_at))
        info = f"{clock} \u00b7 {format_age(age)} ago"
        if not usable and unusable_reason(state):
            info = f"{unusable_reason(state)} \u00b7 {info}"
        if link_down:
            info = f"{LINK_DOWN_WORDS} \u00b7 {info}"
        self._show(text, self.colours.stale if stale else self.colour, info,
                   self.colours.stale if stale else self.colours.text, mean_text, state)

    def measuring_text(self) -> str:
        return self.measuring.text()

    def _apply_fonts(self) -> None:
        super()._apply_fonts()
        measuring = getattr(self, "measuring", None)
        if measuring is not None:
            header, _ = self._small_sizes()
            measuring.setFont(self._font(header, bold=True))
        # the mean is read from a distance too: about a fifth of the tile's height
        self.secondary.setFont(self._font(max(16, int(self.height() * 0.2)), bold=True))

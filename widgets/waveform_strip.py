"""A live waveform strip: one channel drawn as a monitor-style sweep with a label and a scale.

Speed matters more than anything here (four or more strips redraw 30 times a second next to a recorder and an
alarm engine), so the strip follows what was measured to be fast with pyqtgraph: one curve created once and
updated with ``setData``, 1 px opaque pen, antialiasing off, fixed axis ranges with auto-range off, no OpenGL.

The strip is a view only: :meth:`WaveformStrip.update_from` copies the channel's sweep ring (any object with the
``capacity``/``fs``/``snapshot(out)`` interface of :class:`console.live.buffers.WaveRing`) into a buffer the strip
allocated once, blanks the short "erase bar" ahead of the sweep cursor and hands it to the curve.

A strip that gets no signal says so ON the wave, where the eye is: when no sample arrived for
:data:`NO_SIGNAL_AFTER` seconds, or the window reports the channel's device link as down
(:meth:`WaveformStrip.set_link_down`), the last sweep stays frozen in grey under a large "NO SIGNAL" text
(naming the device and its link state when known), never in full colour as if it were live. The trace redraws
in colour as soon as samples flow again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from console.clinical.units import display_unit

#: seconds without a new sample before the strip greys and says so (a frozen trace looks like a live one);
#: devices deliver waves in blocks of up to about half a second, so two seconds is never a normal pause
NO_SIGNAL_AFTER = 2.0
#: the notice's text when no reason is known (a silent channel, no data yet)
NO_SIGNAL = "NO SIGNAL"
#: width of the blank "erase bar" ahead of the sweep cursor, seconds
ERASE_SECONDS = 0.2
#: left margin of the x range (seconds) holding the scale marks, so the trace never covers them
SCALE_MARGIN = 0.45


class SweepSource(Protocol):
    """What a strip reads from: one sweep ring of a channel."""

    fs: float
    capacity: int

    def snapshot(self, out: np.ndarray): ...


@dataclass(frozen=True, slots=True)
class StripSpec:
    """How one strip looks.

    ``scale`` is ``"bar"`` (a calibration bar of ``bar_height`` labelled ``bar_label``, e.g. 1 mV for ECG),
    ``"lines"`` (reference lines at ``marks`` labelled in ``unit``, e.g. 0 and 40 mmHg for CO2) or ``"auto"``
    (no absolute scale: the gain follows the signal, as monitors do for pleth and respiration).
    """

    label: str
    colour: str
    y_range: tuple[float, float]
    scale: str = "auto"
    unit: str = ""
    bar_height: float = 1.0
    bar_label: str = ""
    marks: tuple[float, ...] = ()


class WaveformStrip(QWidget):
    """One sweep display of ``sweep_seconds`` seconds."""

    # pacing state, (re)set by _reset_pacing(); declared here so that methods above it type-check
    _last_written: int
    _drawn_written: int
    _last_hidden: int
    _last_change: float | None

    #: notice font size in px: large enough to read across the room, small enough for a 768-px-high screen
    NOTICE_PX = 30

    def __init__(self, spec: StripSpec, sweep_seconds: float = 8.0, *, background: str = "#000000",
                 text_colour: str = "#e8e8e8", dim_colour: str = "#9aa3ad", font_family: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.sweep_seconds = sweep_seconds
        self._dim = dim_colour
        self._text_colour = text_colour
        self._family = font_family
        self.setObjectName(f"strip:{spec.label}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        self.plot_widget = pg.PlotWidget(background=background)
        self.plot_widget.setFrameShape(self.plot_widget.Shape.NoFrame)
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        plot = self.plot_widget.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.getViewBox().setDefaultPadding(0)
        plot.layout.setContentsMargins(0, 4, 4, 4)
        self.view = plot.getViewBox()
        self.view.disableAutoRange()
        self.view.setXRange(-SCALE_MARGIN, sweep_seconds, padding=0)
        self.view.setYRange(*spec.y_range, padding=0)
        layout.addWidget(self.plot_widget)

        # 1 px opaque: 2 px costs 5x, translucent 25x; the grey pen marks a frozen sweep (no signal)
        self._live_pen = pg.mkPen(QColor(spec.colour), width=1)
        self._grey_pen = pg.mkPen(QColor(dim_colour).darker(200), width=1)
        self.curve = pg.PlotDataItem(pen=self._live_pen, antialias=False, connect="finite")
        # PlotItem.addItem imposes the plot's own clip/downsampling settings on the curve: set them there
        plot.setClipToView(True)
        plot.addItem(self.curve)
        self.curve.setClipToView(True)
        self._scale_items: list[pg.GraphicsObject] = []
        self._draw_scale()

        font = QFont(font_family) if font_family else QFont()
        font.setBold(True)
        font.setPixelSize(20)
        unit = display_unit(spec.unit)
        self.title = QLabel(f"{spec.label}  {unit}" if unit else spec.label, self.plot_widget)
        self.title.setFont(font)
        self._set_colour(self.title, spec.colour)
        self.title.move(8, 4)
        self.title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        note_font = QFont(font)
        note_font.setPixelSize(self.NOTICE_PX)
        # over the whole plot, centred and wrapped: a long device name breaks the line instead of being cut
        self.notice = QLabel(NO_SIGNAL, self.plot_widget)
        self.notice.setObjectName("noSignal")
        self.notice.setFont(note_font)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setWordWrap(True)
        self._set_colour(self.notice, text_colour)
        self.notice.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.title.adjustSize()
        self.title.raise_()
        self._link_down: str | None = None  # the words naming a down link, set by the window
        self._silent = False

        self._source: SweepSource | None = None
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._reset_pacing()
        self._has_signal = False
        self._frames = 0
        self._peak_span = 0.0
        self.notice.show()
        self._place_notice()

    # --- per frame ---------------------------------------------------------------------------------

    def update_from(self, source: SweepSource | None, now: float) -> bool:
        """Redraw from ``source``; returns True when the curve changed.

        Devices deliver waves in blocks (the simulator every 256 ms), which would make the sweep jump a few
        times a second. The strip therefore reveals the newest samples progressively at the rate they arrive,
        trailing about one block behind, so the leading edge moves smoothly at the frame rate. ``now`` (host
        clock) paces that and decides when a silent source counts as lost ("NO SIGNAL", trace greyed).
        """
        if source is None:
            self._set_signal(False)
            return False
        if source is not self._source:
            self._source = source
            self._x = np.arange(source.capacity, dtype=np.float64) / source.fs
            self._y = np.empty(source.capacity, dtype=np.float64)
            self._reset_pacing()
        assert self._y is not None and self._x is not None
        view = source.snapshot(self._y)
        if view.written != self._last_written:
            if self._silent:
                # back after a silence: the arrival rate measured before it says nothing about now
                self._reset_pacing()
                self._silent = False
            self._note_arrival(view.written, now, source.capacity)
        elif self._last_change is not None and now - self._last_change > NO_SIGNAL_AFTER:
            # pacing is kept (not reset), so the same old samples are not mistaken for new ones next frame
            self._silent = True
        if self._silent or self._link_down is not None:
            self._set_signal(False)
            return False
        hidden = self._advance_reveal(view.written, now, source)
        if hidden == self._last_hidden and view.written == self._drawn_written:
            return False  # nothing moved since the last frame
        self._last_hidden, self._drawn_written = hidden, view.written
        # blank the samples not revealed yet and the erase bar ahead of the sweep's leading edge
        erase = min(int(ERASE_SECONDS * source.fs) + hidden, source.capacity - 1)
        start = (view.cursor - hidden) % source.capacity
        end = start + erase
        if end <= source.capacity:
            self._y[start:end] = np.nan
        else:
            self._y[start:] = np.nan
            self._y[:end - source.capacity] = np.nan
        self._frames += 1
        if self.spec.scale == "auto" and (self._frames % 15 == 1):
            self._adjust_gain()
        self.curve.setData(self._x, self._y)
        self._set_signal(True)
        return True

    def _reset_pacing(self) -> None:
        self._last_written = -1
        self._drawn_written = -1
        self._last_hidden = -1
        self._last_change = None
        self._rate: float | None = None  # samples per host second, as they arrive
        self._anchor: tuple[float, int] | None = None  # (host time, written) the rate is measured from
        self._block = 0  # samples per arriving block
        self._shown: float | None = None  # samples revealed so far (same count as ``written``)
        self._last_frame: float | None = None

    def _note_arrival(self, written: int, now: float, capacity: int) -> None:
        # the arrival rate over the last 1-10 s: the device's rate in host time (the simulator may run faster)
        if self._anchor is None:
            self._anchor = (now, written)
        else:
            t0, w0 = self._anchor
            if now - t0 >= 1.0:
                self._rate = (written - w0) / (now - t0)
            if now - t0 >= 10.0:
                self._anchor = (now, written)
        if self._last_written >= 0:
            self._block = min(written - self._last_written, capacity // 4)
        self._last_written = written
        self._last_change = now

    def _advance_reveal(self, written: int, now: float, source: SweepSource) -> int:
        """Move the reveal point on; returns how many of the newest samples stay hidden this frame."""
        if self._shown is None or self._last_frame is None:
            self._shown = float(written)
        else:
            rate = self._rate if self._rate is not None else source.fs
            target = written - self._block
            self._shown += rate * max(0.0, now - self._last_frame) + 0.1 * (target - self._shown)
            self._shown = min(max(self._shown, written - source.capacity / 4), float(written))
        self._last_frame = now
        return int(written - self._shown)

    def clear(self) -> None:
        """Forget the source and blank the trace (device removed)."""
        self._source = None
        self._set_signal(False)
        self.curve.setData([], [])

    def set_link_down(self, words: str | None) -> None:
        """The window's report on the channel's device link: ``None`` while it is up, else the words naming it
        (``"Monitor: connection lost, retrying"``). While down the strip shows no signal whatever its buffer
        holds; the notice names the reason."""
        if words == self._link_down:
            return
        self._link_down = words
        self._update_notice()
        if words is not None:
            self._set_signal(False)

    @property
    def link_down(self) -> str | None:
        """The down link's words as last set by :meth:`set_link_down`, or ``None``."""
        return self._link_down

    @property
    def has_signal(self) -> bool:
        """True while the strip shows live samples."""
        return self._has_signal

    def notice_text(self) -> str:
        """The text over the wave ("" while the signal is live)."""
        return self.notice.text() if not self.notice.isHidden() else ""

    def trace_colour(self) -> str:
        """The colour the trace is drawn in now (``#rrggbb``): the channel's colour live, grey when frozen."""
        return self.curve.opts["pen"].color().name()

    def shown_samples(self) -> np.ndarray:
        """The y values currently drawn (NaN where blank); for tests and screenshots."""
        _, y = self.curve.getData()
        return np.asarray(y) if y is not None else np.empty(0)

    # --- internals ---------------------------------------------------------------------------------

    def _set_signal(self, on: bool) -> None:
        if on == self._has_signal:
            return
        self._has_signal = on
        # the last sweep stays, greyed: a clinician sees what was last shown, never as if it were live
        self.curve.setPen(self._live_pen if on else self._grey_pen)
        self._update_notice()
        self.notice.setVisible(not on)

    def _update_notice(self) -> None:
        text = NO_SIGNAL if self._link_down is None else f"{NO_SIGNAL} \u2014 {self._link_down}"
        if self.notice.text() != text:
            self.notice.setText(text)
            self._fit_notice()

    def _place_notice(self) -> None:
        # below the title, over the rest of the plot
        top = self.title.y() + self.title.height()
        # the plot fills the strip (no margins), so the strip's own size is the plot's, even mid-layout
        self.notice.setGeometry(8, top, max(1, self.width() - 16), max(1, self.height() - top - 4))
        self._fit_notice()

    def _fit_notice(self) -> None:
        """The largest font up to :attr:`NOTICE_PX` at which the whole notice fits, wrapped (short strips on a
        768-px-high screen); only on a resize or a new text, never per frame."""
        rect = self.notice.contentsRect()
        flags = int(self.notice.alignment()) | int(Qt.TextFlag.TextWordWrap)
        font = QFont(self.notice.font())
        for px in range(self.NOTICE_PX, 11, -2):
            font.setPixelSize(px)
            if rect.contains(QFontMetrics(font).boundingRect(rect, flags, self.notice.text())):
                break
        if font.pixelSize() != self.notice.font().pixelSize():
            self.notice.setFont(font)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._place_notice()

    def _adjust_gain(self) -> None:
        """Follow the signal's amplitude, as monitors do for pleth and respiration (no absolute unit)."""
        assert self._y is not None
        finite = self._y[np.isfinite(self._y)]
        if finite.size < 2:
            return
        lo, hi = float(finite.min()), float(finite.max())
        span = hi - lo
        self._peak_span = max(self._peak_span, span)
        if span <= 0.1 * self._peak_span:
            return  # a flat line (probe off) stays flat: magnifying its noise would fake a pulse
        cur_lo, cur_hi = self.view.viewRange()[1]
        cur_span = cur_hi - cur_lo
        # only rescale when clearly off, so the trace does not breathe with every beat
        if lo < cur_lo or hi > cur_hi or span < 0.6 * cur_span:
            # extra room on top keeps the peaks clear of the strip title
            self.view.setYRange(lo - 0.1 * span, hi + 0.25 * span, padding=0)

    def _draw_scale(self) -> None:
        plot = self.plot_widget.getPlotItem()
        font = QFont(self._family) if self._family else QFont()
        font.setPixelSize(14)
        dim = QColor(self._dim)
        pen = pg.mkPen(dim, width=1)
        spec = self.spec
        lo, hi = spec.y_range
        if spec.scale == "bar":
            # calibration bar: a vertical line of bar_height at the left margin, from the baseline up
            base = lo + 0.15 * (hi - lo)
            x = -SCALE_MARGIN * 0.55
            bar = pg.PlotCurveItem([x - 0.05, x, x, x - 0.05], [base, base, base + spec.bar_height,
                                                                  base + spec.bar_height], pen=pen)
            plot.addItem(bar)
            # left-aligned at the plot's left edge: centred under the bar it was cut off on narrow screens
            text = pg.TextItem(spec.bar_label, color=dim, anchor=(0.0, 0.0))
            text.setFont(font)
            text.setPos(-SCALE_MARGIN, base)
            plot.addItem(text)
            self._scale_items += [bar, text]
        elif spec.scale == "lines":
            for mark in spec.marks:
                line = pg.InfiniteLine(pos=mark, angle=0, pen=pg.mkPen(QColor(self._dim).darker(200), width=1))
                plot.addItem(line)
                text = pg.TextItem(f"{mark:g}", color=dim, anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(-SCALE_MARGIN * 0.5, mark)
                plot.addItem(text)
                self._scale_items += [line, text]

    @staticmethod
    def _set_colour(label: QLabel, colour: str) -> None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        label.setPalette(palette)


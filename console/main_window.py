"""The live monitor window: waveform strips, numeric tiles, device status, and slots for what comes later.

The window is a view on a Qt-free :class:`~console.runtime.ChairRuntime` (see docs/DESIGN.md): the runtime's
device threads write into its :class:`~console.live.buffers.LiveData`, and ONE 30 Hz QTimer in this window pulls
from it and updates every strip and tile, and the status bar when a link state changed (:meth:`MainWindow.refresh`).
Nothing is pushed into the window from the runtime's threads (no Qt signal is emitted from a plain thread).

Hooks for the integrator:

* :meth:`MainWindow.set_session_panel` puts the session panel into the side area (a placeholder until then);
* :meth:`MainWindow.set_alarm_banner` puts the alarm banner above the strips;
* :meth:`MainWindow.set_extra_widget` fills the free space right of the NIBP tile;
* :meth:`MainWindow.add_sample_consumer` sends every sample batch of every device to another consumer,
  *called from the acquisition threads* (the runtime already feeds its alarm engine and recorder);
* :meth:`MainWindow.latest_vitals` gives the latest value of every parameter for the panel and the alarms;
* :meth:`MainWindow.tile_for` finds the tile of a parameter, to colour it with ``tile.set_alarm(priority, flash)``;
* :attr:`MainWindow.link_state_changed` is emitted in the GUI thread for every link state change the frame timer
  finds in the runtime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from console.app import Theme, load_theme
from console.live.buffers import DEFAULT_SWEEP_SECONDS, NumericRecord
from console.runtime import ChairRuntime, as_clock
from console.runtime.acquisition import DeviceThread
from devices import mdc
from devices.driver import Driver
from devices.model import Sample, State
from devices.transport import PortSettings
from widgets.numeric_tile import NibpTile, NumericTile, TileColours
from widgets.status_bar import STATE_WORDS, DeviceStatusBar
from widgets.waveform_strip import StripSpec, WaveformStrip

#: width of the side area with its placeholder, and the most a session panel may take from the strips
SIDE_WIDTH_EMPTY = 300
SIDE_WIDTH_MAX = 480

log = logging.getLogger(__name__)

FRAME_HZ = 30
#: a MEASURING flag older than this is not believed any more (the device stopped talking mid-cycle)
MEASURING_TIMEOUT = 180.0
#: link states in which a device sends nothing: its waves show NO SIGNAL and its values are stale at once
LINK_DOWN_STATES = frozenset({"connecting", "silent", "lost", "stopped"})


@dataclass(frozen=True, slots=True)
class TileSpec:
    """Which parameter codes feed a tile, first present code wins."""

    key: str
    label: str
    unit: str
    codes: tuple[int, ...]
    decimals: int = 0
    template: str = "888"


#: strips top to bottom: wave code, theme colour key, look
STRIPS: tuple[tuple[int, str, StripSpec], ...] = (
    (mdc.ECG_II, "ECG", StripSpec("ECG II", "", (-0.8, 1.6), scale="bar", bar_height=1.0, bar_label="1 mV")),
    (mdc.PLETH, "PLETH", StripSpec("Pleth", "", (0.0, 1.0), scale="auto")),
    (mdc.RESP_WAVE, "RESP", StripSpec("Resp", "", (-1.0, 1.0), scale="auto")),
    (mdc.CO2_WAVE, "CO2", StripSpec("CO2", "", (-2.0, 58.0), scale="lines", unit="mmHg", marks=(0.0, 40.0))),
)

#: tiles beside the strips, row by row, then the bottom row
TILES: tuple[TileSpec, ...] = (
    TileSpec("HR", "HR", "/min", (mdc.HEART_RATE,)),
    TileSpec("SPO2", "SpO2", "%", (mdc.SPO2,)),
    TileSpec("RR", "RR", "/min", (mdc.RESP_RATE, mdc.AWAY_RESP_RATE)),
    TileSpec("ETCO2", "EtCO2", "mmHg", (mdc.ETCO2,)),
    TileSpec("TEMP", "Temp", "\u00b0C", (mdc.TEMP, mdc.TEMP_BODY), decimals=1, template="88.8"),
)
PULSE_CODES = (mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE)
NIBP_CODES = (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)


class MainWindow(QMainWindow):
    """The chair's live monitor. Call :meth:`add_device` for each device, then :meth:`start`.

    ``runtime``: the chair this window shows (its clock is then the window's); without one the window makes its
    own, record-less runtime on ``clock`` and shuts it down with itself. ``clock`` gives the host time used for
    ages and staleness (a fake one in tests); ``stale_after`` is how old (s) a continuous parameter may be
    before it greys out; NIBP uses ``nibp_stale_after``.
    """

    #: (source, state, message) of any device, emitted in the GUI thread when the frame timer sees a change
    link_state_changed = Signal(str, str, str)

    def __init__(self, *, demo: bool = False, theme: Theme | None = None, clock: Callable[[], float] = time.time,
                 sweep_seconds: float = DEFAULT_SWEEP_SECONDS, stale_after: float = 10.0,
                 nibp_stale_after: float = 900.0, runtime: ChairRuntime | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or load_theme()
        self._owns_runtime = runtime is None
        self.runtime = runtime or ChairRuntime(None, clock=as_clock(clock), sweep_seconds=sweep_seconds)
        self.clock: Callable[[], float] = self.runtime.clock.now
        self.demo = demo
        self.live = self.runtime.live
        self._links_version = -1
        self._link_shown: dict[str, tuple[str, str]] = {}
        self._frame = 0
        self._numerics_version = -1
        self._tile_second = -1
        self._running = False
        self.setWindowTitle("Chairside \u2013 DEMO" if demo else "Chairside")
        self.setObjectName("main_window")

        t = self.theme
        colours = TileColours(text=t.text, dim=t.dim_text, stale=t.stale, demo=t.demo, panel=t.panel,
                              border=t.border, alarm_high=t.alarm.get("high", "#e8202a"),
                              alarm_medium=t.alarm.get("medium", "#f5c400"), alarm_low=t.alarm.get("low", "#00bcd4"))
        central = QWidget()
        central.setObjectName("central")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 0)
        outer.setSpacing(6)
        self.banner_slot = QVBoxLayout()
        self.banner_slot.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self.banner_slot)
        body = QHBoxLayout()
        body.setSpacing(6)
        outer.addLayout(body, 1)

        monitor = QGridLayout()
        monitor.setSpacing(4)
        body.addLayout(monitor, 1)
        self.strips: dict[int, WaveformStrip] = {}
        for row, (code, colour_key, spec) in enumerate(STRIPS):
            spec = StripSpec(spec.label, t.colour(colour_key), spec.y_range, spec.scale, spec.unit,
                             spec.bar_height, spec.bar_label, spec.marks)
            strip = WaveformStrip(spec, sweep_seconds, background=t.background, text_colour=t.text,
                                  dim_colour=t.dim_text, font_family=t.font_family)
            self.strips[code] = strip
            monitor.addWidget(strip, row, 0)
            monitor.setRowStretch(row, 1)

        self.tiles: dict[str, NumericTile] = {}
        for tile_spec in TILES:
            self.tiles[tile_spec.key] = NumericTile(
                tile_spec.label, tile_spec.unit, t.colour(tile_spec.key), decimals=tile_spec.decimals,
                template=tile_spec.template, stale_after=stale_after, colours=colours, font_family=t.font_family)
        self.nibp_tile = NibpTile(t.colour("NIBP"), stale_after=nibp_stale_after, colours=colours,
                                  font_family=t.font_family)
        self.tiles["NIBP"] = self.nibp_tile
        for row, key in enumerate(("HR", "SPO2", "RR", "ETCO2")):
            monitor.addWidget(self.tiles[key], row, 1)
        bottom = QHBoxLayout()
        bottom.setSpacing(4)
        bottom.addWidget(self.nibp_tile, 2)
        self._extra_widget: QWidget = QWidget()  # empty until set_extra_widget()
        bottom.addWidget(self._extra_widget, 1)
        self._bottom = bottom
        monitor.addLayout(bottom, len(STRIPS), 0)
        monitor.addWidget(self.tiles["TEMP"], len(STRIPS), 1)
        monitor.setRowStretch(len(STRIPS), 1)
        monitor.setColumnStretch(0, 3)
        monitor.setColumnStretch(1, 1)
        monitor.setColumnMinimumWidth(1, 240)

        self.side_slot = QVBoxLayout()
        self.side_slot.setContentsMargins(0, 0, 0, 0)
        self._side_widget: QWidget = self._placeholder("Session panel")
        self.side_slot.addWidget(self._side_widget)
        side = QWidget()
        side.setObjectName("side_area")
        side.setLayout(self.side_slot)
        side.setFixedWidth(SIDE_WIDTH_EMPTY)
        body.addWidget(side)
        self._side_area = side
        self._banner: QWidget | None = None
        self.setCentralWidget(central)

        self.status = DeviceStatusBar(state_colours=t.link, demo_colour=t.demo, text_colour=t.text,
                                      font_family=t.font_family)
        self.setStatusBar(self.status)
        self.set_demo(demo)

        self._timer = QTimer(self)
        self._timer.setObjectName("frame_timer")
        self._timer.setInterval(int(1000 / FRAME_HZ))
        self._timer.timeout.connect(self.refresh)
        self.resize(fitted_size(self, 1600, 960))

    # --- devices and threads -----------------------------------------------------------------------

    def add_device(self, driver: Driver, url: str | None = None, settings: PortSettings | None = None, *,
                   name: str = "", interval: float = 0.02) -> DeviceThread:
        """Add a device to the runtime (``url=None`` for port-less drivers: the simulator)."""
        thread = self.runtime.add_device(driver, url, settings, name=name, interval=interval)
        self.status.set_link_state(thread.source, "connecting", "starting")
        self._link_shown[thread.source] = ("connecting", "starting")
        return thread

    def start(self) -> None:
        """Start the runtime (its device, alarm and writer threads; once) and the frame timer."""
        self._running = True
        self.runtime.start()
        self._timer.start()

    def shutdown(self) -> None:
        """Stop the frame timer and, when the window made its own runtime, the runtime (waits for its
        threads); a runtime handed in is shut down by whoever made it. Safe to call twice."""
        self._running = False
        self._timer.stop()
        if self._owns_runtime and not self.runtime.shutdown():
            log.error("a thread of the chair runtime did not stop")
        self._refresh_links()

    @property
    def threads(self) -> list[DeviceThread]:
        """The device threads, one per device."""
        return self.runtime.devices

    @property
    def frame_timer(self) -> QTimer:
        return self._timer

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # --- integrator hooks --------------------------------------------------------------------------

    def add_sample_consumer(self, consumer: Callable[[list[Sample]], None]) -> None:
        """Also send every sample batch of every device to ``consumer`` (recorder, alarm engine).

        The consumer is called FROM THE ACQUISITION THREAD, once per batch (about 50 times a second per
        device): it must be thread-safe and quick (hand the batch to a queue, never block on I/O or touch
        widgets). An exception in a consumer is logged and does not stop acquisition.
        """
        self.runtime.add_consumer(consumer)

    def latest_vitals(self) -> dict[int, tuple[float | None, State, float]]:
        """``{mdc code: (value, state flags, measured_at host time)}`` of the latest value of every parameter.

        For NIBP ``measured_at`` is the time of the measurement (not of the latest repeat of it), and while the
        cuff is measuring the value is the last result with ``State.MEASURING`` set.
        """
        return self.live.latest_vitals()

    def tile_for(self, code: int) -> NumericTile | None:
        """The tile showing parameter ``code`` (the SpO2 tile for the pulse rate), or None."""
        if code in NIBP_CODES or code == mdc.NIBP:
            return self.nibp_tile
        if code in PULSE_CODES:
            return self.tiles["SPO2"]
        for spec in TILES:
            if code in spec.codes:
                return self.tiles[spec.key]
        return None

    def set_session_panel(self, widget: QWidget) -> None:
        """Put ``widget`` into the side area, replacing the placeholder (or a previous panel)."""
        self._replace(self.side_slot, self._side_widget, widget)
        self._side_widget = widget
        # the panel's forms need room for a label and a field side by side; the strips give way, not the forms
        wanted = max(widget.minimumSizeHint().width(), widget.sizeHint().width())
        self._side_area.setFixedWidth(min(max(SIDE_WIDTH_EMPTY, wanted), SIDE_WIDTH_MAX))

    def set_alarm_banner(self, widget: QWidget) -> None:
        """Put ``widget`` above the strips (replacing a previous banner)."""
        self._replace(self.banner_slot, self._banner, widget)
        self._banner = widget

    def set_extra_widget(self, widget: QWidget) -> None:
        """Put ``widget`` into the free space right of the NIBP tile (e.g. infusion status, a short trend)."""
        index = self._bottom.indexOf(self._extra_widget)
        self._bottom.removeWidget(self._extra_widget)
        self._extra_widget.hide()
        self._extra_widget.deleteLater()
        self._bottom.insertWidget(index, widget, 1)
        widget.show()
        self._extra_widget = widget

    def set_demo(self, on: bool) -> None:
        """Mark the whole window as showing demo data (status bar marker, DEMO on every tile, title)."""
        self.demo = on
        self.status.set_demo(on)
        for tile in self.tiles.values():
            tile.set_demo(on)
        self.setWindowTitle("Chairside \u2013 DEMO" if on else "Chairside")

    # --- the frame ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """One frame: pull the newest samples into every strip and, when due, every tile."""
        now = self.clock()
        self._refresh_links()
        for code, strip in self.strips.items():
            ring = self.live.wave(code)
            strip.set_link_down(self._link_down_words(ring.source if ring is not None else ""))
            strip.update_from(ring, now)
        version = self.live.numerics.version
        second = int(now)
        # tiles only change with a new value or when their age text moves on (whole seconds)
        if version != self._numerics_version or second != self._tile_second:
            self._numerics_version = version
            self._tile_second = second
            self._refresh_tiles(now)
            self.status.set_clock(time.strftime("%H:%M:%S", time.localtime(now)))
        self._frame += 1

    def _refresh_tiles(self, now: float) -> None:
        store = self.live.numerics
        for spec in TILES:
            record = _first(store.get, spec.codes)
            secondary = ""
            if spec.key == "SPO2":
                pulse = _first(store.get, PULSE_CODES)
                if pulse is not None:
                    fresh = now - pulse.measured_at <= self.tiles["SPO2"].stale_after
                    value = pulse.value if pulse.usable and fresh else None
                    secondary = f"PR {value:.0f}" if value is not None else "PR ---"
            tile = self.tiles[spec.key]
            if record is None:
                tile.show_value(None, State.NONE, None, now, secondary)
            else:
                tile.show_value(record.value, record.state, record.measured_at, now, secondary,
                                link_down=self._link_down_words(record.source) is not None)
        sys_, dia, mean = (store.get(code) for code in NIBP_CODES)
        if sys_ is None:
            self.nibp_tile.show_nibp(None, None, None, State.NONE, None, now)
            return
        down = self._link_down_words(sys_.source) is not None
        measuring = bool(sys_.state & State.MEASURING) and now - sys_.time < MEASURING_TIMEOUT and not down
        state = sys_.state | (dia.state if dia else State.NONE)
        self.nibp_tile.show_nibp(sys_.value, dia.value if dia else None, mean.value if mean else None, state,
                                 sys_.measured_at, now, measuring, link_down=down)

    # --- internals ---------------------------------------------------------------------------------

    def link_down_words(self, source: str) -> str | None:
        """``"<device>: connection lost, retrying"`` while the link of the device that sent ``source``'s data
        is down (see :data:`LINK_DOWN_STATES`), else ``None``; what the strips and tiles show."""
        return self._link_down_words(source)

    def _link_down_words(self, source: str) -> str | None:
        shown = self._link_shown.get(source)
        if shown is None and len(self._link_shown) == 1:
            # a driver may stamp its samples with another name than the one its link was added under: with one
            # device every channel is that device's
            source, shown = next(iter(self._link_shown.items()))
        if shown is None or shown[0] not in LINK_DOWN_STATES:
            return None
        return f"{source}: {STATE_WORDS.get(shown[0], shown[0])}"

    def _refresh_links(self) -> None:
        """Show link states that changed since the last frame (pulled from the runtime, cheap when none did)."""
        version, links = self.runtime.link_states()
        if version == self._links_version:
            return
        self._links_version = version
        self._tile_second = -1  # the tiles redraw this frame: a down link makes their values stale at once
        for source, link in links.items():
            shown = (link.state, link.message)
            if self._link_shown.get(source) != shown:
                self._link_shown[source] = shown
                self.status.set_link_state(source, link.state, link.message)
                self.link_state_changed.emit(source, link.state, link.message)

    def _placeholder(self, text: str) -> QWidget:
        frame = QFrame()
        frame.setObjectName("placeholder")
        frame.setStyleSheet(f"QFrame#placeholder {{ border: 1px dashed {self.theme.border}; }}")
        layout = QVBoxLayout(frame)
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setStyleSheet(f"color: {self.theme.stale}; font-size: 16px;")
        layout.addWidget(label)
        return frame

    @staticmethod
    def _replace(layout: QVBoxLayout, old: QWidget | None, new: QWidget) -> None:
        if old is not None:
            layout.removeWidget(old)
            old.hide()
            old.deleteLater()
        layout.addWidget(new)
        new.show()  # widgets added to an already visible window stay hidden otherwise


def fitted_size(widget: QWidget, width: int, height: int) -> QSize:
    """``width`` x ``height``, or less where the screen is smaller (a 1366x768 clinic laptop): a window never
    opens larger than the screen's available area. The offscreen platform's screen (tests, headless
    screenshots) is a fictional 800x600 and is not followed."""
    if QGuiApplication.platformName() == "offscreen":
        return QSize(width, height)
    available = widget.screen().availableGeometry()
    return QSize(min(width, available.width()), min(height, available.height()))


def _first(get: Callable[[int], NumericRecord | None], codes: tuple[int, ...]) -> NumericRecord | None:
    for code in codes:
        record = get(code)
        if record is not None:
            return record
    return None

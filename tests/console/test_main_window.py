"""The live monitor window: what it shows from the live data, its hooks, and clean threads after closing.

Most tests write samples straight into ``window.live`` (what the acquisition thread's sink does) and call
``window.refresh()`` (what the 30 Hz timer does) with a fake clock, so they are deterministic. A few run the
real simulator in a real acquisition thread and wait for what the user would see with ``qtbot.waitUntil``.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from devices import mdc
from devices.driver import Driver
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.simulator import Simulator
from devices.simulator.driver import SimulatorDriver
from devices.transport import PortSettings
from console.main_window import MainWindow

T0 = 1_760_000_000.0


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def window(qtbot, clock: FakeClock) -> MainWindow:
    w = MainWindow(clock=clock)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def num(code: int, value: float | None, t: float, state: State = State.NONE) -> Numeric:
    return Numeric(code, mdc.label_of(code), value, mdc.PARAMETERS[code].unit, state, None, t, "fake")


def vitals(t: float, state: State = State.NONE) -> list[Sample]:
    return [num(mdc.HEART_RATE, 72.0, t, state), num(mdc.SPO2, 97.0, t, state),
            num(mdc.PULSE_RATE_OXIM, 71.0, t, state), num(mdc.RESP_RATE, 14.0, t, state),
            num(mdc.ETCO2, 37.0, t, state), num(mdc.TEMP, 36.8, t, state)]


def waves(t0: float, seconds: float = 1.0) -> list[Sample]:
    out: list[Sample] = []
    for code, fs in ((mdc.ECG_II, 500.0), (mdc.PLETH, 125.0), (mdc.RESP_WAVE, 62.5), (mdc.CO2_WAVE, 62.5)):
        n = int(seconds * fs)
        out.append(WaveBlock(code, mdc.label_of(code), t0, fs, np.sin(np.arange(n) / 10.0) + 1.0, "1"))
    return out


def test_tiles_show_the_latest_values(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest(vitals(clock.t))
    window.refresh()
    t = window.tiles
    assert t["HR"].value_text() == "72"
    assert t["SPO2"].value_text() == "97" and t["SPO2"].secondary_text() == "PR 71"
    assert t["RR"].value_text() == "14"
    assert t["ETCO2"].value_text() == "37"
    assert t["TEMP"].value_text() == "36.8"
    assert window.nibp_tile.value_text() == "---/---"
    assert window.nibp_tile.info_text() == "no measurement yet"


def test_nothing_received_shows_dashes_and_no_signal(window: MainWindow) -> None:
    window.refresh()
    assert all(tile.value_text().startswith("---") for tile in window.tiles.values())
    assert all(not strip.has_signal for strip in window.strips.values())


def test_strips_show_the_waves(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest(waves(clock.t - 2.0, 2.0))
    window.refresh()
    for code, strip in window.strips.items():
        ring = window.live.wave(code)
        assert ring is not None
        shown = strip.shown_samples()
        assert strip.has_signal
        assert np.isfinite(shown).sum() == ring.written  # two seconds drawn, nothing invented


def test_invalid_values_are_dashes(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest([num(mdc.SPO2, None, clock.t, State.SENSOR_OFF | State.INVALID),
                        num(mdc.PULSE_RATE_OXIM, None, clock.t, State.SENSOR_OFF | State.INVALID),
                        num(mdc.HEART_RATE, 80.0, clock.t, State.QUESTIONABLE | State.ARTIFACT)])
    window.refresh()
    spo2 = window.tiles["SPO2"]
    assert spo2.value_text() == "---" and spo2.info_text() == "sensor off" and spo2.secondary_text() == "PR ---"
    assert window.tiles["HR"].value_text() == "---"


def test_stale_values_grey_with_their_age(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest(vitals(clock.t))
    window.refresh()
    hr = window.tiles["HR"]
    assert not hr.is_stale
    clock.t += 12.0
    window.refresh()
    assert hr.is_stale and hr.value_text() == "72" and hr.info_text() == "12 s ago"
    assert hr.value_colour() == window.theme.stale
    window.live.ingest(vitals(clock.t))
    window.refresh()
    assert not hr.is_stale and hr.info_text() == ""


def test_nibp_time_and_measuring_indicator(window: MainWindow, clock: FakeClock) -> None:
    measured = clock.t
    window.live.ingest([num(mdc.NIBP_SYS, 124.0, measured), num(mdc.NIBP_DIA, 78.0, measured),
                        num(mdc.NIBP_MEAN, 94.0, measured)])
    clock.t += 125.0
    window.refresh()
    nibp = window.nibp_tile
    assert nibp.value_text() == "124/78" and nibp.secondary_text() == "(94)"
    assert nibp.info_text() == f"{time.strftime('%H:%M', time.localtime(measured))} \u00b7 2 min ago"
    assert nibp.measuring_text() == ""
    window.live.ingest([num(mdc.NIBP_SYS, None, clock.t, State.MEASURING)])  # the cuff starts inflating
    window.refresh()
    assert nibp.measuring_text().startswith("MEASURING")
    assert nibp.value_text() == "124/78"  # the last result stays on show
    assert nibp.info_text().endswith("2 min ago")
    clock.t += 30.0
    window.live.ingest([num(mdc.NIBP_SYS, 131.0, clock.t), num(mdc.NIBP_DIA, 82.0, clock.t),
                        num(mdc.NIBP_MEAN, 99.0, clock.t)])
    window.refresh()
    assert nibp.measuring_text() == "" and nibp.value_text() == "131/82" and nibp.info_text().endswith("0 s ago")
    clock.t += 16 * 60
    window.refresh()
    assert nibp.is_stale and nibp.info_text().endswith("16 min ago")


def test_demo_window_is_marked_everywhere(qtbot, clock: FakeClock) -> None:
    w = MainWindow(demo=True, clock=clock)
    qtbot.addWidget(w)
    w.live.ingest(vitals(clock.t))
    w.refresh()
    assert "DEMO" in w.windowTitle()
    assert w.status.demo_text().startswith("DEMO")
    assert w.status.demo_label.isVisibleTo(w)
    assert all(tile.badge_text() == "DEMO" for tile in w.tiles.values())


def test_demo_flagged_values_are_marked_in_a_normal_window(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest(vitals(clock.t, State.DEMO))
    window.refresh()
    assert window.status.demo_text() == ""
    assert window.tiles["HR"].badge_text() == "DEMO"


def test_latest_vitals_for_panel_and_alarms(window: MainWindow, clock: FakeClock) -> None:
    window.live.ingest(vitals(clock.t) + [num(mdc.NIBP_SYS, 124.0, clock.t - 60)])
    got = window.latest_vitals()
    assert got[mdc.HEART_RATE] == (72.0, State.NONE, clock.t)
    assert got[mdc.NIBP_SYS] == (124.0, State.NONE, clock.t - 60)


def test_tile_for_maps_codes_to_tiles(window: MainWindow) -> None:
    assert window.tile_for(mdc.HEART_RATE) is window.tiles["HR"]
    assert window.tile_for(mdc.PULSE_RATE_OXIM) is window.tiles["SPO2"]
    assert window.tile_for(mdc.NIBP_DIA) is window.nibp_tile
    assert window.tile_for(mdc.TEMP_BODY) is window.tiles["TEMP"]
    assert window.tile_for(mdc.ABP_SYS) is None
    window.tile_for(mdc.SPO2).set_alarm(3, True)  # type: ignore[union-attr]
    assert window.tiles["SPO2"].alarm == (3, True)


def test_session_panel_and_alarm_banner_slots(window: MainWindow) -> None:
    panel, banner = QLabel("panel"), QLabel("banner")
    window.set_session_panel(panel)
    window.set_alarm_banner(banner)
    window.centralWidget().layout().activate()
    assert panel.isVisible() and banner.isVisible()
    assert window.isAncestorOf(panel) and window.isAncestorOf(banner)
    # the banner sits above the strips, the panel to their right
    ecg = window.strips[mdc.ECG_II]
    assert banner.mapTo(window, banner.rect().bottomLeft()).y() <= ecg.mapTo(window, ecg.rect().topLeft()).y()
    assert panel.mapTo(window, panel.rect().topLeft()).x() > window.tiles["HR"].mapTo(
        window, window.tiles["HR"].rect().topRight()).x()
    extra = QLabel("infusion")
    window.set_extra_widget(extra)
    window.centralWidget().layout().activate()
    assert extra.isVisible()
    nibp = window.nibp_tile
    assert extra.mapTo(window, extra.rect().topLeft()).x() >= nibp.mapTo(window, nibp.rect().topRight()).x()
    replacement = QLabel("panel 2")
    window.set_session_panel(replacement)
    assert replacement.isVisible() and not panel.isVisible()


# --- with real acquisition threads --------------------------------------------------------------------------

def _simulated_window(qtbot, **kwargs) -> MainWindow:
    w = MainWindow(demo=True)
    qtbot.addWidget(w)
    sim = Simulator(seed=1, start=time.time() - 65.0, mark_demo=True, source="Simulator", **kwargs)
    w.add_device(SimulatorDriver(source="Simulator", simulator=sim), None, name="Simulator")
    return w


def test_simulator_values_reach_tiles_and_strips(qtbot) -> None:
    w = _simulated_window(qtbot)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.tiles["HR"].value_text().isdigit(), timeout=10_000)
    qtbot.waitUntil(lambda: all(s.has_signal for s in w.strips.values()), timeout=10_000)
    assert 40 <= int(w.tiles["HR"].value_text()) <= 120
    assert 90 <= int(w.tiles["SPO2"].value_text()) <= 100
    assert "/" in w.nibp_tile.value_text() and w.nibp_tile.value_text()[0].isdigit()
    assert all(tile.badge_text() == "DEMO" for tile in w.tiles.values())
    assert w.status.link_state("Simulator") == "associated"
    assert "receiving data" in w.status.device_text("Simulator")
    assert w.frame_timer.isActive()
    w.close()
    assert not w.frame_timer.isActive()
    assert all(not t.isRunning() for t in w.threads)


def test_consumers_get_every_batch_from_the_device_threads(qtbot) -> None:
    w = _simulated_window(qtbot)
    seen: list[tuple[int, int]] = []  # (thread id, samples in batch); list.append is thread-safe

    def consumer(batch: list[Sample]) -> None:
        seen.append((threading.get_ident(), len(batch)))

    def broken(batch: list[Sample]) -> None:
        raise RuntimeError("a broken consumer must not stop acquisition")

    w.add_sample_consumer(broken)
    w.add_sample_consumer(consumer)
    w.start()
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=10_000)
    w.close()
    assert all(ident != threading.get_ident() for ident, _ in seen)
    assert sum(n for _, n in seen) > 100
    assert w.runtime.consumer_errors >= 3


def test_the_window_is_a_view_on_its_chair_runtime(qtbot) -> None:
    """Devices run in the runtime's plain threads (no QThread, no signal from them); the window pulls."""
    from PySide6.QtCore import QThread

    w = _simulated_window(qtbot)
    w.start()
    qtbot.waitUntil(lambda: w.tiles["HR"].value_text().isdigit(), timeout=10_000)
    assert w.findChildren(QThread) == []
    assert [t.source for t in w.runtime.devices] == ["Simulator"]
    assert w.live is w.runtime.live
    qtbot.waitUntil(lambda: w.runtime.link_states()[1]["Simulator"].state == "associated", timeout=10_000)
    w.refresh()  # what the 30 Hz timer does: the status bar shows the state it pulled
    assert w.status.link_state("Simulator") == "associated"
    w.close()
    assert all(not t.is_running() for t in w.runtime.devices)


class LosingDriver(Driver):
    """Associates, then reports the device lost on the next call and stays silent."""

    name: ClassVar[str] = "losing"
    title: ClassVar[str] = "test driver"
    default_settings: ClassVar[PortSettings] = PortSettings()

    def __init__(self, source: str = "") -> None:
        super().__init__(source)
        self.calls = 0

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.calls += 1
        if self.calls == 1:
            return [LinkEvent(LinkState.ASSOCIATED, "hello", now, self.source)]
        if self.calls == 2:
            return [LinkEvent(LinkState.LOST, "cable pulled", now, self.source)]
        return []


def test_status_bar_follows_link_state_signals(qtbot) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    w.add_device(LosingDriver(source="Bed 3"), None, name="Bed 3")
    assert w.status.link_state("Bed 3") == "connecting"
    with qtbot.waitSignal(w.link_state_changed, timeout=10_000,
                          check_params_cb=lambda source, state, message: state == "lost"):
        w.start()
    assert w.status.link_state("Bed 3") == "lost"
    assert "connection lost" in w.status.device_text("Bed 3")
    w.close()
    qtbot.waitUntil(lambda: w.status.link_state("Bed 3") == "stopped", timeout=5_000)


def test_closing_stops_threads_and_timer(qtbot) -> None:
    w = _simulated_window(qtbot)
    w.add_device(LosingDriver(source="second"), None, name="second")  # one thread per device
    w.start()
    assert len(w.threads) == 2 and all(t.isRunning() for t in w.threads)
    w.close()
    assert all(t.isFinished() for t in w.threads)
    assert not w.frame_timer.isActive()
    w.shutdown()  # a second shutdown (app quitting after the window closed) is harmless


def _hue(colour: str) -> str:
    from PySide6.QtGui import QColor

    c = QColor(colour)
    r, g, b = c.red(), c.green(), c.blue()
    if g > 180 and r < 120 and b < 160:
        return "green"
    if g > 180 and b > 180 and r < 100:
        return "cyan"
    if r > 200 and g > 180 and b < 200:
        return "yellow"
    if r > 200 and g < 170:
        return "red"
    if r > 200 and g > 200 and b > 200:
        return "white"
    return "other"


def test_clinical_colours_on_a_dark_background(window: MainWindow) -> None:
    """The colours clinicians know: ECG/HR green, pleth/SpO2 cyan, resp/RR yellow, CO2 pale yellow, NIBP red-ish."""
    strips = {code: _hue(s.spec.colour) for code, s in window.strips.items()}
    assert strips == {mdc.ECG_II: "green", mdc.PLETH: "cyan", mdc.RESP_WAVE: "yellow", mdc.CO2_WAVE: "yellow"}
    tiles = {key: _hue(tile.colour) for key, tile in window.tiles.items()}
    assert tiles == {"HR": "green", "SPO2": "cyan", "RR": "yellow", "ETCO2": "yellow", "TEMP": "white",
                     "NIBP": "red"}
    assert window.theme.background == "#000000"


class BrokenDriver(LosingDriver):
    """A driver bug: feed raises (drivers must not, but the console must survive one that does)."""

    def feed(self, data: bytes, now: float) -> list[Sample]:
        raise ZeroDivisionError("driver bug")


def test_a_crashing_driver_shows_as_lost_and_its_thread_ends(qtbot, caplog) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    thread = w.add_device(BrokenDriver(source="Bed 4"), None, name="Bed 4")
    with qtbot.waitSignal(w.link_state_changed, timeout=10_000,
                          check_params_cb=lambda source, state, message: state == "lost"):
        w.start()
    qtbot.waitUntil(thread.isFinished, timeout=5_000)
    assert w.status.link_state("Bed 4") == "lost"
    assert "internal error" in w.status._devices["Bed 4"].toolTip()
    assert "driver bug" in caplog.text
    w.close()


def _from(source: str, samples: list[Sample]) -> list[Sample]:
    import dataclasses

    return [dataclasses.replace(s, source=source) for s in samples]  # type: ignore[type-var]


def test_a_lost_link_shows_on_the_waves_and_greys_its_values(window: MainWindow, clock: FakeClock) -> None:
    """Issue 12: after a monitor link was lost the waves kept the last sweep in full colour."""
    rt = window.runtime
    rt.ingest([LinkEvent(LinkState.ASSOCIATED, "hello", clock.t, "Bed 2 monitor")])
    rt.ingest(_from("Bed 2 monitor", waves(clock.t - 2.0, 2.0) + vitals(clock.t)))
    window.refresh()
    ecg = window.strips[mdc.ECG_II]
    live_colour = ecg.trace_colour()
    assert all(s.has_signal for s in window.strips.values())
    assert not window.tiles["HR"].is_stale
    clock.t += 0.5  # well before any timeout: the link state alone must grey the screen
    rt.ingest([LinkEvent(LinkState.LOST, "cable pulled", clock.t, "Bed 2 monitor")])
    window.refresh()
    for strip in window.strips.values():
        assert not strip.has_signal and strip.notice.isVisible()
        assert strip.notice_text() == "NO SIGNAL \u2014 Bed 2 monitor: connection lost, retrying"
        assert strip.trace_colour() != strip.spec.colour
    assert ecg.trace_colour() != live_colour
    hr = window.tiles["HR"]
    assert hr.is_stale and hr.value_colour() == window.theme.stale and hr.value_text() == "72"
    assert hr.info_text().startswith("no link")
    # the link comes back and data flows: colour and values return
    clock.t += 1.0
    rt.ingest([LinkEvent(LinkState.ASSOCIATED, "back", clock.t, "Bed 2 monitor")])
    rt.ingest(_from("Bed 2 monitor", waves(clock.t - 0.5, 0.5) + vitals(clock.t)))
    window.refresh()
    assert all(s.has_signal and s.notice_text() == "" for s in window.strips.values())
    assert ecg.trace_colour() == live_colour
    assert not hr.is_stale and hr.info_text() == ""


def test_a_lost_link_of_another_device_leaves_these_waves_alone(window: MainWindow, clock: FakeClock) -> None:
    rt = window.runtime
    rt.ingest([LinkEvent(LinkState.ASSOCIATED, "hello", clock.t, "Monitor"),
               LinkEvent(LinkState.ASSOCIATED, "hello", clock.t, "Capnograph")])
    rt.ingest(_from("Monitor", waves(clock.t - 2.0, 2.0) + vitals(clock.t)))
    window.refresh()
    rt.ingest([LinkEvent(LinkState.LOST, "unplugged", clock.t, "Capnograph")])
    window.refresh()
    assert all(s.has_signal for s in window.strips.values())
    assert not window.tiles["HR"].is_stale


def test_waves_that_stop_arriving_show_no_signal(window: MainWindow, clock: FakeClock) -> None:
    from widgets.waveform_strip import NO_SIGNAL_AFTER

    window.live.ingest(waves(clock.t - 2.0, 2.0))
    window.refresh()
    for k in range(1, 200):  # frames for several seconds, no samples, link still reported up
        clock.t += 1 / 30
        window.refresh()
        if k / 30 > NO_SIGNAL_AFTER + 0.1:
            assert not any(s.has_signal for s in window.strips.values())
    assert all(s.notice_text() == "NO SIGNAL" for s in window.strips.values())

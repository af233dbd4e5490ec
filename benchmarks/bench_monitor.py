"""Cost of the live monitor window: main-thread time per frame and whole-process CPU in demo mode.

How it measures (one process, simulator running in its acquisition thread as in ``chairside --demo``):

* frame time: the window's frame (``MainWindow.refresh()``: pull the rings, update strips and tiles) plus the
  event processing that paints it, timed on the main thread at a 30 frames/s pace. Median and 95th percentile.
* baseline: in the same run, interleaved in blocks with the window's frames, a bare pyqtgraph loop: one
  PlotWidget of the strips' size with four curves of exactly the strips' point counts, the same pens and the
  same NaN erase gap, updated with ``setData``. The ratio window/bare says what the monitor adds on top of
  drawing the same points (target <= 1.5).
* CPU: the demo window left to run on its own 30 Hz timer for 30 s (8 s with ``--quick``); user+system CPU
  time of the whole process (all threads) over wall time, in % of one core (target <= 20 %).

Without a display the offscreen platform is used (raster painting, like xcb without compositing).
Run: ``python -m benchmarks --only monitor [--quick]``, or this file's ``run`` directly.
"""

from __future__ import annotations

import os
import time

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from benchmarks.common import Row, median, percentile, row

BENCH = "monitor"
FPS = 30.0
BLOCK = 30  # frames per interleaved block


def _demo_window():
    from console.main_window import MainWindow
    from devices.simulator import Simulator
    from devices.simulator.driver import SimulatorDriver

    window = MainWindow(demo=True)
    simulator = Simulator(seed=0, start=time.time() - 65.0, mark_demo=True, auto_infusion=True,
                          source="Simulator")
    window.add_device(SimulatorDriver(source="Simulator", simulator=simulator), None, name="Simulator")
    window.resize(1600, 960)
    window.show()
    return window


class BareLoop:
    """The same points drawn the plainest fast pyqtgraph way: one plot, four curves, setData per frame."""

    def __init__(self, counts: list[int], size: tuple[int, int], colours: list[str]) -> None:
        import pyqtgraph as pg

        self.widget = pg.PlotWidget(background="#000000")
        self.widget.resize(*size)
        plot = self.widget.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.setClipToView(True)
        view = plot.getViewBox()
        view.disableAutoRange()
        view.setXRange(0, 1.0, padding=0)
        view.setYRange(0, len(counts), padding=0)
        self.curves = []
        self.x = []
        self.y = []
        self.signal = []
        rng = np.random.default_rng(0)
        for i, (n, colour) in enumerate(zip(counts, colours)):
            curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=1), antialias=False, connect="finite")
            plot.addItem(curve)
            curve.setClipToView(True)
            self.curves.append(curve)
            self.x.append(np.linspace(0, 1.0, n))
            self.y.append(np.empty(n))
            phase = np.arange(3 * n) / n * 40.0
            self.signal.append(len(counts) - i - 0.5 + 0.4 * np.sin(phase) + 0.02 * rng.standard_normal(3 * n))
        self.frame = 0
        self.widget.show()

    def step(self) -> None:
        self.frame += 1
        for curve, x, y, signal in zip(self.curves, self.x, self.y, self.signal):
            n = y.shape[0]
            offset = (self.frame * n // 240) % (2 * n)
            np.copyto(y, signal[offset:offset + n])
            cursor = offset % n
            y[cursor:cursor + n // 40] = np.nan  # the erase gap, as in the strips
            curve.setData(x, y)


def _pace(app, steps: list, frames: int) -> list[list[float]]:
    """Run ``frames`` frames of each step, interleaved in blocks, at 30 frames/s; ms per frame per step."""
    times: list[list[float]] = [[] for _ in steps]
    period = 1.0 / FPS
    next_t = time.perf_counter()
    done = 0
    while done < frames:
        for k, step in enumerate(steps):
            for _ in range(min(BLOCK, frames - done)):
                t0 = time.perf_counter()
                step()
                app.processEvents()
                times[k].append((time.perf_counter() - t0) * 1000.0)
                next_t += period
                rest = next_t - time.perf_counter()
                if rest > 0:
                    time.sleep(rest)  # the acquisition thread runs meanwhile, as it would live
                else:
                    next_t = time.perf_counter()
        done += min(BLOCK, frames - done)
    return times


def _wait(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def run(quick: bool) -> list[Row]:
    import psutil
    from PySide6.QtCore import QTimer

    from console.app import create_application

    app = create_application()
    frames = 150 if quick else 600
    cpu_seconds = 8.0 if quick else 30.0

    # --- frame cost: the window against a bare loop over the same points -------------------------------------
    window = _demo_window()
    window.start()
    window.frame_timer.stop()  # frames are driven (and timed) by hand below
    _wait(app, 1.0)  # rings filled, every strip has its source
    window.refresh()
    counts = [window.live.wave(code).capacity for code in window.strips]  # type: ignore[union-attr]
    first = next(iter(window.strips.values()))
    size = (first.width(), sum(s.height() for s in window.strips.values()))
    bare = BareLoop(counts, size, [s.spec.colour for s in window.strips.values()])
    _wait(app, 0.3)
    win_ms, bare_ms = _pace(app, [window.refresh, bare.step], frames)
    window.close()
    bare.widget.close()
    app.processEvents()

    win_med, bare_med = median(win_ms), median(bare_ms)
    points = sum(counts)
    rows = [
        row(BENCH, "window frame, median", win_med, "ms", note=f"{frames} frames at 30/s, {points:,} points"),
        row(BENCH, "window frame, p95", percentile(win_ms, 95), "ms"),
        row(BENCH, "bare pyqtgraph frame, median", bare_med, "ms", note="same points, one plot, 4 curves"),
        row(BENCH, "bare pyqtgraph frame, p95", percentile(bare_ms, 95), "ms"),
        row(BENCH, "window / bare (median)", win_med / bare_med if bare_med > 0 else float("nan"), "x",
            at_most=1.5),
    ]

    # --- CPU of the live demo, on its own timer ------------------------------------------------------------
    window = _demo_window()
    process = psutil.Process()
    window.start()
    _wait(app, 1.0)
    frame0 = window._frame
    cpu0 = process.cpu_times()
    wall0 = time.perf_counter()
    stop = QTimer()
    stop.setSingleShot(True)
    stop.timeout.connect(app.quit)
    stop.start(int(cpu_seconds * 1000))
    app.exec()
    wall = time.perf_counter() - wall0
    cpu1 = process.cpu_times()
    fps = (window._frame - frame0) / wall
    window.close()
    app.processEvents()
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    rows += [
        row(BENCH, "process CPU, live demo", 100.0 * used / wall, "% of one core", at_most=20.0,
            note=f"{wall:.0f} s, all threads"),
        row(BENCH, "frame timer rate, live demo", fps, "frames/s", at_least=25.0),
    ]
    return rows


if __name__ == "__main__":
    import sys

    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))

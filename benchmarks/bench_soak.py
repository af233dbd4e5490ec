"""Soak: an 8-hour session at accelerated time with the live window open and the vitals recorder writing.

Set-up (one process, offscreen Qt): the :class:`~console.main_window.MainWindow` runs the built-in simulator
(waves and numerics, auto infusion) through its usual acquisition thread and 30 Hz frame timer; the
:class:`~console.alarms.AlarmEngine` gets every batch and is ticked every 125 ms as the station does; a
:class:`~console.record.vitals.VitalsRecorder` stores every numeric and wave block into a fresh SQLite file.
Time is accelerated by giving the window (and so its acquisition loop, the simulator and every time stamp) a
clock that runs ``SPEED`` times faster than the wall clock: 8 simulated hours take 48 s at 600x, the
simulator's maximum. The simulated time actually covered is measured from the HR values that arrived, and the
speed achieved is reported (the run lasts until the whole simulated span has arrived or a wall-time cap).

Figures (target in brackets):

* RSS growth from the end of the warm-up (first 30 simulated min; 5 min in ``--quick``) to the end [<= 20 MB];
* frame time (``refresh()`` + the paint it causes, 150 frames paced at 30/s with the timer paused, measured
  after one sweep at real time; median) at the end relative to the start, in % [at most 10 % slower; faster
  is fine]. On a shared machine this figure moves by tens of % between runs: judge it over several runs;
* thread count growth: the most threads seen in the last quarter of the run minus the most in the first
  quarter after warm-up, not counting Qt's global QThreadPool (Qt starts its threads on demand, retires them
  after 30 s idle and never exceeds the pool's cap, which the note gives) [<= 0]; thread names whose
  count differs between start and end are listed;
* the recorder's backlog at the end (rows still queued) and what it wrote.

``--quick`` simulates 30 minutes instead of 8 hours. Run: ``python -m benchmarks --only soak [--quick]``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import Row, median, row

BENCH = "soak"
SPEED = 600.0
FRAMES_PER_PROBE = 150
ALARM_TICK_MS = 125
#: the name Qt gives threads of its global QThreadPool
POOLED = "Thread (pooled)"
#: seconds at real time before a frame probe: one full sweep (8 s), so the strips show live-paced data only
SETTLE_S = 8.5


class FastClock:
    """Wall time running ``speed`` times faster (all of the app reads it); the speed can change on the fly."""

    def __init__(self, speed: float) -> None:
        now = time.time()
        self._anchor = (now, now, speed)  # (wall, clock, speed), replaced as one tuple: safe across threads

    def __call__(self) -> float:
        wall, clock, speed = self._anchor
        return clock + (time.time() - wall) * speed

    def set_speed(self, speed: float) -> None:
        now = time.time()
        self._anchor = (now, self(), speed)


class Span:
    """Thread-safe first/last HR time seen: how much simulated time has arrived."""

    def __init__(self) -> None:
        import threading

        from devices import mdc

        self._code = mdc.HEART_RATE
        self._lock = threading.Lock()
        self.first: float | None = None
        self.last: float | None = None

    def consume(self, samples: list[Any]) -> None:
        from devices.model import Numeric

        for s in samples:
            if isinstance(s, Numeric) and s.mdc == self._code:
                with self._lock:
                    if self.first is None:
                        self.first = s.host_time
                    self.last = s.host_time

    @property
    def seconds(self) -> float:
        with self._lock:
            return 0.0 if self.first is None or self.last is None else self.last - self.first


def _thread_names() -> Counter[str]:
    """How many threads of each name the process has (Linux: /proc/self/task/*/comm; empty elsewhere)."""
    names: Counter[str] = Counter()
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            names[comm.read_text().strip()] += 1
        except OSError:
            pass  # the thread ended while we looked
    return names


def _spin(app: Any, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def _frame_probe(app: Any, window: Any, clock: FastClock, recorder: Any) -> tuple[float, int]:
    """Median ms of one frame (refresh + the paint it causes), paced at 30/s with the frame timer paused, and
    how many of the frames had new ECG samples to draw.

    Measured as in a live session: the clock runs at real time meanwhile (so the acquisition thread produces
    data at a monitor's pace, not 600x), one whole sweep passes first (what a strip costs to draw depends on
    the data it holds: a sweep squeezed from 600x data is a different picture) and the recorder has caught
    up, so what is compared between start and end is the window's own cost, not how busy other threads are.
    """
    clock.set_speed(1.0)
    recorder.flush(timeout=60)
    _spin(app, SETTLE_S)
    window.frame_timer.stop()
    from devices import mdc

    times: list[float] = []
    fresh = 0
    ecg = window.live.wave(mdc.ECG_II)
    seen = ecg.written if ecg is not None else 0
    next_t = time.perf_counter()
    for _ in range(FRAMES_PER_PROBE):
        if ecg is not None and ecg.written != seen:
            seen = ecg.written
            fresh += 1
        t0 = time.perf_counter()
        window.refresh()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000.0)
        next_t += 1.0 / 30.0
        rest = next_t - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        else:
            next_t = time.perf_counter()
    window.frame_timer.start()
    clock.set_speed(SPEED)
    # the median of all frames: taking the quietest block instead would favour a stretch in which no new data
    # happened to arrive (a frame with nothing new to draw costs a tenth of one that has)
    return median(times), fresh


def run(quick: bool) -> list[Row]:
    import psutil
    from PySide6.QtCore import QThreadPool, QTimer

    from console.alarms import AlarmEngine
    from console.app import create_application
    from console.main_window import MainWindow
    from console.record import open_database
    from console.station import default_alarm_limits
    from devices.simulator import Simulator
    from devices.simulator.driver import SimulatorDriver

    os.environ.setdefault("CHAIRSIDE_FAST_HASH", "1")
    app = create_application()
    process = psutil.Process()
    sim_seconds = 1800.0 if quick else 8 * 3600.0
    warmup = 300.0 if quick else 1800.0
    wall_cap = sim_seconds / SPEED * 3 + 30.0

    with tempfile.TemporaryDirectory(prefix="chairside-soak-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'soak.sqlite3'}")
        svc = db.service(db.demo_login())
        session = svc.start_session(svc.create_patient("SOAK-1").id, "iv-ketamine-0.5", "1", "soak")
        recorder = db.vitals_recorder(session.id)
        clock = FastClock(SPEED)
        window = MainWindow(demo=True, clock=clock)
        engine = AlarmEngine(default_alarm_limits())
        span = Span()
        window.add_sample_consumer(span.consume)
        window.add_sample_consumer(engine.submit)
        window.add_sample_consumer(recorder.submit)
        simulator = Simulator(seed=0, speed=1.0, mark_demo=True, auto_infusion=True, source="Simulator")
        window.add_device(SimulatorDriver(source="Simulator", simulator=simulator), None, name="Simulator")
        window.resize(1600, 960)
        window.show()
        alarm_timer = QTimer()
        alarm_timer.setInterval(ALARM_TICK_MS)
        def alarm_tick() -> None:
            engine.tick(clock())
            engine.drain_events()

        alarm_timer.timeout.connect(alarm_tick)
        alarm_timer.start()
        window.start()
        wall0 = time.perf_counter()
        try:
            while span.seconds < warmup and time.perf_counter() - wall0 < wall_cap:
                _spin(app, 0.2)
            frame_start, fresh_start = _frame_probe(app, window, clock, recorder)
            rss_start = process.memory_info().rss
            names_start = _thread_names()
            samples: list[tuple[float, int, int]] = []  # (simulated s, own threads, Qt pool threads)
            warm_span, warm_wall = span.seconds, time.perf_counter()
            while span.seconds < sim_seconds and time.perf_counter() - wall0 < wall_cap:
                _spin(app, 0.2)
                names = _thread_names()
                pooled = names.get(POOLED, 0)
                samples.append((span.seconds, sum(names.values()) - pooled, pooled))
            covered = span.seconds
            achieved = (covered - warm_span) / max(1e-9, time.perf_counter() - warm_wall)
            status_live = recorder.status()  # before the probe lets it catch up
            t_catch = time.perf_counter()
            recorder.flush(timeout=120)
            catch_up = time.perf_counter() - t_catch
            frame_end, fresh_end = _frame_probe(app, window, clock, recorder)
            rss_end = process.memory_info().rss
            names_end = _thread_names()
        finally:
            alarm_timer.stop()
            window.close()
            app.processEvents()
        status = recorder.close()
        db.close()
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("soak.sqlite3*")) / 1e6

    wall = time.perf_counter() - wall0
    pool_cap = QThreadPool.globalInstance().maxThreadCount()
    # a leak grows steadily, so compare the most threads seen in the first quarter of the run after warm-up
    # with the most in the last quarter; Qt's global pool threads come and go on demand, retire after 30 s
    # idle and never exceed the pool's cap, so they are counted apart
    quarter = (covered - warm_span) / 4
    threads_early = max((n for t, n, _ in samples if t <= warm_span + quarter), default=0)
    threads_late = max((n for t, n, _ in samples if t >= covered - quarter), default=0)
    pool_max = max((p for _, _, p in samples), default=0)
    changed = ", ".join(f"{name} {names_start.get(name, 0)}->{names_end.get(name, 0)}"
                        for name in sorted(set(names_start) | set(names_end))
                        if names_start.get(name, 0) != names_end.get(name, 0))
    change = 100.0 * (frame_end - frame_start) / frame_start if frame_start > 0 else float("nan")
    speed_note = (f"{covered / 3600:.2f} simulated h in {wall:.0f} s wall; clock {SPEED:g}x, "
                  f"data arrived at {achieved:.0f}x after warm-up")
    return [
        row(BENCH, "simulated time covered", covered / 3600.0, "h", at_least=sim_seconds / 3600.0 * 0.99,
            note=speed_note),
        row(BENCH, "RSS growth after warm-up", (rss_end - rss_start) / 1e6, "MB", at_most=20.0,
            note=f"{rss_start / 1e6:.0f} -> {rss_end / 1e6:.0f} MB, warm-up {warmup / 60:g} simulated min"),
        row(BENCH, "frame time change, end vs start", change, "%", at_most=10.0,
            note=f"median {frame_start:.2f} -> {frame_end:.2f} ms over {FRAMES_PER_PROBE} frames each, "
                 f"{fresh_start} / {fresh_end} of them with new ECG (negative: faster at the end)"),
        row(BENCH, "thread count growth after warm-up", float(threads_late - threads_early), "threads",
            at_most=0.0, note=f"most in the first / last quarter: {threads_early} -> {threads_late}, without "
                              f"Qt's global thread pool (at most {pool_max} seen, capped at "
                              f"{pool_cap})" + (f"; came and went: {changed}" if changed else "")),
        row(BENCH, "recorder backlog at the end", float(status_live.pending_rows), "rows",
            note=f"written {catch_up:.1f} s later; {status.numerics_written:,} numeric rows, "
                 f"{status.wave_chunks_written:,} wave chunks, {db_mb:.0f} MB file, writer CPU "
                 f"{status.cpu_seconds:.1f} s" + (f"; error: {status.error}" if status.error else "")),
    ]


if __name__ == "__main__":
    import sys

    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))

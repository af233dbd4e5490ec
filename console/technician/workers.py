"""Background threads of the setup screen: a short connection test and protocol auto-detection.

Both are QThreads whose ``run`` does blocking port work; they report with signals emitted from their own
thread (queued to the GUI). :meth:`stop` asks them to end and waits; the dialog calls it on close, so no port
stays open after the window is gone.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread, Signal

from console.technician.advice import Advice, advise, first_data_wait
from console.technician.model import LatestValues, format_numeric, snapshot
from devices import registry
from devices.acquisition import DeviceLink
from devices.autodetect import Result, candidate_settings, try_one
from devices.transport import PortSettings

#: a test ends early once this many frames decoded and a value arrived: the answer is clear
ENOUGH_FRAMES = 3


def probe_seconds(protocol: str) -> float:
    """How long a connection test listens: 5 s, or long enough for the protocol to be asked twice."""
    return max(5.0, first_data_wait(protocol) + 1.0)


class _Cancelled(Exception):
    """Raised inside auto-detect's sleep when the thread is asked to stop."""


class ProbeThread(QThread):
    """Runs a :class:`DeviceLink` for up to ``seconds`` (ending early once data clearly arrives) and reports.

    ``finished_report(level, text)``: ``level`` as in :class:`~console.technician.advice.Advice`; ``text``
    says what arrived and what to check. :attr:`link` and :attr:`values` may be watched by a diagnostics panel
    while it runs.
    """

    finished_report = Signal(str, str)

    def __init__(self, protocol: str, url: str | None, settings: PortSettings, seconds: float = 5.0,
                 name: str = "test", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"connection-test:{name}")
        self.seconds = seconds
        self.values = LatestValues()
        driver = registry.get(protocol).driver(source=name)
        self.link = DeviceLink(driver, url, settings, self.values, name=name)
        self._stop = threading.Event()
        self.advice: Advice | None = None

    def run(self) -> None:  # the probe's own thread
        start = time.monotonic()
        link, driver = self.link, self.link.driver
        try:
            while not self._stop.is_set():
                elapsed = time.monotonic() - start
                if elapsed >= self.seconds:
                    break
                if driver.stats.frames_ok >= ENOUGH_FRAMES and self.values.snapshot().numerics:
                    break
                wait = link.step()
                if link.counters.connects == 0 and link.last_error:
                    break  # the port itself cannot be opened: waiting longer will not change that
                if wait > 0:
                    self._stop.wait(min(wait, self.seconds - elapsed))
        except Exception as exc:  # noqa: BLE001 (a driver bug must be reported, not kill the thread silently)
            link.last_error = f"internal error: {exc}"
        finally:
            link.shutdown()
        elapsed = time.monotonic() - start
        snap = snapshot(link, with_frames=False)
        # a test that ran its course gives a verdict; "still waiting" is only for one stopped early
        advice = advise(snap, elapsed if self._stop.is_set() else float("inf"))
        self.advice = advice
        self.finished_report.emit(advice.level, probe_summary(advice, self.values, snap.bytes_in,
                                                              snap.bytes_out, elapsed))

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the test to end now and wait for it; True when it has finished."""
        self._stop.set()
        return self.wait(timeout_ms) if self.isRunning() else True


def probe_summary(advice: Advice, values: LatestValues, bytes_in: int, bytes_out: int, seconds: float) -> str:
    """The test's outcome in plain words: the diagnosis, then what arrived."""
    snap = values.snapshot()
    lines = [str(advice)]
    with_value = [n for n in snap.numerics if n.value is not None]
    without = [n.label for n in snap.numerics if n.value is None]
    if with_value:
        parts = []
        for n in with_value[:10]:
            label, value, state = format_numeric(n)
            parts.append(f"{label} {value}" + ("" if state == "ok" else f" ({state})"))
        lines.append("Values: " + ", ".join(parts) + ".")
    if without:
        lines.append("Without a value now: " + ", ".join(without[:10]) + ".")
    if snap.waves:
        lines.append("Waves: " + ", ".join(f"{w.label} {w.fs:g}/s" for w in snap.waves) + ".")
    lines.append(f"In {seconds:.1f} s: {bytes_in} bytes in, {bytes_out} bytes out.")
    return "\n".join(lines)


class AutodetectThread(QThread):
    """Tries every protocol and line setting on ``url`` (see :mod:`devices.autodetect`), one result at a time.

    ``result_ready(Result)`` after each try; ``done(list[Result])`` at the end, best first (also after a stop,
    with what was tried so far).
    """

    result_ready = Signal(object)
    done = Signal(object)

    def __init__(self, url: str, protocols: list[str] | None = None, seconds_per_try: float = 3.0,
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"autodetect:{url}")
        self.url = url
        self.protocols = protocols if protocols is not None else [
            p for p in registry.available() if p != "simulator"]
        self.seconds_per_try = seconds_per_try
        self._stop = threading.Event()
        self.results: list[Result] = []

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Cancelled

    def _clock(self) -> float:
        # try_one only sleeps while the port is closed; while connected it checks the clock between reads,
        # so a stop request makes the clock jump past the end of the try
        return time.time() + (1e9 if self._stop.is_set() else 0.0)

    def run(self) -> None:  # the auto-detect thread
        try:
            for name in self.protocols:
                try:
                    settings_list = candidate_settings(name)
                except ImportError:
                    continue
                for settings in settings_list:
                    if self._stop.is_set():
                        raise _Cancelled
                    result = try_one(self.url, name, settings, self.seconds_per_try, sleep=self._sleep,
                                     clock=self._clock)
                    if self._stop.is_set():
                        raise _Cancelled  # a try cut short says nothing about the protocol
                    self.results.append(result)
                    self.result_ready.emit(result)
                    if result.error:
                        raise _Cancelled  # the port itself is the problem: other settings will not help
        except _Cancelled:
            pass
        ranked = sorted(self.results, key=lambda r: (not r.answered, -r.frames_ok, r.frames_bad))
        self.done.emit(ranked)

    def stop(self, timeout_ms: int = 8000) -> bool:
        """Ask auto-detect to end after the current step and wait; True when it has finished."""
        self._stop.set()
        return self.wait(timeout_ms) if self.isRunning() else True

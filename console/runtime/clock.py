"""Clocks for the chair runtime: the wall clock, a scaled clock for demos and a stepped clock for simulations.

Every part of a :class:`~console.runtime.chair.ChairRuntime` (device links, the alarm engine's timing, the
recorder's time stamps, entry times) reads the same clock, so a simulated session can run sixty times faster
than real time and still keep the alarm persistence, the NIBP cycle and the entry times consistent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

#: the shortest real wait of a scaled clock (see ScaledClock)
MIN_REAL_WAIT_S = 0.01


class Clock(Protocol):
    """What the runtime needs of a clock: POSIX seconds now, and a stoppable wait of clock seconds."""

    def now(self) -> float:
        """The current time (POSIX seconds) on this clock."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` of this clock's time or until ``stop`` is set; True when ``stop`` is set."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))

    def __call__(self) -> float:
        return self.now()


class ScaledClock:
    """Time that runs ``speed`` times faster than real time from ``start`` (default: now).

    Waits are shortened by the same factor, so a loop that ticks every 0.125 clock-seconds ticks eight times a
    clock-second whatever the speed, but never more often than every 10 ms of real time (at high speeds a loop
    spinning faster would only take CPU from the simulator it waits for).
    """

    def __init__(self, speed: float, start: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"a clock's speed must be positive, not {speed!r}")
        self.speed = float(speed)
        self.start = time.time() if start is None else float(start)
        self._origin = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._origin) * self.speed

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(MIN_REAL_WAIT_S, seconds / self.speed))

    def __call__(self) -> float:
        return self.now()


class ManualClock:
    """A clock moved by hand (:meth:`set`, :meth:`advance`): simulations stepping as fast as they can, tests.

    Waits do not advance it; they only yield the thread briefly so loops driven by it stay stoppable.
    """

    def __init__(self, t: float) -> None:
        self._t = float(t)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def set(self, t: float) -> None:
        """Move the clock to ``t`` (never backwards: times the runtime already stamped stay in order)."""
        with self._lock:
            self._t = max(self._t, float(t))

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._t += seconds

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(min(max(0.0, seconds), 0.05))

    def __call__(self) -> float:
        return self.now()


def record_clock(clock: Clock) -> Callable[[], datetime]:
    """The clock in the form the record takes (``open_database(url, clock=...)``): an aware UTC datetime."""

    def now() -> datetime:
        return datetime.fromtimestamp(clock.now(), UTC)

    return now


class FunctionClock:
    """A plain ``() -> float`` function (a test's fake clock) as a :class:`Clock`; waits are real time."""

    def __init__(self, fn: Callable[[], float]) -> None:
        self._fn = fn

    def now(self) -> float:
        return float(self._fn())

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))

    def __call__(self) -> float:
        return self.now()


def as_clock(clock: Clock | Callable[[], float]) -> Clock:
    """``clock`` as a :class:`Clock`: itself if it is one, else a plain time function wrapped."""
    if hasattr(clock, "now") and hasattr(clock, "wait"):
        return clock
    if clock is time.time:
        return WallClock()
    return FunctionClock(clock)

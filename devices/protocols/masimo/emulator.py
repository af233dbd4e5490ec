"""Device side of ASCII 1: a Rad-8 printing one line per (simulated) second from the simulator's numerics."""

from __future__ import annotations

import math
import random
from typing import Any

from devices import mdc
from devices.driver import Emulator
from devices.model import Numeric, State
from devices.protocols.masimo.ascii1 import ALARM_ACTIVE, EXC_SET_ACTIVE, format_device_time, format_value

#: simulator states → EXC bits the oximeter would report for them
_EXC_FOR_STATE: tuple[tuple[State, int], ...] = (
    (State.SENSOR_OFF, 0x0020),
    (State.LOW_PERFUSION, 0x0004),
    (State.SEARCHING, 0x0008),
    (State.ARTIFACT | State.QUESTIONABLE, 0x0010),
    (State.INVALID, 0x0400),
)

# Simple built-in limits so the ALARM field moves when the simulated patient desaturates (the Rad-8 defaults).
SPO2_LOW, SPO2_HIGH = 90.0, 100.0
PR_LOW, PR_HIGH = 50.0, 140.0


class MasimoEmulator(Emulator):
    """A Rad-8 in ASCII 1 mode driven by ``simulator`` (see :mod:`devices.simulator`).

    It writes one line per simulated second (so ``speed=10`` gives ten lines a second, each clock one second
    apart), prints dashes for values the simulator marks unusable, sets the EXC sensor-off bit when the sensor
    is off, sends nothing while the simulator is not responding, and with the simulator's ``noise`` on puts
    random garbage between lines. Host bytes are ignored: the oximeter has no input.
    """

    def __init__(self, simulator: Any, serial_number: str = "0000012345") -> None:
        self.simulator = simulator
        self.serial_number = serial_number
        self._rng = random.Random(getattr(simulator, "seed", 0))
        self._start: float | None = None
        self._next_line = 0.0
        self._latest: dict[int, Numeric] = {}

    @property
    def _speed(self) -> float:
        speed = float(getattr(self.simulator, "speed", 1.0) or 1.0)
        return speed if speed > 0 else 1.0

    def receive(self, data: bytes, now: float) -> None:
        """The oximeter ignores anything the host sends."""

    def outgoing(self, now: float) -> bytes:
        """The next line when one is due (plus garbage before it with noise on), else nothing."""
        if self._start is None:
            self._start = now
            self._next_line = now
        if now < self._next_line:
            return b""
        interval = 1.0 / self._speed
        # Catch up without bursting after a long pause (not responding, a stalled host): one line now.
        self._next_line = max(self._next_line + interval, now - interval)
        for sample in self.simulator.advance(now):
            if isinstance(sample, Numeric):
                self._latest[sample.mdc] = sample
        if not getattr(self.simulator, "responding", True) or not self._latest:
            # silent while the simulated device does not answer, and while it boots (no value computed yet)
            return b""
        # The simulator's own clock when it has one (it survives speed changes), else scaled host time.
        sim_time = getattr(self.simulator, "sim_time", None)
        device_time = sim_time if isinstance(sim_time, (int, float)) else \
            self._start + (now - self._start) * self._speed
        # whole seconds, guarding against 9.999999 from float arithmetic printing as the second before
        line = self.line(math.floor(device_time + 1e-6)).encode("ascii") + b"\r\n"
        if getattr(self.simulator, "noise", False):
            garbage = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(4, 40)))
            line = garbage + line
        return line

    def line(self, device_time: float) -> str:
        """The ASCII 1 line for the latest simulated values at ``device_time`` (without the line end)."""
        spo2 = self._latest.get(mdc.SPO2)
        pr = self._latest.get(mdc.PULSE_RATE_OXIM) or self._latest.get(mdc.PULSE_RATE)
        pi = self._latest.get(mdc.PERF_INDEX)
        exc = 0
        states = State.NONE
        for numeric in (spo2, pr, pi):
            if numeric is not None:
                states |= numeric.state
        if states & State.SENSOR_OFF:
            exc |= 0x0020  # sensor off explains everything else; the oximeter reports only that
        else:
            for state, bits in _EXC_FOR_STATE:
                if states & state:
                    exc |= bits
        if spo2 is None:
            exc |= 0x0001  # no oximetry at all from the simulator: report "no sensor"
        if not exc & 0x0021:
            exc |= EXC_SET_ACTIVE
        spo2_v, pr_v, pi_v = (_usable(n) for n in (spo2, pr, pi))
        alarm = 0
        if spo2_v is not None:
            alarm |= 0x0002 if spo2_v < SPO2_LOW else 0x0001 if spo2_v > SPO2_HIGH else 0
        if pr_v is not None:
            alarm |= 0x0008 if pr_v < PR_LOW else 0x0004 if pr_v > PR_HIGH else 0
        if alarm:
            alarm |= ALARM_ACTIVE
        return (
            f"{format_device_time(device_time)} SN={self.serial_number}"
            f" SPO2={format_value(_round(spo2_v), 3, percent=True)}"
            f" BPM={format_value(_round(pr_v), 3)}"
            f" PI={format_value(None if pi_v is None else min(pi_v, 20.0), 5, 2, percent=True)}"
            f" SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+--"
            f" ALARM={alarm:04X} EXC={exc:06X}"
        )


def _usable(numeric: Numeric | None) -> float | None:
    if numeric is None or not numeric.usable or numeric.state & State.SENSOR_OFF:
        return None
    return numeric.value


def _round(value: float | None) -> float | None:
    return None if value is None else float(max(0, min(999, round(value))))

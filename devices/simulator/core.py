"""The simulator: a deterministic device producing :mod:`devices.model` samples from a physiological model.

Clocks. ``start`` is the POSIX time at which simulated time 0 begins; ``elapsed`` counts simulated seconds
since then; ``sim_time = start + elapsed`` is the device clock stamped on every sample (``device_time`` of
numerics, ``t0`` of wave blocks). :meth:`Simulator.advance` maps host time to elapsed time at ``speed``
(1..600 times real time); :meth:`Simulator.advance_sim` steps elapsed time directly (headless runs, tests).

Determinism. Output depends only on the scenario, the seed, the options and the calls that change the
physiology (``start_infusion``/``stop_infusion``/``measure_nibp_now``) and *when* in simulated time they were
made, never on how advancing is chunked: waves are synthesised in fixed segments of
:data:`SEGMENT_BLOCKS` blocks on a fixed time grid, and every random number is addressed by index
(:class:`~devices.simulator.rhythm.NoiseStream`).

What comes out, per simulated second and block:

* wave blocks of :data:`~devices.simulator.waves.BLOCK_SECONDS` (256 ms) for ECG II, pleth, respiration and
  CO2, emitted once complete (``waves=False`` skips them);
* numerics at every whole elapsed second from 1 s: HR, SpO2, PR, RR, EtCO2, temperature;
* NIBP: a measurement every ``nibp_interval`` seconds from ``nibp_first_at`` (and on
  :meth:`Simulator.measure_nibp_now`), taking ``nibp_duration`` seconds; while it runs an ``NIBP_SYS`` numeric
  with ``State.MEASURING`` (value: the previous result or ``None``) each second; then systolic, diastolic and
  mean with the completion time as ``device_time``. Results are not repeated between measurements.

Samples are returned in the simulated-time order in which they became available (a wave block when its last
sample is reached).
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from devices import mdc
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.simulator import rhythm, waves
from devices.simulator.physiology import Infusion, Physiology
from devices.simulator.scenarios import Baseline, Scenario, get_scenario

MIN_SPEED = 1.0
MAX_SPEED = 600.0
#: blocks per synthesis segment (8.192 s): long enough to vectorise well, short enough that an infusion
#: started at run time shows in the ECG within seconds
SEGMENT_BLOCKS = 32
DEFAULT_AUTO_INFUSION_AT = 120.0
#: the most simulated time one advance() call catches up (seconds, and host seconds at the current speed);
#: beyond that the simulator skips ahead and marks a gap instead of producing hours of samples at once
MAX_CATCHUP = 900.0
MAX_CATCHUP_HOST = 5.0
_EPS = 1e-9

#: windows over which the monitor averages what it reports
HR_WINDOW = 8.0
RR_WINDOW = 30.0

_ORDER_LINK, _ORDER_WAVE, _ORDER_NUMERIC = 0, 1, 2


#: a sample with its sort key: (simulated time, kind order, order within the kind, sample)
_Timed = tuple[float, int, int, Sample]


@dataclass(slots=True)
class _Nibp:
    """Run-time state of the NIBP cycle."""

    next_auto: float | None
    measuring: tuple[float, float] | None = None
    last: tuple[float, float, float] | None = None  # sys, dia, mean
    last_time: float | None = None  # elapsed seconds of the last result
    count: int = 0


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Serialise a public method on the simulator's lock: the acquisition thread advances the simulator
    while the GUI thread starts infusions or asks for a BP."""

    @functools.wraps(method)
    def wrapper(self: Simulator, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _check_speed(speed: object) -> float:
    if isinstance(speed, bool) or not isinstance(speed, numbers.Real) or not math.isfinite(float(speed)):
        raise ValueError(f"simulator speed must be a number from {MIN_SPEED:g} to {MAX_SPEED:g}, "
                         f"not {speed!r}")
    value = float(speed)
    if not MIN_SPEED <= value <= MAX_SPEED:
        raise ValueError(f"simulator speed must be from {MIN_SPEED:g} (real time) to {MAX_SPEED:g} "
                         f"(10 simulated minutes per second), not {value:g}")
    return value


def _check_seconds(name: str, value: object, *, allow_none: bool = False,
                   minimum: float = 0.0) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    if float(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum:g} s, not {float(value):g}")
    return float(value)


class Simulator:
    """A simulated bedside monitor connected to a simulated patient.

    Parameters
    ----------
    scenario:
        one of :data:`~devices.simulator.SCENARIOS` (``stable``, ``hypertensive``, ``desaturation``,
        ``artifact``, ``disconnect``, ``noise``); unknown names raise ``ValueError`` listing them.
    seed:
        non-negative integer; the same seed gives the same samples, different seeds differ.
    speed:
        simulated seconds per host second for :meth:`advance`, 1..600 (``ValueError`` otherwise).
    start:
        POSIX time at which simulated time 0 begins; default: the host time of the first :meth:`advance` call
        (or the wall clock at the first :meth:`advance_sim` call).
    waves:
        ``False`` skips waveform synthesis (numerics only; cheap headless runs). Numerics are identical
        either way.
    baseline:
        the patient's resting values, overriding the scenario's (:class:`~devices.simulator.Baseline`).
    drift:
        ``False`` removes the slow physiological drift, so values sit exactly at the baseline (tests).
    auto_infusion, auto_infusion_at, auto_infusion_min:
        no scenario starts an infusion by itself. ``auto_infusion=True`` schedules a ``auto_infusion_min``
        (default 40) minute infusion at :data:`DEFAULT_AUTO_INFUSION_AT` (120 s) elapsed; ``auto_infusion_at``
        sets another start time (and implies ``auto_infusion``). A manual :meth:`start_infusion` before that
        time replaces the scheduled one.
    nibp_interval, nibp_first_at, nibp_duration:
        the automatic NIBP cycle (default every 300 s, first at 30 s; ``None`` for either means manual only)
        and how long one measurement takes (default 30 s).
    mark_demo:
        add ``State.DEMO`` to every numeric and wave block (data not from a patient).
    source:
        the ``source`` field of every sample.

    The public methods are serialised on an internal lock, so one thread may advance the simulator while
    another starts an infusion or asks for a BP.
    """

    def __init__(self, scenario: str = "stable", seed: int = 0, speed: float = 1.0,
                 start: float | None = None, waves: bool = True, *, baseline: Baseline | None = None,
                 drift: bool = True, auto_infusion: bool = False, auto_infusion_at: float | None = None,
                 auto_infusion_min: float = 40.0, nibp_interval: float | None = 300.0,
                 nibp_first_at: float | None = 30.0, nibp_duration: float = 30.0, mark_demo: bool = False,
                 source: str = "simulator") -> None:
        self._lock = threading.RLock()
        self.scenario: Scenario = get_scenario(scenario)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"simulator seed must be a non-negative integer, not {seed!r}")
        self.seed = int(seed)
        self._speed: float = _check_speed(speed)
        self._start: float | None = _check_seconds("start", start, allow_none=True, minimum=-math.inf)
        self.waves: bool = bool(waves)
        self.source: str = source
        self._flags: State = State.DEMO if mark_demo else State.NONE
        self.nibp_interval: float | None = _check_seconds("nibp_interval", nibp_interval, allow_none=True,
                                                          minimum=10.0)
        first = _check_seconds("nibp_first_at", nibp_first_at, allow_none=True)
        self.nibp_duration: float = float(_check_seconds("nibp_duration", nibp_duration, minimum=1.0) or 30.0)
        if self.nibp_duration > 180.0:
            raise ValueError(f"nibp_duration must be at most 180 s, not {self.nibp_duration:g}")
        self._nibp: _Nibp = _Nibp(next_auto=first)
        if baseline is not None and not isinstance(baseline, Baseline):
            raise ValueError(f"baseline must be a devices.simulator.Baseline, not {type(baseline).__name__}")

        self.physiology: Physiology = Physiology(self.scenario, self.seed, baseline, drift)
        self._trend: rhythm.TrendGrid = rhythm.TrendGrid(self.physiology)
        self._breaths: rhythm.Breaths = rhythm.Breaths(self._trend,
                                                       rhythm.NoiseStream(self.seed, rhythm.STREAM_BREATH))
        beat_noise = rhythm.NoiseStream(self.seed, rhythm.STREAM_BEAT)
        self._beats: rhythm.Beats = rhythm.Beats(self._trend, beat_noise, self._breaths)
        self._noise: dict[str, rhythm.NoiseStream] = {
            name: rhythm.NoiseStream(self.seed, stream) for name, stream in (
            ("ecg", rhythm.STREAM_ECG), ("pleth", rhythm.STREAM_PLETH), ("resp", rhythm.STREAM_RESP),
            ("co2", rhythm.STREAM_CO2), ("numeric", rhythm.STREAM_NUMERIC), ("nibp", rhythm.STREAM_NIBP),
            ("artifact", rhythm.STREAM_ARTIFACT))}
        phases_rng = np.random.default_rng([self.seed, rhythm.STREAM_ARTIFACT])
        self._artifact_phases: np.ndarray = phases_rng.uniform(0.0, 2.0 * math.pi, size=6)

        if auto_infusion_at is not None or auto_infusion:
            at = _check_seconds("auto_infusion_at", auto_infusion_at if auto_infusion_at is not None
                                else DEFAULT_AUTO_INFUSION_AT)
            minutes = _check_seconds("auto_infusion_min", auto_infusion_min, minimum=1.0)
            assert at is not None and minutes is not None
            self.physiology.infusions.append(Infusion(at, minutes * 60.0))

        self._elapsed: float = 0.0
        self._anchor: tuple[float, float] | None = None  # (host time, elapsed) that advance() counts from
        self._last_now: float | None = None
        self._next_tick: int = 1
        self._next_block: int = 0
        self._last_block_dropped: bool = False
        self._segments: dict[int, dict[int, np.ndarray]] = {}

    # ----------------------------------------------------------------------------------------------- clocks
    @property
    def speed(self) -> float:
        """Simulated seconds per host second in :meth:`advance` (1..600); settable at run time."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        speed = _check_speed(value)
        with self._lock:
            self._speed = speed
            # time since the last advance() runs at the new speed (before the first, time 0 stays at start)
            running = self._last_now is not None and self._elapsed > 0
            self._anchor = (self._last_now, self._elapsed) if running else None  # type: ignore[assignment]

    @property
    def start(self) -> float | None:
        """POSIX time of simulated time 0 (``None`` until the first advance when not given)."""
        return self._start

    @property
    def elapsed(self) -> float:
        """Simulated seconds since start."""
        return self._elapsed

    @property
    def sim_time(self) -> float:
        """POSIX seconds of the simulated clock: ``start + elapsed`` (wall clock before the first advance)."""
        return (self._start if self._start is not None else time.time()) + self._elapsed

    # ------------------------------------------------------------------------------------------ controls
    @property
    def infusion_running(self) -> bool:
        """True while an infusion runs at the current simulated time."""
        return any(inf.running(self._elapsed) for inf in self.physiology.infusions)

    @property
    def infusions(self) -> list[tuple[float, float]]:
        """Every infusion so far or scheduled, as (start, end) in elapsed seconds (end planned or actual)."""
        return [(inf.start, inf.end) for inf in self.physiology.infusions]

    @_locked
    def start_infusion(self, duration_min: float = 40.0) -> bool:
        """Start an infusion of ``duration_min`` minutes now; returns False (and changes nothing) when one is
        already running. A scheduled (auto) infusion that has not begun yet is replaced."""
        minutes = _check_seconds("infusion duration_min", duration_min, minimum=1.0)
        assert minutes is not None
        if minutes > 240.0:
            raise ValueError(f"infusion duration_min must be at most 240 minutes, not {minutes:g}")
        if self.infusion_running:
            return False
        self.physiology.infusions = [inf for inf in self.physiology.infusions if inf.start <= self._elapsed]
        self.physiology.infusions.append(Infusion(self._elapsed, minutes * 60.0))
        self._trend.clear()
        return True

    @_locked
    def stop_infusion(self) -> bool:
        """Stop the running infusion now; returns False when none is running."""
        for inf in self.physiology.infusions:
            if inf.running(self._elapsed):
                inf.stopped_at = self._elapsed
                self._trend.clear()
                return True
        return False

    @_locked
    def measure_nibp_now(self) -> bool:
        """Start an NIBP measurement now ("take BP now"); returns False when one is already running."""
        if self._nibp.measuring is not None:
            return False
        self._nibp.measuring = (self._elapsed, self._elapsed + self.nibp_duration)
        return True

    @property
    def nibp_measuring(self) -> bool:
        """True while the cuff is measuring."""
        return self._nibp.measuring is not None

    @property
    def responding(self) -> bool:
        """False while the ``disconnect`` scenario keeps the device silent (emulators send nothing then)."""
        return not bool(self.scenario.silent.active(self._elapsed))

    @property
    def noise(self) -> bool:
        """True for the ``noise`` scenario: emulators put garbage bytes between frames."""
        return self.scenario.noise

    @_locked
    def true_state(self, t_elapsed: float | None = None) -> dict[str, float]:
        """The model's underlying values at elapsed time ``t_elapsed`` (default: now): hr, sbp, dbp, map,
        spo2, rr, etco2, temp. Displayed numerics are these plus measurement noise and averaging."""
        t = self._elapsed if t_elapsed is None else _check_seconds("t_elapsed", t_elapsed, minimum=-math.inf)
        return self.physiology.scalar_state(float(t))  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------ advancing
    @_locked
    def advance(self, now: float, *, with_link_events: bool = False) -> list[Sample]:
        """Advance to host time ``now``; return every sample generated since the last call, in time order.

        ``host_time`` of every sample is ``now``. A host clock that goes backwards produces nothing (and the
        simulated clock continues from where it was). ``with_link_events`` also returns :class:`LinkEvent`
        LOST/ASSOCIATED where the device falls silent and comes back (used by the simulator driver).
        """
        now_f = _check_seconds("now", now, minimum=-math.inf)
        assert now_f is not None
        if self._start is None:
            self._start = now_f
        if self._anchor is None:
            # simulated time 0 is at start; after advance_sim or a speed change, continue from here
            self._anchor = (self._start, 0.0) if self._elapsed == 0.0 else (now_f, self._elapsed)
        elif self._last_now is not None and now_f < self._last_now and self._elapsed > 0.0:
            self._anchor = (now_f, self._elapsed)  # host clock stepped back: carry on from the present
        self._last_now = now_f
        host0, elapsed0 = self._anchor
        target = elapsed0 + (now_f - host0) * self._speed
        backlog = max(MAX_CATCHUP, MAX_CATCHUP_HOST * self._speed)
        if target - self._elapsed > backlog:
            # the host slept (laptop suspend, debugger): like a monitor whose link was down, the time in
            # between produces nothing and the next wave blocks are marked as following a gap
            self._skip_to(target - backlog)
        return self._advance_to(target, now_f, with_link_events)

    @_locked
    def advance_sim(self, seconds: float, *, with_link_events: bool = False) -> list[Sample]:
        """Step ``seconds`` of simulated time regardless of host time (headless, as fast as possible).

        ``host_time`` of every sample is its simulated time.
        """
        step = _check_seconds("seconds", seconds)
        assert step is not None
        if self._start is None:
            self._start = time.time()
        self._anchor = None
        return self._advance_to(self._elapsed + step, None, with_link_events)

    def _advance_to(self, target: float, host_time: float | None, with_links: bool) -> list[Sample]:
        if target <= self._elapsed:
            return []
        items: list[_Timed] = []
        if self.waves:
            self._emit_blocks(target, host_time, items)
        else:
            self._next_block = math.floor((target + _EPS) / waves.BLOCK_SECONDS)
        self._emit_numerics(target, host_time, items)
        if with_links:
            self._emit_links(self._elapsed, target, host_time, items)
        self._elapsed = target
        items.sort(key=lambda item: (item[0], item[1], item[2]))
        return [item[3] for item in items]

    def _skip_to(self, t: float) -> None:
        """Jump the clocks to elapsed ``t`` without emitting anything (NIBP results in between are kept as the
        last result, the automatic cycle keeps its phase)."""
        nibp = self._nibp
        if nibp.measuring is not None and nibp.measuring[1] <= t:
            self._finish_nibp(nibp.measuring[1], None, [])
        if nibp.next_auto is not None and nibp.next_auto < t:
            if self.nibp_interval is None:
                nibp.next_auto = None
            else:
                nibp.next_auto += math.ceil((t - nibp.next_auto) / self.nibp_interval) * self.nibp_interval
        self._next_tick = math.floor(t + _EPS) + 1
        self._next_block = math.ceil(t / waves.BLOCK_SECONDS - _EPS)
        self._last_block_dropped = True
        self._segments.clear()
        self._elapsed = t

    def _host(self, host_time: float | None, t: float) -> float:
        return host_time if host_time is not None else self._start + t  # type: ignore[operator]

    # -------------------------------------------------------------------------------------------- waves
    def _emit_blocks(self, target: float, host_time: float | None, items: list[_Timed]) -> None:
        block = waves.BLOCK_SECONDS
        sc = self.scenario
        start = self._start
        assert start is not None
        while (self._next_block + 1) * block <= target + _EPS:
            k = self._next_block
            a, b = k * block, (k + 1) * block
            self._next_block += 1
            if sc.silent.spans and sc.silent.overlaps(a, b):
                self._last_block_dropped = True
                continue
            gap, self._last_block_dropped = self._last_block_dropped, False
            seg, off = divmod(k, SEGMENT_BLOCKS)
            arrays = self._segment(seg)
            motion = bool(sc.motion.spans) and sc.motion.overlaps(a, b)
            sensor_off = bool(sc.sensor_off.spans) and sc.sensor_off.overlaps(a, b)
            host = self._host(host_time, b)
            for order, (code, fs, unit, n) in enumerate(waves.CHANNELS):
                state = self._flags
                if code == mdc.PLETH and sensor_off:
                    state |= State.SENSOR_OFF | State.INVALID
                elif motion and code in (mdc.ECG_II, mdc.PLETH):
                    state |= State.ARTIFACT
                wave = WaveBlock(code, mdc.label_of(code), start + a, fs, arrays[code][off * n:(off + 1) * n],
                                 unit, gap=gap, state=state, host_time=host, source=self.source)
                items.append((b, _ORDER_WAVE, order, wave))
            if off == SEGMENT_BLOCKS - 1:
                self._segments.pop(seg, None)

    def _segment(self, seg: int) -> dict[int, np.ndarray]:
        """Synthesise (once) every wave over segment ``seg``; read-only arrays, so blocks can share them."""
        cached = self._segments.get(seg)
        if cached is not None:
            return cached
        for old in [k for k in self._segments if k < seg]:  # finished (or skipped) segments
            del self._segments[old]
        span = SEGMENT_BLOCKS * waves.BLOCK_SECONDS
        t_end = (seg + 1) * span
        self._breaths.extend(t_end + 2.0)
        self._beats.extend(t_end + 2.0)
        beat_t, beat_rr = self._beats.time.view(), self._beats.interval.view()
        sc = self.scenario
        out: dict[int, np.ndarray] = {}
        for code, fs, _unit, per_block in waves.CHANNELS:
            n = per_block * SEGMENT_BLOCKS
            i0 = seg * n
            t = (i0 + np.arange(n)) / fs
            j, phase = self._breaths.locate(t)
            if code == mdc.ECG_II:
                samples = waves.ecg(t, beat_t, beat_rr, phase, self._noise["ecg"].block(i0, n))
            elif code == mdc.PLETH:
                samples = waves.pleth(t, beat_t, self._beats.amplitude.view(),
                                      self._noise["pleth"].block(i0, n))
            elif code == mdc.RESP_WAVE:
                samples = waves.resp(phase, self._breaths.amplitude.view()[j],
                                     self._noise["resp"].block(i0, n), rhythm.Breaths.INSPIRATION)
            else:
                samples = waves.co2(t, self._breaths.start.view(), self._breaths.duration.view(),
                                    self._breaths.etco2.view(), j, self._noise["co2"].block(i0, n),
                                    rhythm.Breaths.INSPIRATION)
            if sc.motion.spans and code in (mdc.ECG_II, mdc.PLETH):
                moving = sc.motion.active(t)
                if moving.any():
                    scale = 0.8 if code == mdc.ECG_II else 0.6
                    phases = self._artifact_phases[:3] if code == mdc.ECG_II else self._artifact_phases[3:]
                    artifact = waves.motion_artifact(t, phases, self._noise["artifact"].block(
                        i0 * 2 + (0 if code == mdc.ECG_II else 1), n))
                    samples = samples + np.where(moving, scale * artifact, 0.0)
            if sc.sensor_off.spans and code == mdc.PLETH:
                samples = np.where(sc.sensor_off.active(t), 0.0, samples)
            samples.flags.writeable = False
            out[code] = samples
        self._segments[seg] = out
        return out

    # ----------------------------------------------------------------------------------------- numerics
    def _numeric(self, code: int, value: float | None, state: State, t: float, host: float) -> Numeric:
        return Numeric(code, mdc.label_of(code), value, mdc.PARAMETERS[code].unit, state | self._flags,
                       self._start + t, host, self.source)  # type: ignore[operator]

    def _emit_numerics(self, target: float, host_time: float | None, items: list[_Timed]) -> None:
        first = self._next_tick
        last = math.floor(target + _EPS)
        ticks = np.arange(first, last + 1, dtype=float)
        values = self._tick_values(ticks) if ticks.size else {}
        sc = self.scenario
        nibp = self._nibp
        seq = 0
        i = 0
        while True:
            self._skip_auto_nibp_inside_measurement()
            # next event: NIBP completion, NIBP automatic start, or a one-second tick (that order at ties)
            candidates: list[tuple[float, int]] = []
            if nibp.measuring is not None:
                candidates.append((nibp.measuring[1], 0))
            elif nibp.next_auto is not None:
                candidates.append((nibp.next_auto, 1))
            if i < ticks.size:
                candidates.append((float(ticks[i]), 2))
            if not candidates:
                break
            t, kind = min(candidates)
            if t > target + _EPS:
                break
            if kind == 0:
                self._finish_nibp(t, host_time, items)
            elif kind == 1:
                nibp.measuring = (t, t + self.nibp_duration)
                nibp.next_auto = t + self.nibp_interval if self.nibp_interval is not None else None
            else:
                silent = bool(sc.silent.spans) and bool(sc.silent.active(t))
                if not silent:
                    host = self._host(host_time, t)
                    for numeric in self._tick_numerics(values, i, t, host):
                        items.append((t, _ORDER_NUMERIC, seq, numeric))
                        seq += 1
                i += 1
        self._next_tick = last + 1

    def _skip_auto_nibp_inside_measurement(self) -> None:
        """An automatic start that falls inside a running measurement (e.g. a manual one) is skipped; the
        cycle keeps its phase."""
        nibp = self._nibp
        if nibp.measuring is None or nibp.next_auto is None or nibp.next_auto >= nibp.measuring[1]:
            return
        if self.nibp_interval is None:
            nibp.next_auto = None
        else:
            missed = math.ceil((nibp.measuring[1] - nibp.next_auto) / self.nibp_interval)
            nibp.next_auto += missed * self.nibp_interval

    def _tick_values(self, ticks: np.ndarray) -> dict[str, np.ndarray]:
        """Displayed values for whole-second ticks, averaged like a monitor does."""
        state = self.physiology.state_at(ticks)
        self._breaths.extend(float(ticks[-1]))
        self._beats.extend(float(ticks[-1]))
        beats = self._beats.time.view()
        hr = _rate(beats, ticks, HR_WINDOW, state["hr"])
        pr = _rate(beats + waves.PLETH_DELAY, ticks, HR_WINDOW, state["hr"])
        starts = self._breaths.start.view()
        rr = _rate(starts, ticks, RR_WINDOW, state["rr"])
        ends = starts + self._breaths.duration.view()
        done = np.searchsorted(ends, ticks, side="right") - 1
        etco2 = np.where(done >= 0, self._breaths.etco2.view()[np.maximum(done, 0)], state["etco2"])
        noise = self._noise["numeric"].block(int(ticks[0]), ticks.size)
        spo2 = np.minimum(state["spo2"] + 0.3 * noise, 100.0)
        return {"hr": np.round(hr), "pr": np.round(pr), "rr": np.round(rr), "etco2": np.round(etco2),
                "spo2": np.round(spo2), "temp": np.round(state["temp"], 1)}

    def _tick_numerics(self, values: dict[str, np.ndarray], i: int, t: float, host: float) -> list[Numeric]:
        sc = self.scenario
        motion = bool(sc.motion.spans) and bool(sc.motion.active(t))
        sensor_off = bool(sc.sensor_off.spans) and bool(sc.sensor_off.active(t))
        moving = State.ARTIFACT | State.QUESTIONABLE if motion else State.NONE
        spo2: float | None = float(values["spo2"][i])
        pr: float | None = float(values["pr"][i])
        oxim_state = moving
        if sensor_off:
            spo2 = pr = None
            oxim_state = State.SENSOR_OFF | State.INVALID
        out = [
            self._numeric(mdc.HEART_RATE, float(values["hr"][i]), moving, t, host),
            self._numeric(mdc.SPO2, spo2, oxim_state, t, host),
            self._numeric(mdc.PULSE_RATE_OXIM, pr, oxim_state, t, host),
            self._numeric(mdc.RESP_RATE, float(values["rr"][i]), State.NONE, t, host),
            self._numeric(mdc.ETCO2, float(values["etco2"][i]), State.NONE, t, host),
            self._numeric(mdc.TEMP, float(values["temp"][i]), State.NONE, t, host),
        ]
        nibp = self._nibp
        if nibp.measuring is not None and nibp.measuring[0] <= t < nibp.measuring[1]:
            previous = nibp.last[0] if nibp.last is not None else None
            out.append(self._numeric(mdc.NIBP_SYS, previous, State.MEASURING, t, host))
        return out

    def _finish_nibp(self, t: float, host_time: float | None, items: list[_Timed]) -> None:
        nibp = self._nibp
        nibp.measuring = None
        state = self.physiology.scalar_state(t)
        noise = self._noise["nibp"]
        n = 3 * nibp.count
        sys_ = float(round(state["sbp"] + 1.5 * noise.at(n)))
        dia = float(round(state["dbp"] + 1.2 * noise.at(n + 1)))
        mean = float(round(state["map"] + 1.0 * noise.at(n + 2)))
        mean = min(max(mean, dia + 1.0), sys_ - 1.0)
        nibp.count += 1
        nibp.last, nibp.last_time = (sys_, dia, mean), t
        if self.scenario.silent.spans and bool(self.scenario.silent.active(t)):
            return  # measured while the link was down: the result never reaches the host
        host = self._host(host_time, t)
        results = ((mdc.NIBP_SYS, sys_), (mdc.NIBP_DIA, dia), (mdc.NIBP_MEAN, mean))
        for seq, (code, value) in enumerate(results):
            items.append((t, _ORDER_NUMERIC, -10 + seq, self._numeric(code, value, State.NONE, t, host)))

    @property
    def last_nibp(self) -> tuple[float, float, float, float] | None:
        """The last NIBP result as (sys, dia, mean, sim_time), or ``None`` before the first."""
        nibp = self._nibp
        if nibp.last is None or nibp.last_time is None or self._start is None:
            return None
        return (*nibp.last, self._start + nibp.last_time)

    # -------------------------------------------------------------------------------------------- links
    def _emit_links(self, a: float, b: float, host_time: float | None, items: list[_Timed]) -> None:
        for s, e in self.scenario.silent.occurrences(a, b + _EPS):
            if a < s <= b:
                lost = LinkEvent(LinkState.LOST, "simulated disconnect: device silent",
                                 self._host(host_time, s), self.source)
                items.append((s, _ORDER_LINK, 0, lost))
            if a < e <= b:
                items.append((e, _ORDER_LINK, 1, LinkEvent(LinkState.ASSOCIATED, "simulated device back",
                                                           self._host(host_time, e), self.source)))


def _rate(events: np.ndarray, ticks: np.ndarray, window: float, fallback: np.ndarray) -> np.ndarray:
    """Events per minute over the last ``window`` seconds before each tick (mean interval of the events in the
    window); ``fallback`` where fewer than two events fall in it."""
    lo = np.searchsorted(events, ticks - window, side="right")
    hi = np.searchsorted(events, ticks, side="right") - 1
    count = hi - lo
    ok = count >= 1
    hi_c = np.clip(hi, 0, events.size - 1)
    lo_c = np.clip(lo, 0, events.size - 1)
    span = np.where(ok, events[hi_c] - events[lo_c], 1.0)
    return np.where(ok, 60.0 * count / np.where(span > 0, span, 1.0), fallback)

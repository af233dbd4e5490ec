"""Beat and breath timing, and seeded noise that does not depend on how the simulation is chunked.

Determinism rule: every random number is addressed by a *stream* and an *index* (beat number, breath number,
sample number), never drawn "next in line". :class:`NoiseStream` makes chunk ``i // CHUNK`` of a stream from
its own ``numpy`` Generator seeded with ``(seed, stream, chunk)``, so the value for index ``i`` is the same
whether the simulator is advanced in one call or a thousand.
"""

from __future__ import annotations

import math

import numpy as np

from devices.simulator.physiology import Physiology

# Stream ids: one per use, so adding a use never shifts another's numbers.
STREAM_BEAT = 1
STREAM_BREATH = 2
STREAM_ECG = 3
STREAM_PLETH = 4
STREAM_RESP = 5
STREAM_CO2 = 6
STREAM_NUMERIC = 7
STREAM_NIBP = 8
STREAM_ARTIFACT = 9


class NoiseStream:
    """Standard-normal numbers addressed by index, reproducible for a seed and a stream id."""

    CHUNK = 8192

    def __init__(self, seed: int, stream: int) -> None:
        self._seed = seed
        self._stream = stream
        self._chunks: dict[int, np.ndarray] = {}

    def _chunk(self, n: int) -> np.ndarray:
        chunk = self._chunks.get(n)
        if chunk is None:
            if len(self._chunks) > 8:  # keep memory flat in long runs; chunks are cheap to remake
                self._chunks.clear()
            rng = np.random.default_rng([self._seed, self._stream, n])
            chunk = rng.standard_normal(self.CHUNK)
            self._chunks[n] = chunk
        return chunk

    def at(self, i: int) -> float:
        """The number at index ``i`` (``i >= 0``)."""
        return float(self._chunk(i // self.CHUNK)[i % self.CHUNK])

    def block(self, start: int, n: int) -> np.ndarray:
        """Numbers at indices ``start .. start + n - 1``."""
        out = np.empty(n)
        pos = 0
        while pos < n:
            i = start + pos
            c, off = divmod(i, self.CHUNK)
            take = min(n - pos, self.CHUNK - off)
            out[pos:pos + take] = self._chunk(c)[off:off + take]
            pos += take
        return out


class GrowArray:
    """An append-only float array with amortised growth and a cheap numpy view."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.empty(capacity)
        self._n = 0

    def append(self, value: float) -> None:
        if self._n == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.empty(self._data.shape[0])])
        self._data[self._n] = value
        self._n += 1

    def __len__(self) -> int:
        return self._n

    @property
    def last(self) -> float:
        return float(self._data[self._n - 1])

    def view(self) -> np.ndarray:
        return self._data[:self._n]


class TrendGrid:
    """The physiology sampled on a fixed 0.5 s grid, for fast scalar look-ups in the beat/breath loops.

    Evaluated in fixed 128 s chunks (so values never depend on call order) and cleared when the model changes
    (an infusion starts or stops).
    """

    STEP = 0.5
    CHUNK = 256

    def __init__(self, physiology: Physiology) -> None:
        self._physiology = physiology
        self._chunks: dict[int, dict[str, list[float]]] = {}

    def clear(self) -> None:
        self._chunks.clear()

    def value(self, key: str, t: float) -> float:
        i = math.floor(t / self.STEP)
        c, off = divmod(i, self.CHUNK)
        chunk = self._chunks.get(c)
        if chunk is None:
            if len(self._chunks) > 16:
                self._chunks.clear()
            grid = (c * self.CHUNK + np.arange(self.CHUNK)) * self.STEP
            chunk = {k: v.tolist() for k, v in self._physiology.state_at(grid).items()}
            self._chunks[c] = chunk
        return chunk[key][off]


class Breaths:
    """Breath onsets (start of inspiration), durations, per-breath EtCO2 and tidal amplitude."""

    FIRST = -12.0
    #: fraction of each breath spent inspiring
    INSPIRATION = 0.4

    def __init__(self, trend: TrendGrid, noise: NoiseStream) -> None:
        self._trend = trend
        self._noise = noise
        self.start = GrowArray()
        self.duration = GrowArray()
        self.etco2 = GrowArray()
        self.amplitude = GrowArray()
        self._append(self.FIRST)

    def _append(self, t: float) -> None:
        i = len(self.start)
        rr = max(self._trend.value("rr", max(t, 0.0)), 3.0)
        # three numbers per breath: duration jitter, EtCO2 jitter, tidal amplitude jitter
        jitter = self._noise.at(3 * i)
        self.start.append(t)
        self.duration.append(60.0 / rr * (1.0 + 0.05 * max(-3.0, min(3.0, jitter))))
        self.etco2.append(self._trend.value("etco2", max(t, 0.0)) + 0.35 * self._noise.at(3 * i + 1))
        self.amplitude.append(1.0 + 0.06 * self._noise.at(3 * i + 2))

    def extend(self, until: float) -> None:
        """Make sure breaths cover every time up to ``until``."""
        while self.start.last + self.duration.last <= until:
            self._append(self.start.last + self.duration.last)

    def locate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the breath containing each time, phase 0..1 within it)."""
        starts = self.start.view()
        j = np.searchsorted(starts, t, side="right") - 1
        j = np.clip(j, 0, len(starts) - 1)
        phase = (t - starts[j]) / self.duration.view()[j]
        return j, np.clip(phase, 0.0, 1.0)


class Beats:
    """R-peak times, each with the interval to the next beat and a pulse amplitude.

    Interval = 60 / HR(t) from the trend, shortened during inspiration by respiratory sinus arrhythmia (3 %)
    and jittered by 1 % beat-to-beat variability.
    """

    FIRST = -3.0

    def __init__(self, trend: TrendGrid, noise: NoiseStream, breaths: Breaths) -> None:
        self._trend = trend
        self._noise = noise
        self._breaths = breaths
        self.time = GrowArray()
        self.interval = GrowArray()
        self.amplitude = GrowArray()
        self._append(self.FIRST)

    def _append(self, t: float) -> None:
        i = len(self.time)
        hr = max(self._trend.value("hr", max(t, 0.0)), 20.0)
        self._breaths.extend(t)
        starts = self._breaths.start.view()
        j = int(np.searchsorted(starts, t, side="right")) - 1
        phase = (t - starts[j]) / self._breaths.duration.view()[j] if j >= 0 else 0.0
        rsa = 1.0 - 0.03 * math.sin(2.0 * math.pi * min(max(phase, 0.0), 1.0))
        jitter = 1.0 + 0.01 * max(-3.0, min(3.0, self._noise.at(2 * i)))
        self.time.append(t)
        self.interval.append(60.0 / hr * rsa * jitter)
        # pulse amplitude breathes a little (venous return) and varies beat to beat
        swing = 1.0 + 0.04 * math.sin(2.0 * math.pi * phase)
        self.amplitude.append(swing * (1.0 + 0.03 * self._noise.at(2 * i + 1)))

    def extend(self, until: float) -> None:
        """Make sure beats exist beyond ``until`` (at least one beat after it)."""
        while self.time.last <= until:
            self._append(self.time.last + self.interval.last)

    def between(self, a: float, b: float) -> np.ndarray:
        """R-peak times in ``(a, b]``."""
        t = self.time.view()
        return t[np.searchsorted(t, a, side="right"):np.searchsorted(t, b, side="right")]

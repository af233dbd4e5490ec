"""Auditory alarm signals as IEC 60601-1-8 pulse patterns: a timeline and WAV bytes, no Qt, no sound device.

Each priority has a burst of pulses that repeats while the alarm is audible:

* high: 10 pulses in the "3 + 2, pause, 3 + 2" rhythm: spacing x between pulses, 2x + td after the 3rd and
  8th, a longer pause after the 5th; td = 150 ms, x = 100 ms, pause 0.5 s (IEC: td 75-200 ms, x 50-125 ms,
  pause 0.35-1.30 s); the burst repeats every 8 s (IEC: 2.5-15 s);
* medium: 3 pulses, td = 200 ms, spacing 200 ms (IEC: td 125-250 ms, spacing 125-250 ms); repeats every 15 s
  (IEC: 2.5-30 s);
* low: 1 pulse, td = 200 ms; repeats every 30 s (IEC: more than 15 s, or not at all).

Spacing is from the end of one pulse to the start of the next. Each pulse is a harmonic tone (fundamental
150-1000 Hz plus four harmonics within 15 dB of it and below 4 kHz, as the standard asks so the sound is
locatable and survives small loudspeakers), with linear rise and fall of 15 % of the pulse duration so it does
not click.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

from devices.model import AlarmPriority

SAMPLE_RATE = 22050
#: relative amplitudes of the fundamental and its harmonics 2..5 (the quietest is -10.5 dB, within 15 dB)
HARMONICS: tuple[float, ...] = (1.0, 0.7, 0.5, 0.4, 0.3)
RISE_FRACTION = 0.15


@dataclass(frozen=True, slots=True)
class Pulse:
    """One tone pulse: when it starts within its burst, how long it lasts, its fundamental frequency."""

    start_s: float
    duration_s: float
    frequency_hz: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True, slots=True)
class TonePattern:
    """The burst of one priority and how often it repeats (start to start)."""

    priority: AlarmPriority
    pulses: tuple[Pulse, ...]
    repeat_interval_s: float

    @property
    def burst_duration_s(self) -> float:
        return self.pulses[-1].end_s if self.pulses else 0.0

    def timeline(self, duration_s: float, start_s: float = 0.0) -> list[Pulse]:
        """Pulses starting within ``duration_s`` s of ``start_s``, bursts repeated, in absolute times."""
        out: list[Pulse] = []
        burst = 0
        while True:
            burst_start = start_s + burst * self.repeat_interval_s
            if burst_start >= start_s + duration_s:
                return out
            for p in self.pulses:
                t = burst_start + p.start_s
                if t < start_s + duration_s:
                    out.append(Pulse(t, p.duration_s, p.frequency_hz))
            burst += 1


def _burst(gaps: list[float], duration_s: float, frequency_hz: float) -> tuple[Pulse, ...]:
    """Pulses of equal duration separated by ``gaps`` (end of one to start of the next)."""
    pulses = [Pulse(0.0, duration_s, frequency_hz)]
    for gap in gaps:
        pulses.append(Pulse(pulses[-1].end_s + gap, duration_s, frequency_hz))
    return tuple(pulses)


_HIGH_TD, _HIGH_X, _HIGH_PAUSE = 0.150, 0.100, 0.500
_HIGH_GAPS = [_HIGH_X, _HIGH_X, 2 * _HIGH_X + _HIGH_TD, _HIGH_X, _HIGH_PAUSE,
              _HIGH_X, _HIGH_X, 2 * _HIGH_X + _HIGH_TD, _HIGH_X]

PATTERNS: dict[AlarmPriority, TonePattern] = {
    AlarmPriority.HIGH: TonePattern(AlarmPriority.HIGH, _burst(_HIGH_GAPS, _HIGH_TD, 660.0), 8.0),
    AlarmPriority.MEDIUM: TonePattern(AlarmPriority.MEDIUM, _burst([0.200, 0.200], 0.200, 523.0), 15.0),
    AlarmPriority.LOW: TonePattern(AlarmPriority.LOW, _burst([], 0.200, 440.0), 30.0),
}


def pattern_for(priority: AlarmPriority) -> TonePattern | None:
    """The pattern of a priority, ``None`` for :attr:`AlarmPriority.NONE` (silence)."""
    return PATTERNS.get(AlarmPriority(priority))


def render(pattern: TonePattern, sample_rate: int = SAMPLE_RATE, volume: float = 0.5) -> np.ndarray:
    """One burst as float samples in [-1, 1] (silence between pulses, none after the last)."""
    if not 0.0 <= volume <= 1.0:
        raise ValueError(f"volume must be between 0 and 1, got {volume}")
    n = int(round(pattern.burst_duration_s * sample_rate))
    out = np.zeros(n, dtype=np.float64)
    norm = sum(HARMONICS)
    for p in pattern.pulses:
        i0 = int(round(p.start_s * sample_rate))
        m = min(int(round(p.duration_s * sample_rate)), n - i0)
        t = np.arange(m) / sample_rate
        tone = sum(a * np.sin(2 * np.pi * p.frequency_hz * (k + 1) * t) for k, a in enumerate(HARMONICS))
        ramp = max(1, int(round(RISE_FRACTION * m)))
        env = np.ones(m)
        env[:ramp] = np.linspace(0.0, 1.0, ramp, endpoint=False)
        env[m - ramp:] = np.linspace(1.0, 0.0, ramp)
        out[i0:i0 + m] = tone * env / norm
    return out * volume


def wav_bytes(pattern: TonePattern, sample_rate: int = SAMPLE_RATE, volume: float = 0.5) -> bytes:
    """One burst as a 16-bit mono PCM WAV file in memory, ready for ``paplay``/``aplay``/``afplay``."""
    pcm = np.clip(render(pattern, sample_rate, volume), -1.0, 1.0)
    data = (pcm * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(data)
    return buf.getvalue()

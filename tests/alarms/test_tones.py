"""Auditory patterns per IEC 60601-1-8 priority, as timelines and playable WAV bytes."""

from __future__ import annotations

import io
import itertools
import wave

import numpy as np
import pytest

from console.alarms.tones import HARMONICS, PATTERNS, pattern_for, render, wav_bytes
from devices.model import AlarmPriority


def gaps(priority: AlarmPriority) -> list[float]:
    p = PATTERNS[priority].pulses
    return [round(b.start_s - a.end_s, 3) for a, b in itertools.pairwise(p)]


def test_pulse_counts_per_priority() -> None:
    priorities = (AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW)
    assert [len(PATTERNS[p].pulses) for p in priorities] == [10, 3, 1]
    assert pattern_for(AlarmPriority.NONE) is None


def test_high_priority_burst_has_the_3_2_pause_3_2_rhythm_within_iec_ranges() -> None:
    high = PATTERNS[AlarmPriority.HIGH]
    td = high.pulses[0].duration_s
    assert all(p.duration_s == td for p in high.pulses) and 0.075 <= td <= 0.200
    x = gaps(AlarmPriority.HIGH)[0]
    assert 0.050 <= x <= 0.125
    assert gaps(AlarmPriority.HIGH) == [x, x, round(2 * x + td, 3), x, 0.5, x, x, round(2 * x + td, 3), x]
    assert 0.35 <= gaps(AlarmPriority.HIGH)[4] <= 1.30
    assert 2.5 <= high.repeat_interval_s <= 15.0


def test_medium_and_low_timing_within_iec_ranges() -> None:
    medium, low = PATTERNS[AlarmPriority.MEDIUM], PATTERNS[AlarmPriority.LOW]
    assert all(0.125 <= p.duration_s <= 0.250 for p in medium.pulses + low.pulses)
    assert all(0.125 <= g <= 0.250 for g in gaps(AlarmPriority.MEDIUM))
    assert 2.5 <= medium.repeat_interval_s <= 30.0
    assert low.repeat_interval_s > 15.0


def test_fundamental_and_harmonics_are_in_the_required_bands() -> None:
    for pattern in PATTERNS.values():
        for p in pattern.pulses:
            assert 150 <= p.frequency_hz <= 1000
            assert p.frequency_hz * len(HARMONICS) <= 4000
    assert len(HARMONICS) >= 5  # fundamental + at least four harmonics
    assert 20 * np.log10(min(HARMONICS) / max(HARMONICS)) >= -15


def test_timeline_repeats_bursts() -> None:
    medium = PATTERNS[AlarmPriority.MEDIUM]
    tl = medium.timeline(40.0, start_s=100.0)
    assert [round(p.start_s, 3) for p in tl] == [100.0, 100.4, 100.8, 115.0, 115.4, 115.8,
                                                 130.0, 130.4, 130.8]


def test_wav_bytes_are_a_playable_burst_with_silence_between_pulses() -> None:
    medium = PATTERNS[AlarmPriority.MEDIUM]
    data = wav_bytes(medium, sample_rate=8000)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(frames) == round(medium.burst_duration_s * 8000)
    # loud inside each pulse, silent in the gaps
    for p in medium.pulses:
        centre = int((p.start_s + p.duration_s / 2) * 8000)
        mid = frames[centre - 40:centre + 40]
        assert np.abs(mid).max() > 3000
    gap = frames[int(0.25 * 8000):int(0.35 * 8000)]
    assert np.abs(gap).max() == 0


def test_pulses_ramp_up_instead_of_clicking() -> None:
    samples = render(PATTERNS[AlarmPriority.LOW], sample_rate=8000)
    assert abs(samples[0]) < 1e-9 and np.abs(samples[:10]).max() < 0.05


def test_volume_is_checked() -> None:
    with pytest.raises(ValueError, match="volume"):
        render(PATTERNS[AlarmPriority.LOW], volume=2.0)

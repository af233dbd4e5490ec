"""The alarm tones as heard: played through the platform audio output into a real sound server and recorded.

CI starts PulseAudio with a null sink (.ci/start-audio) and sets ``CHAIRSIDE_REQUIRE_AUDIO=1``, so there this
test must run; elsewhere it skips with the reason when no sound server or ``parec`` is there. The recording
is cut into pulses by its envelope and each priority's burst is compared with its IEC 60601-1-8 pattern
(:mod:`console.alarms.tones`): the number of pulses, their length and the gaps between them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from console.alarms.tones import pattern_for
from devices.model import AlarmPriority
from widgets.alarm_audio import AlarmAudio

pytestmark = pytest.mark.real_audio

RATE = 22050
#: how far a measured pulse length or gap may be from the pattern (scheduling and sound-server buffering)
TOLERANCE_S = 0.04


def _sound_server_or_skip() -> str:
    problems = []
    parec = shutil.which("parec")
    if parec is None:
        problems.append("parec (pulseaudio-utils) is not installed")
    elif subprocess.run(["pactl", "info"], capture_output=True, timeout=10, check=False).returncode != 0:
        problems.append("no PulseAudio server answers (pactl info failed)")
    if problems:
        reason = "; ".join(problems) + " — .ci/start-audio starts one with a null sink"
        if os.environ.get("CHAIRSIDE_REQUIRE_AUDIO") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    assert parec is not None
    return parec


def _pulses(signal: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) seconds of each tone pulse: where the 5 ms envelope is above a fifth of its peak."""
    window = int(0.005 * RATE)
    env = np.convolve(np.abs(signal.astype(np.float64)), np.ones(window) / window, mode="same")
    on = env > 0.2 * env.max()
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    if on[0]:
        edges = np.r_[0, edges]
    if on[-1]:
        edges = np.r_[edges, len(on) - 1]
    pulses = [(a / RATE, b / RATE) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged: list[tuple[float, float]] = []
    for start, end in pulses:  # a dip inside one pulse is not two pulses
        if merged and start - merged[-1][1] < 0.02:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [p for p in merged if p[1] - p[0] > 0.03]


def _bursts(pulses: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Pulses grouped into bursts separated by more than a second of silence."""
    out: list[list[tuple[float, float]]] = []
    for p in pulses:
        if out and p[0] - out[-1][-1][1] < 1.0:
            out[-1].append(p)
        else:
            out.append([p])
    return out


def test_each_priority_sounds_its_iec_pulse_pattern(qtbot, tmp_path: Path) -> None:
    parec = _sound_server_or_skip()
    recording = tmp_path / "alarms.raw"
    priorities = (AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW)
    audio = AlarmAudio(beep=lambda: pytest.fail("the real output must play, not beep"))
    assert audio.available, audio.description
    with recording.open("wb") as out:
        rec = subprocess.Popen([parec, "-d", "@DEFAULT_MONITOR@", "--format=s16le", f"--rate={RATE}",
                                "--channels=1", "--latency-msec=20"], stdout=out)
        try:
            qtbot.wait(800)  # the recorder is connected and streaming
            t = time.monotonic()
            for priority in priorities:
                pattern = pattern_for(priority)
                assert pattern is not None
                audio.update(priority, t)
                qtbot.wait(int((pattern.burst_duration_s + 0.3) * 1000))
                audio.update(AlarmPriority.NONE, t)
                qtbot.wait(1500)  # silence between priorities, longer than any gap inside a burst
                t += 100.0
        finally:
            audio.close()
            rec.terminate()
            rec.wait(timeout=10)
    signal = np.frombuffer(recording.read_bytes()[: recording.stat().st_size // 2 * 2], "<i2")
    assert signal.size > RATE, "the recorder captured less than a second"
    assert np.sqrt(np.mean(signal.astype(np.float64) ** 2)) > 100, "the recording is silent"
    bursts = _bursts(_pulses(signal))
    assert [len(b) for b in bursts] == [len(pattern_for(p).pulses) for p in priorities]  # type: ignore[union-attr]
    for priority, burst in zip(priorities, bursts, strict=True):
        pattern = pattern_for(priority)
        assert pattern is not None
        for (start, end), expected in zip(burst, pattern.pulses, strict=True):
            assert abs((end - start) - expected.duration_s) < TOLERANCE_S, (priority, start, end)
            # onsets relative to the burst's first pulse follow the pattern's rhythm
            assert abs((start - burst[0][0]) - expected.start_s) < TOLERANCE_S, (priority, start)

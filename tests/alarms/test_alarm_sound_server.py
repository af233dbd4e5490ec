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
#: each priority's burst is played this many times (see the comment at the check)
PLAYS = 2
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
                for _ in range(PLAYS):
                    audio.update(priority, t)
                    qtbot.wait(int((pattern.burst_duration_s + 0.3) * 1000))
                    audio.update(AlarmPriority.NONE, t)
                    qtbot.wait(1500)  # silence between bursts, longer than any gap inside a burst
                    t += 100.0
        finally:
            audio.close()
            rec.terminate()
            rec.wait(timeout=10)
    signal = np.frombuffer(recording.read_bytes()[: recording.stat().st_size // 2 * 2], "<i2")
    assert signal.size > RATE, "the recorder captured less than a second"
    assert np.sqrt(np.mean(signal.astype(np.float64) ** 2)) > 100, "the recording is silent"
    bursts = _bursts(_pulses(signal))
    expected = [len(pattern_for(p).pulses) for p in priorities for _ in range(PLAYS)]  # type: ignore[union-attr]
    assert len(bursts) == len(expected), [len(b) for b in bursts]
    for i, priority in enumerate(priorities):
        pattern = pattern_for(priority)
        assert pattern is not None
        heard = [_matches(b, pattern) for b in bursts[i * PLAYS:(i + 1) * PLAYS]]
        # every burst must be this priority's, and at least one must be exact: on a loaded machine a sound
        # server may cut the first pulses of a stream it has just opened (seen in CI as 8 of 10 pulses once)
        assert any(ok for ok, _ in heard), (priority, [why for _, why in heard])
        assert all(len(b) >= len(pattern.pulses) - 2 for b in bursts[i * PLAYS:(i + 1) * PLAYS]), priority


def _matches(burst: list[tuple[float, float]], pattern: object) -> tuple[bool, str]:
    """Whether ``burst`` has the pattern's pulse count, pulse lengths and rhythm (and what differs if not)."""
    pulses = pattern.pulses  # type: ignore[attr-defined]
    if len(burst) != len(pulses):
        return False, f"{len(burst)} pulses, {len(pulses)} expected"
    for (start, end), want in zip(burst, pulses, strict=True):
        if abs((end - start) - want.duration_s) >= TOLERANCE_S:
            return False, f"a pulse of {end - start:.3f} s, {want.duration_s:.3f} s expected"
        # onsets relative to the burst's first pulse follow the pattern's rhythm
        if abs((start - burst[0][0]) - want.start_s) >= TOLERANCE_S:
            return False, f"a pulse at {start - burst[0][0]:.3f} s, {want.start_s:.3f} s expected"
    return True, ""

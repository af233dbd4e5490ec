"""Alarm sound: the right pattern at the right times, silence when paused, never a blocking call."""

from __future__ import annotations

import numpy as np
import pytest

from console.alarms.tones import SAMPLE_RATE, pattern_for
from devices import mdc
from devices.model import AlarmPriority
from tests.alarms.helpers import engine, series
from tests.audio_fakes import RecordingOutput
from widgets.alarm_audio import AlarmAudio

HIGH, MEDIUM, LOW, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW, AlarmPriority.NONE


@pytest.fixture
def player(qapp):
    out = RecordingOutput()
    audio = AlarmAudio(output=out, beep=lambda: pytest.fail("must not beep when an output works"))
    yield audio, out
    audio.close()


def test_plays_the_priority_burst_as_pcm_and_repeats_at_its_interval(player) -> None:
    audio, out = player
    assert audio.available and audio.failure is None
    audio.update(HIGH, 100.0)
    [(pcm, rate)] = out.plays
    assert rate == SAMPLE_RATE
    pattern = pattern_for(HIGH)
    assert pattern is not None
    # 16-bit mono: one sample per 2 bytes, as long as the burst
    assert len(pcm) == 2 * round(pattern.burst_duration_s * SAMPLE_RATE)
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 10000
    audio.update(HIGH, 104.0)  # within the 8 s repeat interval: nothing new
    assert len(out.plays) == 1
    audio.update(HIGH, 108.0)
    assert [(t, p, how) for t, p, how in audio.played] == [(100.0, HIGH, "sound"), (108.0, HIGH, "sound")]


def test_each_priority_has_its_own_burst(player) -> None:
    audio, _ = player
    lengths = {p: len(audio.pcm_for(p)) for p in (HIGH, MEDIUM, LOW)}
    assert lengths[HIGH] > lengths[MEDIUM] > lengths[LOW] > 0
    with pytest.raises(ValueError):
        audio.pcm_for(NONE)


def test_escalation_starts_the_new_burst_at_once(player) -> None:
    audio, out = player
    audio.update(MEDIUM, 0.0)
    audio.update(HIGH, 1.0)
    assert [p for _, p, _ in audio.played] == [MEDIUM, HIGH]
    assert out.plays[1][0] == audio.pcm_for(HIGH)


def test_pause_silences_at_once(player) -> None:
    audio, out = player
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    audio.update(eng.audible_priority(11.0), 11.0)
    assert audio.sounding == MEDIUM
    eng.pause_audio("nurse.kim", 12.0)
    stops = out.stops
    audio.update(eng.audible_priority(12.0), 12.0)
    assert audio.sounding == NONE and out.stops == stops + 1
    for t in range(13, 132):
        audio.update(eng.audible_priority(float(t)), float(t))
    assert len(audio.played) == 1  # nothing played during the two minutes
    eng.tick(132.0)
    audio.update(eng.audible_priority(132.0), 132.0)
    assert [(t, p) for t, p, _ in audio.played][-1] == (132.0, MEDIUM)


def test_without_an_output_it_beeps_and_says_why(qapp) -> None:
    beeps: list[int] = []
    audio = AlarmAudio(output=RecordingOutput(working=False), beep=lambda: beeps.append(1))
    assert not audio.available
    assert audio.failure is not None and "system beep only" in audio.failure
    assert "No audio output device found" in audio.failure
    audio.update(HIGH, 0.0)
    audio.update(HIGH, 8.0)
    assert len(beeps) == 2 and [how for _, _, how in audio.played] == ["beep", "beep"]
    audio.close()


def test_an_output_that_fails_to_start_falls_back_to_beep_and_reports_it(qapp) -> None:
    beeps: list[int] = []
    audio = AlarmAudio(output=RecordingOutput(fail_on_play=True), beep=lambda: beeps.append(1))
    assert audio.available  # nothing known to be wrong until a burst is tried
    audio.update(MEDIUM, 0.0)
    assert beeps == [1] and not audio.available and audio.failure is not None


def test_the_default_output_is_the_platform_one(qapp) -> None:
    # the suite swaps the platform class for a recorder; the default must come from that name, so the
    # console always uses the platform audio path without being handed one
    audio = AlarmAudio()
    assert isinstance(audio._output, RecordingOutput)
    audio.close()

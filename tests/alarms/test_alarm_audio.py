"""Alarm sound: the right pattern at the right times, silence when paused, never a blocking call."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from devices import mdc
from devices.model import AlarmPriority
from tests.alarms.helpers import engine, series
from widgets.alarm_audio import AlarmAudio

HIGH, MEDIUM, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.NONE


class FakeProc:
    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.running = True
        self.terminated = False

    def poll(self) -> int | None:
        return None if self.running else 0

    def terminate(self) -> None:
        self.terminated = True
        self.running = False

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def kill(self) -> None:
        self.running = False


class FakePopen:
    def __init__(self) -> None:
        self.procs: list[FakeProc] = []
        self.kwargs: list[dict] = []

    def __call__(self, args: list[str], **kwargs: object) -> FakeProc:
        p = FakeProc(args)
        self.procs.append(p)
        self.kwargs.append(kwargs)
        return p


@pytest.fixture
def player(qapp):
    popen = FakePopen()
    audio = AlarmAudio(which=lambda name: f"/usr/bin/{name}" if name == "aplay" else None, popen=popen,
                       beep=lambda: pytest.fail("must not beep when a player exists"))
    yield audio, popen
    audio.close()


def test_plays_the_priority_wav_through_the_found_player_and_repeats(player) -> None:
    audio, popen = player
    assert audio.available and audio.description == "alarm sound via aplay"
    audio.update(HIGH, 100.0)
    [proc] = popen.procs
    assert proc.args[:2] == ["/usr/bin/aplay", "-q"]
    with wave.open(io.BytesIO(Path(proc.args[2]).read_bytes())) as w:
        assert w.getnframes() > 0
    assert popen.kwargs[0]["start_new_session"] is True  # the child never waits on the GUI
    audio.update(HIGH, 104.0)  # within the 8 s repeat interval: nothing new
    assert len(popen.procs) == 1
    audio.update(HIGH, 108.0)
    assert [(t, p) for t, p, _ in audio.played] == [(100.0, HIGH), (108.0, HIGH)]


def test_escalation_starts_the_new_burst_at_once(player) -> None:
    audio, popen = player
    audio.update(MEDIUM, 0.0)
    audio.update(HIGH, 1.0)
    assert [p for _, p, _ in audio.played] == [MEDIUM, HIGH]
    assert popen.procs[0].terminated and popen.procs[1].args[2].endswith("high.wav")


def test_pause_silences_at_once(player) -> None:
    audio, popen = player
    eng = engine()
    series(eng, mdc.HEART_RATE, [130] * 11, 0.0)
    audio.update(eng.audible_priority(11.0), 11.0)
    assert audio.sounding == MEDIUM
    eng.pause_audio("nurse.kim", 12.0)
    audio.update(eng.audible_priority(12.0), 12.0)
    assert audio.sounding == NONE and popen.procs[0].terminated
    for t in range(13, 132):
        audio.update(eng.audible_priority(float(t)), float(t))
    assert len(audio.played) == 1  # nothing played during the two minutes
    eng.tick(132.0)
    audio.update(eng.audible_priority(132.0), 132.0)
    assert [(t, p) for t, p, _ in audio.played][-1] == (132.0, MEDIUM)


def test_without_a_player_it_beeps_and_says_so(qapp) -> None:
    beeps: list[int] = []
    audio = AlarmAudio(which=lambda name: None, beep=lambda: beeps.append(1))
    assert not audio.available
    assert "system beep only" in audio.description
    audio.update(HIGH, 0.0)
    audio.update(HIGH, 8.0)
    assert len(beeps) == 2 and [how for _, _, how in audio.played] == ["beep", "beep"]
    audio.close()


def test_a_failing_player_falls_back_to_beep(qapp) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("no such device")

    beeps: list[int] = []
    audio = AlarmAudio(which=lambda name: "/usr/bin/paplay", popen=broken, beep=lambda: beeps.append(1))
    audio.update(MEDIUM, 0.0)
    assert beeps == [1] and not audio.available
    audio.close()


def test_a_real_player_process_is_started_stopped_and_reaped(qapp, tmp_path) -> None:
    # a stand-in "player" that would play for a minute: stop() must cut it off without waiting for it
    script = tmp_path / "player"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(0o755)
    audio = AlarmAudio(which=lambda name: str(script) if name == "paplay" else None,
                       beep=lambda: pytest.fail("must not beep"))
    audio.update(HIGH, 0.0)
    proc = audio._proc
    assert proc is not None and proc.poll() is None
    audio.update(NONE, 1.0)
    assert audio.sounding == NONE
    audio.close()
    assert proc.poll() is not None  # reaped: no zombie, no ResourceWarning

"""A stand-in for the platform audio output: records what would have been played.

The suite replaces :class:`widgets.alarm_audio.QtAudioOutput` with :class:`RecordingOutput` (tests/conftest.py)
so tests are silent and do not depend on the machine's sound server; the tests marked ``real_audio`` use the
real output and check the recorded sound (tests/alarms/test_alarm_sound_server.py).
"""

from __future__ import annotations

from typing import Any


class RecordingOutput:
    """Implements :class:`widgets.alarm_audio.AudioOutput`; ``working = False`` simulates a dead device."""

    def __init__(self, *_args: Any, working: bool = True, fail_on_play: bool = False, **_kwargs: Any) -> None:
        self.working = working
        self.fail_on_play = fail_on_play
        self.plays: list[tuple[bytes, int]] = []
        self.stops = 0
        self.closed = False

    @property
    def available(self) -> bool:
        return self.working

    @property
    def description(self) -> str:
        return "alarm sound on Test Output" if self.working else "No audio output device found"

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        if self.fail_on_play:
            self.working = False
            return False
        self.plays.append((pcm, sample_rate))
        return True

    def stop(self) -> None:
        self.stops += 1

    def close(self) -> None:
        self.closed = True

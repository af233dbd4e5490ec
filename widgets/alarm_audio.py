"""Alarm sound: the IEC 60601-1-8 burst of the audible priority, played through Qt Multimedia, never blocking.

:class:`AlarmAudio` is driven from the app's display timer (through :meth:`AlarmBanner.refresh`): each call to
:meth:`AlarmAudio.update` says which priority should sound now (``engine.audible_priority(now)``, which is
NONE while audio is paused or everything is acknowledged). It starts the priority's burst when the priority
appears or changes and again every repeat interval, and stops the sound at once when the priority drops to
NONE.

Why Qt Multimedia: the burst is generated PCM (:mod:`console.alarms.tones`) written to a ``QAudioSink``, which
uses the platform's own audio system (WASAPI on Windows, Core Audio on macOS, PulseAudio or PipeWire on
Linux). One code path on every clinic computer; no external player program that Windows does not have, no
child process, no temporary files. Starting a burst hands Qt an in-memory buffer and returns at once.

When no output works (no audio device, the sound server is gone, the sink reports an error), the fallback is
the system beep once per burst, :attr:`AlarmAudio.available` is false and :attr:`AlarmAudio.failure` says why,
so the banner raises a *technical alarm*: an alarm system that cannot be heard must say so where it is seen.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
from PySide6.QtWidgets import QApplication

from console.alarms.tones import SAMPLE_RATE, pattern_for, render
from devices.model import AlarmPriority

log = logging.getLogger(__name__)


class AudioOutput(Protocol):
    """Where alarm bursts go. :class:`QtAudioOutput` in the app; tests may pass a recorder."""

    @property
    def available(self) -> bool: ...

    @property
    def description(self) -> str: ...

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        """Start playing 16-bit mono PCM now, replacing what plays; False when it could not start."""
        ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class QtAudioOutput(QObject):
    """The default audio device through ``QAudioSink``; re-checked when the system's devices change."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices = QMediaDevices(self)
        self._sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self._error = ""
        self._device_name = ""
        self._devices.audioOutputsChanged.connect(self._check_device)
        self._check_device()

    @property
    def available(self) -> bool:
        return not self._error

    @property
    def description(self) -> str:
        if self._error:
            return self._error
        return f"alarm sound on {self._device_name}"

    def _check_device(self) -> None:
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            self._error = "No audio output device found"
            self._device_name = ""
            return
        fmt = self._format(SAMPLE_RATE)
        if not device.isFormatSupported(fmt):
            self._error = f"Audio output {device.description()!r} cannot play 16-bit mono sound"
            return
        self._error = ""
        self._device_name = device.description() or "the default audio output"

    @staticmethod
    def _format(sample_rate: int) -> QAudioFormat:
        fmt = QAudioFormat()
        fmt.setSampleRate(sample_rate)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        return fmt

    def play(self, pcm: bytes, sample_rate: int) -> bool:
        self._check_device()
        if self._error:
            return False
        self.stop()
        device = QMediaDevices.defaultAudioOutput()
        sink = QAudioSink(device, self._format(sample_rate), self)
        buffer = QBuffer(self)
        buffer.setData(QByteArray(pcm))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        sink.start(buffer)
        if sink.error().name != "NoError":  # QAudio/QtAudio enums differ across 6.x releases
            self._error = f"Audio output {self._device_name!r} failed to start ({sink.error().name})"
            sink.deleteLater()
            buffer.deleteLater()
            return False
        self._sink, self._buffer = sink, buffer
        return True

    def stop(self) -> None:
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None

    def close(self) -> None:
        self.stop()


class AlarmAudio(QObject):
    """Plays the audible priority's IEC pulse pattern without blocking the GUI thread.

    ``output`` is where the sound goes (default: :class:`QtAudioOutput`); ``beep`` is the last resort.
    """

    def __init__(self, parent: QObject | None = None, *, output: AudioOutput | None = None,
                 beep: Callable[[], None] | None = None, volume: float = 0.5) -> None:
        super().__init__(parent)
        if not 0.0 <= volume <= 1.0:
            raise ValueError(f"volume must be between 0 and 1, got {volume}")
        self._output: AudioOutput = output if output is not None else QtAudioOutput(self)
        self._beep = beep or QApplication.beep
        self._volume = volume
        self._pcm: dict[AlarmPriority, bytes] = {}
        self._current = AlarmPriority.NONE
        self._next_due = 0.0
        self._failed = False
        #: (time, priority, how) of recent bursts, for diagnostics and tests
        self.played: deque[tuple[float, AlarmPriority, str]] = deque(maxlen=100)

    @property
    def available(self) -> bool:
        """True while the IEC patterns can be heard; false means system beep only (a technical alarm)."""
        return self._output.available and not self._failed

    @property
    def description(self) -> str:
        """Plain words for the banner/diagnostics about what alarm sound output there is."""
        if self.available:
            return self._output.description
        return f"No alarm sound output ({self._output.description}): system beep only"

    @property
    def failure(self) -> str | None:
        """Why alarms cannot be heard, or None when they can."""
        return None if self.available else self.description

    @property
    def sounding(self) -> AlarmPriority:
        """The priority currently being sounded (NONE when silent)."""
        return self._current

    def pcm_for(self, priority: AlarmPriority) -> bytes:
        """One burst of ``priority`` as 16-bit little-endian mono PCM at :data:`SAMPLE_RATE`."""
        pcm = self._pcm.get(priority)
        if pcm is None:
            pattern = pattern_for(priority)
            if pattern is None:
                raise ValueError(f"no tone for priority {priority!r}")
            samples = np.clip(render(pattern, SAMPLE_RATE, self._volume), -1.0, 1.0)
            pcm = (samples * 32767).astype("<i2").tobytes()
            self._pcm[priority] = pcm
        return pcm

    def update(self, priority: AlarmPriority, now: float) -> None:
        """Sound ``priority`` (NONE silences at once); call it from the display timer."""
        priority = AlarmPriority(priority)
        if priority == AlarmPriority.NONE:
            if self._current != AlarmPriority.NONE:
                self.stop()
            return
        pattern = pattern_for(priority)
        assert pattern is not None
        if priority != self._current or now >= self._next_due:
            self._current = priority
            self._next_due = now + pattern.repeat_interval_s
            self._play(priority, now)

    def stop(self) -> None:
        """Silence now (a burst in progress is cut off)."""
        self._current = AlarmPriority.NONE
        self._output.stop()

    def close(self) -> None:
        """Stop the sound and release the output."""
        self.stop()
        self._output.close()

    def _play(self, priority: AlarmPriority, now: float) -> None:
        if self._output.available:
            # one burst at a time: a new (e.g. escalated) burst replaces the one still playing
            if self._output.play(self.pcm_for(priority), SAMPLE_RATE):
                self._failed = False
                self.played.append((now, priority, "sound"))
                return
            log.error("alarm sound output failed (%s); falling back to the system beep",
                      self._output.description)
        self._failed = True
        self._beep()
        self.played.append((now, priority, "beep"))

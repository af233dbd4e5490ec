"""Alarm sound on a machine without QtMultimedia: the IEC burst played by a system player, never blocking.

:class:`AlarmAudio` is driven from the app's display timer (through :meth:`AlarmBanner.refresh`): each call to
:meth:`AlarmAudio.update` says which priority should sound now (``engine.audible_priority(now)``, which is
NONE while audio is paused or everything is acknowledged). It starts the priority's burst when the priority
appears or changes and again every repeat interval, and stops the sound at once when the priority drops to
NONE.

The burst is a WAV file written once per priority (:mod:`console.alarms.tones`) and handed to the first player
found on ``PATH`` (``paplay``, ``aplay``, ``afplay``) in a child process: starting it takes a fork, never the
length of the sound. Without a player the fallback is ``QApplication.beep()`` once per burst, and
:attr:`AlarmAudio.available` is false so the banner can say there is no alarm sound output.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from console.alarms.tones import pattern_for, wav_bytes
from devices.model import AlarmPriority

log = logging.getLogger(__name__)

#: players tried in order, with the arguments that make them play one file quietly
PLAYERS: dict[str, tuple[str, ...]] = {"paplay": (), "aplay": ("-q",), "afplay": ()}


class AlarmAudio(QObject):
    """Plays the audible priority's IEC pulse pattern without blocking the GUI thread.

    ``which``, ``popen`` and ``beep`` can be replaced (tests, or a clinic's own sound command).
    """

    def __init__(self, parent: QObject | None = None, *, players: Sequence[str] = tuple(PLAYERS),
                 which: Callable[[str], str | None] = shutil.which,
                 popen: Callable[..., Any] = subprocess.Popen,
                 beep: Callable[[], None] | None = None, volume: float = 0.5) -> None:
        super().__init__(parent)
        self._popen = popen
        self._beep = beep or QApplication.beep
        self._volume = volume
        self._command: list[str] | None = None
        for name in players:
            path = which(name)
            if path:
                self._command = [path, *PLAYERS.get(name, ())]
                break
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._files: dict[AlarmPriority, Path] = {}
        self._proc: Any = None
        self._stopping: list[Any] = []  # players told to stop, reaped on later calls so nothing waits
        self._current = AlarmPriority.NONE
        self._next_due = 0.0
        #: (time, priority, how) of recent bursts, for diagnostics and tests
        self.played: deque[tuple[float, AlarmPriority, str]] = deque(maxlen=100)

    @property
    def available(self) -> bool:
        """True when a system player was found (the IEC patterns are audible); false means beep only."""
        return self._command is not None

    @property
    def description(self) -> str:
        """Plain words for the banner/diagnostics about what alarm sound output there is."""
        if self._command:
            return f"alarm sound via {Path(self._command[0]).name}"
        return "No alarm sound output found (paplay/aplay/afplay): system beep only"

    @property
    def sounding(self) -> AlarmPriority:
        """The priority currently being sounded (NONE when silent)."""
        return self._current

    def update(self, priority: AlarmPriority, now: float) -> None:
        """Sound ``priority`` (NONE silences at once); call it from the display timer."""
        self._reap()
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
        """Silence now (a burst in progress is cut off). Does not wait for the player to exit."""
        self._current = AlarmPriority.NONE
        self._halt(self._proc)
        self._proc = None

    def close(self) -> None:
        """Stop the sound, reap the players and remove the temporary WAV files."""
        self.stop()
        for proc in self._stopping:
            try:
                proc.wait(timeout=1.0)  # on close only: a player exits at once on SIGTERM
            except subprocess.TimeoutExpired:
                log.warning("alarm sound player did not stop; killing it")
                proc.kill()
                proc.wait(timeout=1.0)
        self._stopping.clear()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
            self._files.clear()

    # ------------------------------------------------------------------ internals

    def _reap(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
        self._stopping = [p for p in self._stopping if p.poll() is None]

    def _halt(self, proc: Any) -> None:
        """Terminate a player without waiting; it is reaped by a later :meth:`_reap` or by :meth:`close`."""
        if proc is not None and proc.poll() is None:
            try:
                proc.terminate()
            except OSError:  # it exited meanwhile
                pass
            self._stopping.append(proc)

    def _file(self, priority: AlarmPriority) -> Path:
        path = self._files.get(priority)
        if path is None:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="chairside-alarm-")
            pattern = pattern_for(priority)
            assert pattern is not None
            path = Path(self._dir.name) / f"{priority.name.lower()}.wav"
            path.write_bytes(wav_bytes(pattern, volume=self._volume))
            self._files[priority] = path
        return path

    def _play(self, priority: AlarmPriority, now: float) -> None:
        if self._command is not None:
            try:
                # one burst at a time: a new (e.g. escalated) burst replaces the one still playing
                self._halt(self._proc)
                self._proc = None
                self._proc = self._popen([*self._command, str(self._file(priority))],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
                self.played.append((now, priority, "player"))
                return
            except (OSError, subprocess.SubprocessError) as exc:
                log.error("alarm sound player %s failed (%s); falling back to the system beep",
                          self._command[0], exc)
                self._command = None
        self._beep()
        self.played.append((now, priority, "beep"))

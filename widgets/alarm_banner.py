"""The alarm banner: the most urgent alarm in IEC 60601-1-8 colours, with acknowledge and audio pause.

The banner is a view of :class:`console.alarms.AlarmEngine`. The app calls :meth:`AlarmBanner.refresh` from
its display timer (after ``engine.tick(now)``); nothing is pushed per sample. One QTimer owned by the banner
advances the flash phase every 125 ms while any shown alarm flashes and is stopped when nothing flashes and
when the banner closes. Tests read :attr:`AlarmBanner.flash_on`/:attr:`AlarmBanner.flash_tick` and call
:meth:`AlarmBanner.advance_flash` instead of waiting.

Numeric tiles take their alarm look from :meth:`AlarmBanner.alarm_style_for` (same flash phase as the banner,
so the tile and the banner blink together): ``tile.set_alarm(*banner.alarm_style_for(mdc.SPO2))``.

The banner always says that it is a secondary display: the bedside monitor's own alarms stay the primary ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from console.alarms import AlarmEngine
from console.alarms.model import Alarm
from console.alarms.presentation import (
    FLASH_TICK_S,
    NORMAL_BACKGROUND,
    NORMAL_FOREGROUND,
    current_text,
    flash_on,
    style_for,
)
from devices.model import AlarmPriority
from widgets.alarm_audio import AlarmAudio

SECONDARY_NOTICE = "Secondary display: does not replace the bedside monitor's alarms"
NO_ALARMS_TEXT = "No active alarms"
#: the engine's system-condition key of the "no alarm sound output" technical alarm
AUDIO_CONDITION = "audio"


def format_countdown(seconds: float) -> str:
    """``119.2`` -> ``"2:00"``, ``59`` -> ``"0:59"``: rounded up so a running pause never reads 0:00."""
    s = max(0, math.ceil(seconds - 1e-9))
    return f"{s // 60}:{s % 60:02d}"


def _short_clock(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M")


def _clock_text(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M:%S")


class AlarmBanner(QFrame):
    """Shows the most urgent alarm, the audio pause countdown and the acknowledge/pause buttons.

    ``user`` returns the signed-in user's name (``None`` disables the buttons: acknowledgements and pauses are
    attributable entries in the record). ``clock`` gives POSIX seconds for button presses. ``audio`` is the
    sound output; by default the platform's audio output (:class:`AlarmAudio`), so every console sounds its
    alarms. When no output works the banner raises a technical alarm saying so.
    """

    #: an alarm was acknowledged from the banner (its id)
    acknowledged = Signal(int)
    #: audio was paused (True) or resumed (False) from the banner
    audioPauseChanged = Signal(bool)

    def __init__(self, engine: AlarmEngine, *, user: Callable[[], str | None] = lambda: None,
                 clock: Callable[[], float] = time.time, audio: AlarmAudio | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self._engine = engine
        self._user = user
        self._clock = clock
        self._audio: AlarmAudio = audio if audio is not None else AlarmAudio(self)
        self._tick = 0
        self._top: Alarm | None = None
        self._shown: tuple[object, ...] = ()
        self._now = 0.0

        self._flash_timer = QTimer(self)
        self._flash_timer.setObjectName("alarmBannerFlash")
        self._flash_timer.setInterval(round(FLASH_TICK_S * 1000))
        self._flash_timer.timeout.connect(self.advance_flash)

        big = QFont()
        big.setPointSize(20)
        big.setBold(True)
        button_font = QFont()
        button_font.setPointSize(14)
        button_font.setBold(True)

        self._message = QLabel(NO_ALARMS_TEXT)
        self._message.setObjectName("alarmMessage")
        self._message.setFont(big)
        self._message.setWordWrap(True)
        self._message.setMinimumHeight(64)
        self._message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._message.setContentsMargins(12, 4, 12, 4)
        self._more = QLabel("")
        self._more.setObjectName("alarmMore")
        self._more.setFont(button_font)  # as big as the buttons: other alarms must not hide behind the top one
        self._more.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._more.setMinimumWidth(110)
        self._more.setVisible(False)
        self._pause_label = QLabel("")
        self._pause_label.setObjectName("alarmPaused")
        self._pause_label.setFont(button_font)
        self._ack_button = QPushButton("Acknowledge")
        self._pause_button = QPushButton("Pause audio 2:00")
        for b in (self._ack_button, self._pause_button):
            b.setFont(button_font)
            b.setMinimumSize(190, 64)
        self._ack_button.clicked.connect(self.acknowledge_top)
        self._pause_button.clicked.connect(self.toggle_audio_pause)
        self._notice = QLabel(SECONDARY_NOTICE)
        self._notice.setObjectName("secondaryNotice")
        self._audio_note = QLabel("")
        self._audio_note.setObjectName("audioNote")

        top = QHBoxLayout()
        top.addWidget(self._message, 1)
        top.addWidget(self._more)
        top.addWidget(self._pause_label)
        top.addWidget(self._ack_button)
        top.addWidget(self._pause_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self._notice)
        bottom.addStretch(1)
        bottom.addWidget(self._audio_note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.setStyleSheet(f"#secondaryNotice, #audioNote {{ color: {NORMAL_FOREGROUND}; }}"
                           "#alarmMore { color: #000000; background: #e8e8e8; border-radius: 4px; padding: 4px; }"
                           f"#alarmPaused {{ color: #ffffff; }}")
        self.refresh(self._clock())

    # ------------------------------------------------------------------ pulled by the app's timer

    def refresh(self, now: float) -> None:
        """Pull the engine's state: top alarm, pause countdown, buttons, sound (cheap if unchanged)."""
        self._now = now
        self._audio.update(self._engine.audible_priority(now), now)
        # an alarm system that cannot be heard is itself a technical alarm, not a grey footnote
        self._engine.set_system_condition(AUDIO_CONDITION, self._audio.failure, now)
        alarms = self._engine.visible()
        self._top = alarms[0] if alarms else None
        flashing = any(style_for(a.priority, a.technical).flashing for a in alarms)
        if flashing and not self._flash_timer.isActive():
            self._flash_timer.start()
        elif not flashing and self._flash_timer.isActive():
            self._flash_timer.stop()
            self._tick = 0
        self._message.setText(self._text(self._top))
        others = len(alarms) - 1
        self._more.setText(f"+{others} more\nalarm{'s' if others > 1 else ''}" if others > 0 else "")
        self._more.setVisible(others > 0)
        remaining = self._engine.pause_remaining(now)
        if remaining > 0:
            self._pause_label.setText(f"AUDIO PAUSED {format_countdown(remaining)}")
            self._pause_button.setText("Resume audio")
        else:
            self._pause_label.setText("")
            self._pause_button.setText("Pause audio 2:00")
        user = self._user()
        self._ack_button.setEnabled(bool(user) and self._top is not None and not self._top.acknowledged)
        self._pause_button.setEnabled(bool(user))
        tip = "" if user else "Sign in to acknowledge or pause (the record names who did it)"
        self._ack_button.setToolTip(tip)
        self._pause_button.setToolTip(tip)
        self._audio_note.setText(self._audio.failure or self._audio.description)
        self._apply_colours()

    # ------------------------------------------------------------------ flashing

    def advance_flash(self) -> None:
        """One flash tick (the timer's slot; tests call it directly)."""
        self._tick += 1
        self._apply_colours()

    @property
    def flash_tick(self) -> int:
        return self._tick

    @property
    def flash_on(self) -> bool:
        """Whether the banner shows its alarm colour at this instant (always true for steady styles)."""
        return self._top is not None and flash_on(self._top.priority, self._tick, self._top.technical)

    @property
    def flash_timer_active(self) -> bool:
        return self._flash_timer.isActive()

    def alarm_style_for(self, code: int | Iterable[int]) -> tuple[AlarmPriority, bool]:
        """``(priority, flashing_on)`` for a numeric tile showing MDC ``code`` (or any of several codes, e.g.
        HR and the oximeter's pulse rate): the highest active physiological alarm on it, and whether its
        colour is on at this flash phase (always on for low, off without an alarm)."""
        codes = (code,) if isinstance(code, int) else tuple(code)
        priority = max((self._engine.priority_for(c) for c in codes), default=AlarmPriority.NONE)
        return priority, flash_on(priority, self._tick)

    def alarm_styles_for(self, codes: Iterable[int]) -> dict[int, tuple[AlarmPriority, bool]]:
        """:meth:`alarm_style_for` for several tiles at once."""
        return {c: self.alarm_style_for(c) for c in codes}

    # ------------------------------------------------------------------ what is shown

    @property
    def top_alarm(self) -> Alarm | None:
        """The alarm the banner shows."""
        return self._top

    @property
    def message_text(self) -> str:
        return self._message.text()

    @property
    def pause_text(self) -> str:
        return self._pause_label.text()

    @property
    def audio_note_text(self) -> str:
        return self._audio_note.text()

    @property
    def colours(self) -> tuple[str, str]:
        """(background, foreground) of the message area now."""
        return self._shown[0], self._shown[1]  # type: ignore[return-value]

    @property
    def ack_button(self) -> QPushButton:
        return self._ack_button

    @property
    def pause_button(self) -> QPushButton:
        return self._pause_button

    @staticmethod
    def _text(alarm: Alarm | None) -> str:
        if alarm is None:
            return NO_ALARMS_TEXT
        style = style_for(alarm.priority, alarm.technical)
        if alarm.latched:
            return (f"{style.tag} {alarm.message}  (ended {_clock_text(alarm.ended or 0)}: acknowledge to "
                    "clear)")
        text = f"{style.tag} {current_text(alarm, _short_clock)}"
        if alarm.acknowledged:
            text += f"  (acknowledged by {alarm.acknowledged_by})"
        return text

    def _apply_colours(self) -> None:
        if self._top is None:
            bg, fg, border = NORMAL_BACKGROUND, NORMAL_FOREGROUND, NORMAL_BACKGROUND
        else:
            style = style_for(self._top.priority, self._top.technical)
            if self.flash_on:
                bg, fg, border = style.background, style.foreground, style.background
            else:
                # off phase: dark fill, text and frame keep the alarm colour so it stays readable
                bg, fg, border = NORMAL_BACKGROUND, style.background, style.background
        shown = (bg, fg, border)
        if shown != self._shown:
            self._shown = shown
            self._message.setStyleSheet(f"background-color: {bg}; color: {fg}; border: 3px solid {border};"
                                        "border-radius: 4px;")

    # ------------------------------------------------------------------ actions

    def acknowledge_top(self) -> bool:
        """Acknowledge the shown alarm as the signed-in user; False when there is nothing to acknowledge."""
        user = self._user()
        if not user or self._top is None:
            return False
        now = self._clock()
        done = self._engine.acknowledge(self._top.id, user, now)
        if done:
            self.acknowledged.emit(self._top.id)
        self.refresh(now)
        return done

    def toggle_audio_pause(self) -> bool:
        """Pause the alarm sound for 2 minutes, or resume it when paused. Returns the new paused state."""
        user = self._user()
        now = self._clock()
        if not user:
            return self._engine.audio_paused(now)
        if self._engine.audio_paused(now):
            self._engine.resume_audio(user, now)
            paused = False
        else:
            self._engine.pause_audio(user, now)
            paused = True
        self.audioPauseChanged.emit(paused)
        self.refresh(now)
        return paused

    def shutdown(self) -> None:
        """Stop the flash timer and the sound (the window calls this on close)."""
        self._flash_timer.stop()
        self._audio.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.shutdown()
        super().closeEvent(event)

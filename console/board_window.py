"""The central board window: every chair as a tile, in IEC alarm colours, refreshed without touching storage.

The window pulls :meth:`BoardReader.snapshot` on a 250 ms timer (the reader thread does all database work),
flashes tiles with the console's rates from one 125 ms counter, and sounds the high-priority burst while any
chair has a high-priority alarm that appeared since the board last went quiet. Silencing the board only
silences the board: each chair keeps sounding and recording its own alarms.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console.alarms.presentation import FLASH_TICK_S
from console.board.board import chair_title
from console.board.reader import BoardReader, BoardView
from devices.model import AlarmPriority
from widgets.alarm_audio import AlarmAudio
from widgets.chair_tile import ChairTile

#: how long "Silence board" lasts (the console's audio pause is the same two minutes)
SILENCE_S = 120.0
#: the largest grid the board lays out (16 chairs)
MAX_COLUMNS = 4


def columns_for(n: int) -> int:
    """Grid columns for ``n`` chairs: 2 up to 4, 3 up to 9, then 4 (16 chairs in a 4×4 grid)."""
    if n <= 4:
        return max(1, min(2, n))
    return 3 if n <= 9 else MAX_COLUMNS


class CentralBoardWindow(QMainWindow):
    """The board. ``clock`` gives POSIX seconds (tests drive it); ``audio`` defaults to the platform output."""

    def __init__(self, reader: BoardReader, *, audio: AlarmAudio | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 on_open: Callable[[str, int], None] | None = None) -> None:
        """``on_open(chair, session_id)`` opens a chair's session read-only when its tile is clicked."""
        super().__init__()
        self.setWindowTitle("Chairside — central board")
        self._reader = reader
        self._clock = clock
        self._on_open = on_open
        self._audio = audio if audio is not None else AlarmAudio(self)
        self._tick = 0
        self._view: BoardView | None = None
        self._tiles: list[ChairTile] = []
        self._silenced_until = 0.0
        self._heard: set[tuple[str, str]] = set()  # (chair, alarm text) of high alarms already sounded
        self.selected: str | None = None

        central = QWidget(self)
        central.setObjectName("boardCentral")
        # selector-scoped: an unscoped sheet would cascade into every tile and re-polish it on each change
        central.setStyleSheet("#boardCentral { background: #000000; } #boardSummary { color: #e8e8e8; }")
        self.setCentralWidget(central)
        header = QHBoxLayout()
        self.summary = QLabel("Waiting for the first chair…")
        self.summary.setObjectName("boardSummary")
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setPixelSize(26)
        font.setBold(True)
        self.summary.setFont(font)
        storage_font = QFont(font)
        storage_font.setPixelSize(18)
        storage_font.setBold(False)
        self.storage = QLabel("")
        self.storage.setObjectName("boardStorage")
        self.storage.setWordWrap(True)
        self.storage.setFont(storage_font)
        self.storage.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.silence_button = QPushButton("Silence board 2:00")
        self.silence_button.setFont(storage_font)
        self.silence_button.setMinimumSize(220, 48)
        self.silence_button.clicked.connect(self.toggle_silence)
        header.addWidget(self.summary, 1)
        header.addWidget(self.storage, 1)
        header.addWidget(self.silence_button)
        self.grid = QGridLayout()
        self.grid.setSpacing(8)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(header)
        layout.addLayout(self.grid, 1)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setObjectName("boardRefresh")
        self._refresh_timer.setInterval(250)
        self._refresh_timer.timeout.connect(self.refresh)
        self._flash_timer = QTimer(self)
        self._flash_timer.setObjectName("boardFlash")
        self._flash_timer.setInterval(round(FLASH_TICK_S * 1000))
        self._flash_timer.timeout.connect(self._advance_flash)
        self._refresh_timer.start()
        self._flash_timer.start()
        self.refresh()

    # ------------------------------------------------------------------ pulled by the timer

    def refresh(self) -> None:
        """Pull the reader's newest view and redraw (no database access here)."""
        view = self._reader.snapshot()
        self._view = view
        self._layout_tiles(len(view.chairs))
        for tile, chair in zip(self._tiles, view.chairs, strict=True):
            tile.show_chair(chair, self._tick)
        alarms = sum(len(c.alarms) for c in view.chairs)
        offline = sum(not c.online for c in view.chairs)
        if view.chairs:
            parts = [f"{len(view.chairs)} chairs", f"{alarms} alarm{'s' if alarms != 1 else ''}"]
            if offline:
                parts.append(f"{offline} offline")
            self.summary.setText(" · ".join(parts))
        if view.error:
            self.storage.setText(f"Record unreachable ({view.error}); showing what was known "
                                 f"{view.data_age_s:.0f} s ago")
            self._storage_style("#storageTrouble { color: #000000; background: #5ab4ff; padding: 4px; }",
                                "storageTrouble")
        else:
            self.storage.setText("Live" + (" · notifications on" if view.notifications else ""))
            self._storage_style("#storageOk { color: #9aa3ad; }", "storageOk")
        self._sound(view)

    def _storage_style(self, sheet: str, name: str) -> None:
        if self.storage.objectName() != name:
            self.storage.setObjectName(name)
            self.storage.setStyleSheet(sheet)

    def _layout_tiles(self, n: int) -> None:
        if n == len(self._tiles):
            return
        for tile in self._tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self._tiles = []
        cols = columns_for(n)
        for i in range(n):
            tile = ChairTile(self)
            tile.clicked.connect(self._select)
            self.grid.addWidget(tile, i // cols, i % cols)
            self._tiles.append(tile)
        rows = max(1, math.ceil(n / cols))
        for r in range(rows):
            self.grid.setRowStretch(r, 1)
        for c in range(cols):
            self.grid.setColumnStretch(c, 1)

    def _advance_flash(self) -> None:
        self._tick += 1
        if self._view is not None:
            for tile, chair in zip(self._tiles, self._view.chairs, strict=False):
                tile.show_chair(chair, self._tick)

    # ------------------------------------------------------------------ sound

    def _sound(self, view: BoardView) -> None:
        """Sound the high burst while any online chair has a high alarm. Silencing lasts two minutes, but a
        high alarm the board has not sounded before ends the silence: a new emergency is never muted."""
        now = self._clock()
        high = {(c.chair, a.text) for c in view.chairs if c.online for a in c.alarms if a.priority == "high"}
        new = high - self._heard
        self._heard = (self._heard & high) | new  # an alarm that ended and comes back is new again
        if new:
            self._silenced_until = 0.0
        remaining = self._silenced_until - now
        if remaining > 0:
            self.silence_button.setText(f"Board silenced {int(remaining) // 60}:{int(remaining) % 60:02d}")
            self._audio.update(AlarmPriority.NONE, now)
            return
        self.silence_button.setText("Silence board 2:00")
        self._audio.update(AlarmPriority.HIGH if high else AlarmPriority.NONE, now)

    def toggle_silence(self) -> None:
        """Silence the board's sound for two minutes (again: sound on)."""
        now = self._clock()
        self._silenced_until = 0.0 if self._silenced_until > now else now + SILENCE_S
        self.refresh()

    @property
    def audio(self) -> AlarmAudio:
        return self._audio

    # ------------------------------------------------------------------ selection

    def _select(self, chair: str) -> None:
        self.selected = chair
        found = next((c for c in (self._view.chairs if self._view else []) if c.chair == chair), None)
        session_id = found.status.session_id if found is not None and found.status is not None else None
        if session_id is None:
            self.storage.setText(f"{chair_title(chair)} has no open session to show")
            return
        if self._on_open is not None:
            self._on_open(chair, session_id)

    def tiles(self) -> list[ChairTile]:
        return list(self._tiles)

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self._flash_timer.stop()
        self._audio.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

"""The board window as a charge nurse sees it: tiles, colours, offline chairs, storage trouble, sound."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from console.alarms.presentation import TECHNICAL_BACKGROUND
from console.board import AlarmStatus, ChairStatus, NumericStatus, Phase
from console.board.board import board_snapshot
from console.board.reader import BoardView
from console.board.store import StoredStatus
from console.board_window import CentralBoardWindow, columns_for
from devices import mdc
from devices.model import AlarmPriority
from tests.audio_fakes import RecordingOutput
from widgets.alarm_audio import AlarmAudio


class FakeReader:
    """Stands in for the reading thread: the test sets what the database said and how old it is."""

    def __init__(self) -> None:
        self.rows: list[StoredStatus] = []
        self.db_now = 1000.0
        self.error: str | None = None

    def add(self, chair: str, updated_at: float = 1000.0, **kw: object) -> None:
        status = ChairStatus(chair=chair, phase=kw.pop("phase", Phase.INFUSING), **kw)  # type: ignore[arg-type]
        self.rows = [r for r in self.rows if r.chair != chair]
        self.rows.append(StoredStatus(chair, status, None, updated_at, 1))

    def snapshot(self) -> BoardView:
        return BoardView(board_snapshot(self.db_now, self.rows), 12.0 if self.error else 0.0, self.error, True)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def board(qtbot):
    reader = FakeReader()
    out = RecordingOutput()
    clock = Clock()
    window = CentralBoardWindow(reader, audio=AlarmAudio(output=out), clock=clock)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    yield window, reader, out, clock
    window.shutdown()


def test_grid_sizes_fit_4_to_16_chairs() -> None:
    assert [columns_for(n) for n in (1, 2, 4, 5, 9, 10, 16)] == [1, 2, 2, 3, 3, 4, 4]


def test_tiles_show_each_chair_in_natural_order(board) -> None:
    window, reader, *_ = board
    for name in ("10", "2", "1"):
        reader.add(name, patient=f"PT-{name}", phase_detail="minute 12 of 40",
                   numerics={mdc.HEART_RATE: NumericStatus(84, "/min", 0.5),
                             mdc.NIBP_SYS: NumericStatus(183, "mmHg", 60), mdc.NIBP_DIA: NumericStatus(112, "mmHg", 60)})
    window.refresh()
    tiles = window.tiles()
    assert [t.chair for t in tiles] == ["1", "2", "10"]
    assert tiles[0].title.text() == "Chair 1" and tiles[0].patient.text() == "PT-1"
    assert tiles[0].phase.text() == "Infusing · minute 12 of 40"
    assert tiles[0].values["HR"].text() == "84" and tiles[0].values["NIBP"].text() == "183/112"
    assert tiles[0].values["SpO₂"].text() == "—"
    assert window.summary.text() == "3 chairs · 0 alarms"


def test_a_chair_alarm_colours_its_tile_and_a_new_high_alarm_sounds(board) -> None:
    window, reader, out, clock = board
    reader.add("3")
    window.refresh()
    assert out.plays == []
    reader.add("3", alarms=(AlarmStatus("high", mdc.NIBP_SYS, "NBP sys 186 ≥ 180 mmHg"),))
    window.refresh()
    tile = window.tiles()[0]
    assert tile.alarm.text() == "NBP sys 186 ≥ 180 mmHg"
    assert tile.border_colour == "#e8202a"  # IEC red
    colours = set()
    for _ in range(8):  # high priority flashes: the alarm line alternates within one 0.5 s period
        window._advance_flash()
        colours.add(tile.alarm_colours)
    assert ("#ffffff", "#e8202a") in colours and len(colours) == 2
    assert len(out.plays) == 1 and window.audio.sounding == AlarmPriority.HIGH
    window.toggle_silence()  # the board only: the chair keeps its own sound
    assert window.audio.sounding == AlarmPriority.NONE and window.silence_button.text().startswith("Board silenced")
    clock.t = 60.0
    window.refresh()
    assert window.audio.sounding == AlarmPriority.NONE  # still silenced
    clock.t = 121.0
    window.refresh()
    assert window.audio.sounding == AlarmPriority.HIGH  # the silence ran out while the alarm is still there


def test_a_new_high_alarm_ends_the_boards_silence(board) -> None:
    window, reader, _, clock = board
    reader.add("3", alarms=(AlarmStatus("high", mdc.NIBP_SYS, "NBP sys 186 ≥ 180 mmHg"),))
    window.refresh()
    window.toggle_silence()
    clock.t = 10.0
    reader.add("7", alarms=(AlarmStatus("high", mdc.SPO2, "SpO2 84 < 90 %"),))
    window.refresh()
    assert window.audio.sounding == AlarmPriority.HIGH and window.silence_button.text() == "Silence board 2:00"


def test_medium_alarms_show_but_do_not_sound_at_the_board(board) -> None:
    window, reader, out, _ = board
    reader.add("3", alarms=(AlarmStatus("medium", mdc.HEART_RATE, "HR 124 > 120 /min"),))
    window.refresh()
    assert window.tiles()[0].border_colour == "#f5c400" and out.plays == []


def test_a_silent_chair_turns_offline_in_technical_blue(board) -> None:
    window, reader, *_ = board
    reader.add("4", updated_at=990.0, numerics={mdc.HEART_RATE: NumericStatus(84, "/min", 0.5)},
               alarms=(AlarmStatus("high", mdc.NIBP_SYS, "NBP sys 186 ≥ 180 mmHg"),))
    window.refresh()
    tile = window.tiles()[0]
    assert tile.alarm.text().startswith("Chair 4 offline: no report for 10 s")
    assert tile.border_colour == TECHNICAL_BACKGROUND and tile.alarm_colours[1] == TECHNICAL_BACKGROUND
    assert tile.values["HR"].text() == "—"  # stale numbers are not shown as if live
    assert window.summary.text() == "1 chairs · 1 alarm · 1 offline"


def test_storage_trouble_says_how_old_the_board_is(board) -> None:
    window, reader, *_ = board
    reader.add("1")
    reader.error = "The record database cannot be reached"
    window.refresh()
    assert "cannot be reached" in window.storage.text() and "12 s ago" in window.storage.text()


def test_clicking_a_chair_opens_its_session(board, qtbot) -> None:
    window, reader, *_ = board
    opened: list[tuple[str, int]] = []
    window._on_open = lambda chair, sid: opened.append((chair, sid))
    reader.add("3", session_id=41)
    reader.add("4", phase=Phase.IDLE)
    window.refresh()
    tile3, tile4 = window.tiles()
    qtbot.mouseClick(tile3, Qt.MouseButton.LeftButton)
    assert opened == [("3", 41)]
    qtbot.mouseClick(tile4, Qt.MouseButton.LeftButton)
    assert opened == [("3", 41)] and "no open session" in window.storage.text()


@pytest.mark.parametrize("chairs", [4, 16])
@pytest.mark.parametrize("size", [(1366, 768), (1280, 800), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_board_fits_4_to_16_chairs_on_every_clinic_screen(board, chairs, size) -> None:
    from tests.layout_walk import layout_problems

    window, reader, *_ = board
    for n in range(1, chairs + 1):
        reader.add(str(n), patient=f"PT-{n:03d}", phase_detail="minute 12 of 40",
                   numerics={mdc.HEART_RATE: NumericStatus(84, "/min", 0.5), mdc.SPO2: NumericStatus(97, "%", 1),
                             mdc.NIBP_SYS: NumericStatus(183, "mmHg", 60),
                             mdc.NIBP_DIA: NumericStatus(112, "mmHg", 60)})
    window.show()
    window.refresh()
    assert len(window.tiles()) == chairs
    assert layout_problems(window, size) == []


@pytest.mark.parametrize("chairs", [4, 16])
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_numbers_stand_apart_and_under_their_names(board, qtbot, chairs, size) -> None:
    """"132/84 14" read from across the room as one number: each value keeps a clear gap to the next, and its
    name sits right on top of it, not half a tile away."""
    window, reader, *_ = board
    for n in range(1, chairs + 1):
        reader.add(str(n), numerics={mdc.HEART_RATE: NumericStatus(84, "/min", 0.5),
                                     mdc.SPO2: NumericStatus(100, "%", 1),
                                     mdc.NIBP_SYS: NumericStatus(288, "mmHg", 60),
                                     mdc.NIBP_DIA: NumericStatus(188, "mmHg", 60),
                                     mdc.RESP_RATE: NumericStatus(14, "/min", 1)})
    window.resize(*size)
    window.show()
    window.refresh()
    qtbot.waitExposed(window)
    tile = window.tiles()[0]
    names = list(tile.values)
    qtbot.waitUntil(lambda: tile.values[names[-1]].x() > 0)  # laid out
    for left, right in itertools.pairwise(names):
        a, b = tile.values[left], tile.values[right]
        text_end = a.x() + a.fontMetrics().horizontalAdvance(a.text())
        assert b.x() - text_end >= a.font().pixelSize() * 0.3, (left, right, a.text(), b.text())
    for name, value in tile.values.items():
        head = tile.findChild(QLabel, f"head_{name}")
        assert 0 <= value.y() - (head.y() + head.height()) <= value.font().pixelSize() * 0.5, name

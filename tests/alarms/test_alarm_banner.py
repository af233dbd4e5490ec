"""What the clinician sees in the banner: most urgent alarm, IEC colours and flashing, pause countdown."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from console.alarms.presentation import TECHNICAL_BACKGROUND
from devices import mdc
from devices.model import AlarmPriority, LinkEvent, LinkState, State
from tests.alarms.helpers import engine, events, num, series
from tests.audio_fakes import RecordingOutput
from widgets.alarm_audio import AlarmAudio
from widgets.alarm_banner import SECONDARY_NOTICE, AlarmBanner, format_countdown


def hm(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M")


HIGH, MEDIUM, LOW, NONE = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW, AlarmPriority.NONE


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def setup(qtbot):
    eng = engine()
    clock = Clock()
    user: dict[str, str | None] = {"name": "nurse.kim"}
    banner = AlarmBanner(eng, user=lambda: user["name"], clock=clock)
    qtbot.addWidget(banner)
    return eng, banner, clock, user


def nibp(eng, sbp: float, dbp: float, t: float) -> None:
    eng.feed(num(mdc.NIBP_SYS, sbp, t))
    eng.feed(num(mdc.NIBP_DIA, dbp, t))


def flash_sequence(banner: AlarmBanner, n: int) -> list[bool]:
    seq = []
    for _ in range(n):
        seq.append(banner.flash_on)
        banner.advance_flash()
    return seq


def test_quiet_banner_shows_no_alarm_the_secondary_notice_and_runs_no_timer(setup) -> None:
    _eng, banner, _clock, _ = setup
    banner.refresh(1000.0)
    assert banner.message_text == "No active alarms"
    assert not banner.flash_timer_active and not banner.ack_button.isEnabled()
    assert banner.findChild(QLabel, "secondaryNotice").text() == SECONDARY_NOTICE
    assert SECONDARY_NOTICE == "Secondary display: does not replace the bedside monitor's alarms"


def test_high_alarm_is_red_and_flashes_at_2_hz(setup) -> None:
    eng, banner, *_ = setup
    nibp(eng, 190, 100, 1000.0)
    banner.refresh(1000.0)
    assert banner.message_text == f"*** NBP 190/100 sys ≥ 180 mmHg since {hm(1000.0)}"
    assert banner.flash_timer_active
    # 2 Hz at 125 ms ticks: on, on, off, off
    assert flash_sequence(banner, 8) == [True, True, False, False] * 2
    assert banner.flash_on and banner.colours == ("#e8202a", "#ffffff")  # tick 8: on phase, red fill
    banner.advance_flash()
    banner.advance_flash()
    # off phase: dark fill, the text keeps the alarm colour so it stays readable
    assert not banner.flash_on and banner.colours == ("#0b0f14", "#e8202a")


def test_medium_alarm_is_yellow_and_flashes_slower(setup) -> None:
    eng, banner, *_ = setup
    series(eng, mdc.SPO2, [90] * 11, 1000.0)
    banner.refresh(1011.0)
    assert banner.top_alarm.priority == MEDIUM and banner.colours[0] == "#f5c400"
    assert flash_sequence(banner, 12) == [True] * 6 + [False] * 6


def test_technical_alarm_is_light_blue_inop_and_steady(setup) -> None:
    eng, banner, *_ = setup
    eng.feed(LinkEvent(LinkState.LOST, "port vanished", host_time=1000.0, source="mon"))
    banner.refresh(1000.0)
    assert banner.message_text.startswith("INOP mon disconnected: port vanished since ")
    assert banner.colours[0] == TECHNICAL_BACKGROUND
    assert not banner.flash_timer_active and flash_sequence(banner, 5) == [True] * 5


def test_the_most_urgent_alarm_wins_the_banner(setup) -> None:
    eng, banner, *_ = setup
    eng.feed(num(mdc.SPO2, None, 999.0, State.SENSOR_OFF))
    series(eng, mdc.HEART_RATE, [130] * 11, 1000.0)
    nibp(eng, 190, 100, 1011.0)
    banner.refresh(1011.0)
    assert banner.top_alarm.parameter == "NBP"
    assert banner.findChild(QLabel, "alarmMore").text() == "+2 more\nalarms"


def test_acknowledge_button_logs_the_user_and_clears_a_latched_alarm(setup, qtbot) -> None:
    eng, banner, clock, _ = setup
    nibp(eng, 190, 100, 1000.0)
    nibp(eng, 150, 90, 1600.0)  # ended, but a high alarm latches
    clock.t = 1600.0
    banner.refresh(1600.0)
    assert banner.top_alarm.latched and "acknowledge to clear" in banner.message_text
    assert banner.flash_timer_active
    events(eng)
    with qtbot.waitSignal(banner.acknowledged):
        qtbot.mouseClick(banner.ack_button, Qt.MouseButton.LeftButton)
    [ack] = events(eng)
    assert (ack["event"], ack["user"], ack["time"]) == ("ack", "nurse.kim", 1600.0)
    assert banner.message_text == "No active alarms" and not banner.flash_timer_active


def test_buttons_need_a_signed_in_user(setup) -> None:
    eng, banner, _, user = setup
    user["name"] = None
    nibp(eng, 190, 100, 1000.0)
    banner.refresh(1000.0)
    assert not banner.ack_button.isEnabled() and not banner.pause_button.isEnabled()
    assert banner.acknowledge_top() is False
    assert events(eng, "ack") == []


def test_audio_pause_shows_a_countdown_and_new_high_alarm_still_shows(setup) -> None:
    eng, banner, clock, _ = setup
    series(eng, mdc.HEART_RATE, [130] * 11, 1000.0)
    clock.t = 1011.0
    events(eng)
    assert banner.toggle_audio_pause() is True
    [pause] = events(eng)
    assert (pause["event"], pause["user"], pause["duration_s"]) == ("pause", "nurse.kim", 120.0)
    banner.refresh(1011.0)
    assert banner.pause_text == "AUDIO PAUSED 2:00"
    banner.refresh(1012.0)
    assert banner.pause_text == "AUDIO PAUSED 1:59"
    assert banner.pause_button.text() == "Resume audio"
    nibp(eng, 200, 100, 1020.0)
    banner.refresh(1020.0)
    assert banner.top_alarm.priority == HIGH and banner.flash_timer_active
    eng.tick(1131.0)
    banner.refresh(1131.0)
    assert banner.pause_text == ""


def test_banner_drives_the_sound(setup, qtbot) -> None:
    eng, _, clock, _ = setup
    out = RecordingOutput()
    audio = AlarmAudio(output=out, beep=lambda: pytest.fail("must not beep when an output works"))
    banner = AlarmBanner(eng, user=lambda: "nurse.kim", clock=clock, audio=audio)
    qtbot.addWidget(banner)
    assert banner.audio_note_text == "alarm sound on Test Output"
    nibp(eng, 190, 100, 1000.0)
    banner.refresh(1000.0)
    assert audio.sounding == HIGH and len(out.plays) == 1
    clock.t = 1001.0
    banner.toggle_audio_pause()
    assert audio.sounding == NONE
    banner.refresh(1009.0)
    assert len(out.plays) == 1  # paused: the next burst did not sound
    assert all(a.parameter != "Console" for a in eng.visible())


def test_no_sound_output_is_a_technical_alarm_not_a_footnote(setup, qtbot) -> None:
    eng, _, clock, _ = setup
    beeps: list[int] = []
    audio = AlarmAudio(output=RecordingOutput(working=False), beep=lambda: beeps.append(1))
    banner = AlarmBanner(eng, user=lambda: "nurse.kim", clock=clock, audio=audio)
    qtbot.addWidget(banner)
    [alarm] = eng.visible()
    assert alarm.technical and alarm.priority == MEDIUM
    assert "No audio output device found" in alarm.message and "system beep only" in alarm.message
    assert banner.top_alarm is alarm and "No audio output device found" in banner.message_text
    # recorded like any alarm, so the record shows the console could not be heard
    assert any(e["event"] == "start" and "No audio output" in e["message"] for e in eng.drain_events())
    nibp(eng, 190, 100, 1000.0)
    banner.refresh(1000.0)
    # the beep is all that is left, and the patient alarm still comes first
    assert beeps and audio.played[-1][1:] == (HIGH, "beep") and banner.top_alarm.priority == HIGH
    # the device comes back: the technical alarm ends
    audio._output.working = True  # type: ignore[attr-defined]
    audio.update(AlarmPriority.NONE, 1001.0)
    banner.refresh(1009.0)
    assert not any(a.parameter == "Console" for a in eng.visible() if a.ended is None)


def test_tile_style_follows_the_parameter_alarm_and_the_flash_phase(setup) -> None:
    eng, banner, *_ = setup
    series(eng, mdc.SPO2, [85] * 11, 1000.0)
    banner.refresh(1011.0)
    assert banner.alarm_style_for(mdc.SPO2) == (HIGH, True)
    assert banner.alarm_style_for(mdc.HEART_RATE) == (NONE, False)
    banner.advance_flash()
    banner.advance_flash()
    assert banner.alarm_style_for(mdc.SPO2) == (HIGH, False)
    nibp(eng, 150, 112, 1012.0)
    banner.refresh(1012.0)
    assert banner.alarm_style_for(mdc.NIBP)[0] == HIGH  # the compound NIBP tile lights for the diastolic
    series(eng, mdc.PULSE_RATE_OXIM, [130] * 11, 1013.0)
    banner.refresh(1024.0)
    # one HR tile fed by two sources
    assert banner.alarm_style_for([mdc.HEART_RATE, mdc.PULSE_RATE_OXIM])[0] == MEDIUM


def test_flash_timer_stops_when_alarms_end_and_on_close(setup) -> None:
    eng, banner, *_ = setup
    series(eng, mdc.HEART_RATE, [130] * 11, 1000.0)
    banner.refresh(1011.0)
    assert banner.flash_timer_active
    series(eng, mdc.HEART_RATE, [80] * 6, 1011.0)
    banner.refresh(1017.0)
    assert not banner.flash_timer_active and banner.flash_tick == 0
    series(eng, mdc.HEART_RATE, [130] * 11, 1100.0)
    banner.refresh(1111.0)
    assert banner.flash_timer_active
    banner.close()
    assert not banner.flash_timer_active


def test_countdown_format() -> None:
    assert [format_countdown(s) for s in (120, 119.2, 59, 0.3, 0)] == ["2:00", "2:00", "0:59", "0:01", "0:00"]



def test_banner_shows_the_current_value_not_the_onset_and_other_alarms_plainly(setup) -> None:
    eng, banner, *_ = setup
    nibp(eng, 182, 100, 1000.0)
    banner.refresh(1000.0)
    assert banner.message_text == f"*** NBP 182/100 sys ≥ 180 mmHg since {hm(1000.0)}"
    nibp(eng, 191, 100, 1300.0)  # the next measurement is higher: the banner says so
    banner.refresh(1300.0)
    assert banner.message_text == f"*** NBP 191/100 sys ≥ 180 mmHg since {hm(1000.0)}"
    more = banner.findChild(QLabel, "alarmMore")
    assert not more.isVisibleTo(banner)
    series(eng, mdc.HEART_RATE, [130] * 11, 1300.0)
    banner.refresh(1311.0)
    assert more.isVisibleTo(banner) and more.text() == "+1 more\nalarm"
    assert more.font().pointSize() >= 14

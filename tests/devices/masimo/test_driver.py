"""Masimo ASCII 1: exact values from the real captures, EXC/ALARM semantics, and robustness to bad bytes."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.model import AlarmPriority, DeviceAlarm, LinkEvent, LinkState, Numeric, State
from devices.protocols.masimo import DRIVER, MasimoDriver
from tests.conftest import capture

RAD8 = "masimo/rad8-ascii1-yahnatan.txt"
VARIANTS = "masimo/variants-nmenon-comments.txt"

GOOD = (b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% "
        b"DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n")


def numerics(samples: list) -> list[Numeric]:
    return [s for s in samples if isinstance(s, Numeric)]


def by_label(samples: list) -> dict[str, Numeric]:
    return {n.label: n for n in numerics(samples)}


def alarms(samples: list) -> list[DeviceAlarm]:
    return [s for s in samples if isinstance(s, DeviceAlarm)]


def local(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


# --- the real captures ------------------------------------------------------------------------------------


@pytest.mark.captures
def test_rad8_capture_decodes_every_line_exactly() -> None:
    driver = MasimoDriver()
    samples = driver.feed(capture(RAD8).read_bytes(), 1000.0)
    lines = [n for n in numerics(samples) if n.label == "SPO2"]
    assert len(lines) == 5
    assert [n.value for n in numerics(samples) if n.mdc == mdc.SPO2] == [98.0] * 5
    pulse = [n.value for n in numerics(samples) if n.mdc == mdc.PULSE_RATE_OXIM]
    assert pulse == [97.0, 96.0, 96.0, 96.0, 97.0]
    assert [n.value for n in numerics(samples) if n.mdc == mdc.PERF_INDEX] == [3.60, 3.95, 4.25, 3.19, 2.41]
    assert all(n.state is State.NONE and n.valid for n in numerics(samples) if n.mdc)
    # device clock: MM/DD/YY HH:MM:SS read as local wall-clock time
    assert [n.device_time for n in lines] == [local(2016, 2, 22, 22, 47, s) for s in range(45, 50)]
    assert driver.stats.frames_ok == 5 and driver.stats.frames_bad == 0 and driver.stats.resyncs == 0
    assert driver.serial_number == "0000056661"
    assert alarms(samples) == []  # EXC=000800 is SET processing: normal


@pytest.mark.captures
def test_rad8_capture_keeps_the_dashed_rainbow_fields_under_their_keys() -> None:
    first = by_label(MasimoDriver().feed(capture(RAD8).read_bytes().split(b"\n")[0] + b"\n", 1.0))
    assert list(first) == ["SPO2", "BPM", "PI", "SPCO", "SPMET", "DESAT", "PIDELTA"]
    for key in ("SPCO", "SPMET", "DESAT", "PIDELTA"):
        assert first[key].value is None and first[key].mdc == 0
        assert first[key].state == State.UNAVAILABLE and not first[key].valid
    assert first["SPCO"].unit == "%" and first["BPM"].unit == "/min"


@pytest.mark.captures
def test_variants_capture_no_sensor_rainbow_and_dashes() -> None:
    driver = MasimoDriver()
    lines = capture(VARIANTS).read_bytes().splitlines(keepends=True)
    assert len(lines) == 3

    no_sensor = driver.feed(lines[0], 1.0)
    values = by_label(no_sensor)
    assert set(values) == {"SPO2", "BPM", "DESAT", "PIDELTA"}  # this firmware sends no PI
    for key in ("SPO2", "BPM"):
        assert values[key].value is None
        assert State.SENSOR_OFF in values[key].state and State.UNAVAILABLE in values[key].state
    assert values["SPO2"].device_time == local(2016, 3, 19, 13, 37, 12)
    [alarm] = alarms(no_sensor)
    assert (alarm.code, alarm.active, alarm.technical) == ("masimo.no_sensor", True, True)

    rainbow = driver.feed(lines[1], 2.0)
    values = by_label(rainbow)
    assert values["SPO2"].value == 98.0 and values["BPM"].value == 123.0 and values["PI"].value == 0.55
    # EXC=0000C00: SET processing (normal) + low signal IQ -> questionable, not usable
    for key in ("SPO2", "BPM", "PI"):
        assert values[key].state == State.QUESTIONABLE and not values[key].usable
    for key in ("SPCO", "SPMET", "SPHB", "SPOC", "RESVD", "DESAT", "PIDELTA", "PVI"):
        assert values[key].value is None and values[key].state == State.UNAVAILABLE
    assert values["SPHB"].unit == "g/dL"
    assert driver.serial_number == "0000093112"  # SN=---------- does not erase the known serial number
    changes = {(a.code, a.active) for a in alarms(rainbow)}
    assert changes == {("masimo.low_signal_iq", True), ("masimo.no_sensor", False)}

    dashes = by_label(driver.feed(lines[2], 3.0))
    assert all(n.value is None and State.UNAVAILABLE in n.state for n in dashes.values())
    assert "PVI" in dashes and dashes["SPO2"].device_time == local(2007, 5, 15, 8, 12, 21)
    assert driver.stats.frames_ok == 3 and driver.stats.frames_bad == 0


# --- format details ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\r\n", b"\n\r", b"\n", b"\r"])
def test_line_endings_are_all_accepted(ending: bytes) -> None:
    driver = MasimoDriver()
    samples = driver.feed(GOOD.rstrip() + ending + GOOD.rstrip() + ending, 1.0)
    assert [n.value for n in numerics(samples) if n.label == "SPO2"] == [98.0, 98.0]
    assert driver.stats.frames_bad == 0


def test_fields_are_read_by_key_not_position() -> None:
    line = b"01/02/24 03:04:05 EXC=000800 ALARM=0000 PI=01.25% BPM=061 SPO2=095%\r\n"
    values = by_label(MasimoDriver().feed(line, 1.0))
    assert (values["SPO2"].value, values["BPM"].value, values["PI"].value) == (95.0, 61.0, 1.25)


def test_radical5_minimal_line_and_unknown_fields_are_kept() -> None:
    line = b"01/02/24 03:04:05 SPO2=097% BPM=070 PI=02.00% NEWP=012 ALARM=0000 EXC=000800\r\n"
    values = by_label(MasimoDriver().feed(line, 1.0))
    assert values["NEWP"].value == 12.0 and values["NEWP"].mdc == 0 and values["NEWP"].label == "NEWP"


@pytest.mark.parametrize(("exc", "expected"), [
    (0x0020, State.SENSOR_OFF | State.UNAVAILABLE),
    (0x1000, State.SENSOR_OFF | State.UNAVAILABLE),
    (0x0002, State.INVALID),
    (0x0080, State.INVALID),
    (0x0004, State.LOW_PERFUSION),
    (0x0008, State.SEARCHING),
    (0x0010, State.QUESTIONABLE),
    (0x0040, State.QUESTIONABLE),
    (0x0800, State.NONE),
])
def test_exc_bits_set_states_on_the_oximetry_values(exc: int, expected: State) -> None:
    line = f"01/02/24 03:04:05 SPO2=097% BPM=070 PI=02.00% PVI=012 ALARM=0000 EXC={exc:06X}\r\n".encode()
    values = by_label(MasimoDriver().feed(line, 1.0))
    for key in ("SPO2", "BPM", "PI"):
        assert values[key].state == expected
    assert values["PVI"].state == State.NONE


def test_physiological_alarms_follow_the_alarm_field_with_silencing() -> None:
    driver = MasimoDriver()

    def send(alarm: int, t: float) -> list[DeviceAlarm]:
        line = f"01/02/24 03:04:05 SPO2=085% BPM=070 PI=02.00% ALARM={alarm:04X} EXC=000800\r\n".encode()
        return alarms(driver.feed(line, t))

    [low] = send(0x0012, 1.0)
    assert (low.code, low.active, low.technical, low.priority, low.mdc) == (
        "masimo.spo2_low", True, False, AlarmPriority.HIGH, mdc.SPO2)
    assert send(0x0012, 2.0) == []  # unchanged: nothing new
    [silenced] = send(0x0032, 3.0)
    assert silenced.active and "silenced" in silenced.text
    [ended] = send(0x0000, 4.0)
    assert (ended.code, ended.active) == ("masimo.spo2_low", False)
    changes = {(a.code, a.active, a.technical) for a in send(0x0054, 5.0)}
    assert changes == {("masimo.pr_high", True, False), ("masimo.low_battery", True, True)}


def test_alarms_survive_a_reconnect_and_end_on_the_first_line_after_it() -> None:
    driver = MasimoDriver()
    driver.feed(b"01/02/24 03:04:05 SPO2=---% BPM=--- PI=--.--% ALARM=0000 EXC=000020\r\n", 1.0)
    driver.reset()
    [ended] = alarms(driver.feed(GOOD, 10.0))
    assert (ended.code, ended.active) == ("masimo.sensor_off", False)


def test_contact_and_silence_are_reported_as_link_events() -> None:
    driver = MasimoDriver()
    first = driver.feed(GOOD, 100.0)
    assert [e.state for e in first if isinstance(e, LinkEvent)] == [LinkState.ASSOCIATED]
    assert driver.feed(b"", 100.0 + DRIVER.silence_timeout - 0.5) == []
    [silent] = driver.feed(b"", 100.0 + DRIVER.silence_timeout + 0.5)
    assert isinstance(silent, LinkEvent) and silent.state is LinkState.SILENT and "ASCII 1" in silent.message
    again = driver.feed(GOOD, 120.0)
    assert [e.state for e in again if isinstance(e, LinkEvent)] == [LinkState.ASSOCIATED]


@pytest.mark.parametrize("bad", [
    b"hello world\r\n",
    b"02/22/16 22:47:45 SPO2=09X% BPM=097 EXC=000800\r\n",  # corrupt value: rejected, not guessed
    b"02/22/16 22:47:45 SN=1 ALARM=0000 EXC=000800\r\n",  # no oximetry field at all
    b"13/40/16 22:47:45 SPO2=098% BPM=097 EXC=000800\r\n",  # impossible date
    b"02/22/16 22:47:45 SPO2=098% SPO2=097% EXC=000800\r\n",  # field twice
    b"02/22/16 22:47:45 SPO2=098% EXC=00ZZ00\r\n",
    b"02/22/16 22:47:45 SPO2=098% BPM=097 PI=03.60% ALARM=0000\r\n",  # cut before EXC
    b"02/22/16 22:47:45 SPO2=098% BPM=097 ALARM=00 EXC=000800\r\n",  # ALARM too short
    b"02/22/16 22:47:45 SPO2=098% \xff\xfe EXC=000800\r\n",
])
def test_bad_lines_are_counted_and_skipped(bad: bytes) -> None:
    driver = MasimoDriver()
    samples = driver.feed(bad + GOOD, 1.0)
    assert driver.stats.frames_bad == 1 and driver.stats.frames_ok == 1
    assert by_label(samples)["SPO2"].value == 98.0
    assert driver.frame_log[0].ok is False and driver.stats.last_error


def test_noise_in_front_of_a_line_costs_only_the_noise() -> None:
    driver = MasimoDriver()
    values = by_label(driver.feed(b"\x00\x17#garbage" + GOOD, 1.0))
    assert values["SPO2"].value == 98.0 and driver.stats.resyncs == 1 and driver.stats.frames_bad == 0


def test_an_endless_line_is_dropped_and_the_driver_resynchronises() -> None:
    driver = MasimoDriver()
    assert driver.feed(b"x" * 5000, 1.0) == []
    assert driver.stats.frames_bad == 1 and driver.stats.resyncs == 1
    samples = driver.feed(b"yyy\r\n" + GOOD, 2.0)  # rest of the endless line is dropped, not decoded
    assert by_label(samples)["SPO2"].value == 98.0 and driver.stats.frames_bad == 1


def test_driver_is_listen_only() -> None:
    driver = MasimoDriver()
    assert driver.outgoing(1.0) == b"" and driver.close(1.0) == b""


# --- fuzzing ----------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_and_the_next_good_line_decodes(data: bytes) -> None:
    driver = MasimoDriver()
    driver.feed(data, 1.0)
    samples = driver.feed(b"\r\n" + GOOD, 2.0)
    assert by_label(samples)["SPO2"].value == 98.0
    assert by_label(samples)["PI"].value == 3.6


def test_a_truncated_line_is_rejected_never_misread() -> None:
    for cut in range(len(GOOD) - 2):  # every cut short of the line end
        driver = MasimoDriver()
        assert numerics(driver.feed(GOOD[:cut] + b"\r\n", 1.0)) == [], cut
        assert driver.stats.frames_ok == 0
        assert by_label(driver.feed(GOOD, 2.0))["BPM"].value == 97.0


def test_a_line_cut_short_with_no_line_end_does_not_take_the_next_line_with_it() -> None:
    """ASCII 1 has no start marker: a cut line runs straight into the next one, even inside its clock."""
    whole = GOOD.rstrip(b"\r\n")
    for cut in range(1, len(whole) - 1):
        driver = MasimoDriver()
        samples = driver.feed(whole[:cut] + GOOD, 1.0)
        assert by_label(samples)["BPM"].value == 97.0, cut
        assert by_label(samples)["SPO2"].value == 98.0, cut
        assert driver.stats.frames_ok == 1, cut


@FUZZ
@given(st.integers(min_value=0, max_value=len(GOOD) - 3), st.integers(min_value=0, max_value=7))
def test_a_bit_flip_never_raises_and_the_next_line_decodes(pos: int, bit: int) -> None:
    corrupt = bytearray(GOOD)
    corrupt[pos] ^= 1 << bit
    driver = MasimoDriver()
    driver.feed(bytes(corrupt), 1.0)
    samples = driver.feed(b"\r\n" + GOOD, 2.0)
    assert by_label(samples)["SPO2"].value == 98.0


def test_splitting_the_stream_anywhere_gives_the_same_result() -> None:
    stream = GOOD + GOOD.replace(b"BPM=097", b"BPM=055")
    whole = [(n.label, n.value, n.state) for n in numerics(MasimoDriver().feed(stream, 1.0))]
    assert [v for label, v, _ in whole if label == "BPM"] == [97.0, 55.0]
    for split in range(len(stream) + 1):
        driver = MasimoDriver()
        parts = driver.feed(stream[:split], 1.0) + driver.feed(stream[split:], 1.0)
        assert [(n.label, n.value, n.state) for n in numerics(parts)] == whole, split

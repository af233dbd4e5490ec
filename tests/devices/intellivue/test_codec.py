"""IntelliVue value encodings: FLOAT, BCD clock, attribute lists, strings, states and units."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from devices.model import State
from devices.protocols.intellivue import codec
from devices.protocols.intellivue.driver import measurement_state
from devices.protocols.intellivue.emulator import state_bits


@pytest.mark.parametrize(("raw", "value"), [
    (0xFD007D00, 32.0),  # guide: 32000 x 10^-3
    (0xFF000140, 32.0),  # 320 x 10^-1
    (0x01000140, 3200.0),  # 320 x 10^1
    (0x00000000, 0.0),
    (0xFEFFFF9C, -1.0),  # mantissa -100, exponent -2
    (0xFE000E76, 37.02),
])
def test_float_examples(raw: int, value: float) -> None:
    assert codec.decode_float(raw) == value


@pytest.mark.parametrize("mantissa", [0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002])
def test_float_special_values_are_no_value(mantissa: int) -> None:
    assert codec.decode_float(mantissa) is None
    assert codec.decode_float(0xFE000000 | mantissa) is None


@pytest.mark.parametrize(("value", "decimals"), [(37.02, 2), (-40.96, 3), (120.0, 0), (0.5, 1)])
def test_float_encode_round_trip(value: float, decimals: int) -> None:
    assert codec.decode_float(codec.encode_float(value, decimals)) == value


def test_float_encode_none_is_nan() -> None:
    assert codec.encode_float(None) == 0x007FFFFF


def test_bcd_absolute_time() -> None:
    raw = bytes.fromhex("20 21 04 22 11 47 26 00")
    expected = dt.datetime(2021, 4, 22, 11, 47, 26, tzinfo=dt.UTC).timestamp()
    assert codec.decode_abs_time(raw, dt.UTC) == expected
    assert codec.encode_abs_time(expected, dt.UTC) == raw
    assert codec.decode_abs_time(b"\xff" * 8) is None
    assert codec.decode_abs_time(bytes.fromhex("20 21 13 22 11 47 26 00")) is None  # month 13
    assert codec.decode_abs_time(bytes.fromhex("20 2A 04 22 11 47 26 00")) is None  # not BCD


def test_relative_time_difference_wraps() -> None:
    assert codec.rel_delta(5, 0xFFFFFFFE) == 7
    assert codec.rel_delta(0xFFFFFFFE, 5) == -7


def test_attribute_list_and_truncation() -> None:
    data = codec.encode_attributes([(0x0921, b"\x01\x02"), (0x0996, b"\x0a\xa0")])
    attrs, end = codec.parse_attributes(data, 0)
    assert attrs == {0x0921: b"\x01\x02", 0x0996: b"\x0a\xa0"}
    assert end == len(data)
    with pytest.raises(codec.DecodeError):
        codec.parse_attributes(data[:-1], 0)
    with pytest.raises(codec.DecodeError):
        codec.parse_attributes(struct.pack(">HH", 3, 0), 0)


def test_label_string_and_model() -> None:
    assert codec.decode_string(codec.encode_string("HR")) == "HR"
    # the monitor pads labels with blanks and NULs
    assert codec.decode_string(bytes.fromhex("000e 0043 0050 0050 0020 0020 0020 0000")) == "CPP"
    assert codec.decode_model(codec.encode_model("Philips", "M8000")) == ("Philips", "M8000")


def test_measurement_states_map_to_model_flags() -> None:
    assert measurement_state(0) == State.NONE
    assert measurement_state(0x8000) == State.INVALID
    assert measurement_state(0x8001) == State.INVALID | State.ALARMS_INHIBITED
    assert measurement_state(0x4000) == State.QUESTIONABLE
    assert measurement_state(0x2000) == State.UNAVAILABLE
    assert measurement_state(0x1000) == State.CALIBRATING
    assert measurement_state(0x0800) == State.TEST
    assert measurement_state(0x0400) == State.DEMO
    assert measurement_state(0x0040) == State.EARLY_INDICATION
    assert measurement_state(0x0002) == State.IN_ALARM
    assert measurement_state(0x0080) == State.NONE  # validated data carries no flag


def test_emulator_state_bits_invert_the_mapping() -> None:
    for bits in (0x8000, 0x4000, 0x2000, 0x1000, 0x0800, 0x0400, 0x0040, 0x0020, 0x0002, 0x0001, 0x8401):
        assert state_bits(measurement_state(bits)) == bits


def test_units_to_ucum() -> None:
    assert codec.unit_to_ucum(0x0AA0) == "/min"
    assert codec.unit_to_ucum(0x0AE0) == "/min"
    assert codec.unit_to_ucum(0x0220) == "%"
    assert codec.unit_to_ucum(0x0F20) == "mm[Hg]"
    assert codec.unit_to_ucum(0x0F03) == "kPa"
    assert codec.unit_to_ucum(0x17A0) == "Cel"
    assert codec.unit_to_ucum(0x10B2) == "mV"
    assert codec.unit_to_ucum(0x0200) == "1"
    assert codec.unit_to_ucum(0x0512) == "mm"
    assert codec.unit_to_ucum(0x1234) == "{unit 0x1234}"

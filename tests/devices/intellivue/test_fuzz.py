"""Fuzzing the driver's input: nothing the line delivers may raise, and good frames after garbage decode."""

from __future__ import annotations

import datetime as dt
import itertools
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.model import Numeric, WaveBlock
from devices.protocols.intellivue import DRIVER, codec, messages
from devices.protocols.intellivue.framing import encode_frame

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _numeric_reply(hr: float) -> bytes:
    value = struct.pack(">HHHI", 0x4182, 0, 0x0AA0, codec.encode_float(hr, 0))
    context = messages.poll_context(0, [(0x0101, [(codec.ATTR_NU_VAL_OBS, value)])])
    return messages.extended_poll_reply(1, 1, 1, 8000, codec.NOM_MOC_VMO_METRIC_NU, [context])


def _wave_reply(rel: int) -> bytes:
    raw = struct.pack(">4H", 8192, 8292, 8392, 8192)
    scale = struct.pack(">IIHH", codec.encode_float(-40.96, 3), codec.encode_float(40.955, 3), 0, 16383)
    attrs = [(codec.ATTR_SA_SPECN, struct.pack(">HBBH", 4, 16, 14, 0x1000)),
             (codec.ATTR_SCALE_SPECN_I16, scale),
             (codec.ATTR_TIME_PD_SAMP, struct.pack(">I", 16)),
             (codec.ATTR_UNIT_CODE, struct.pack(">H", 0x10B2)),
             (codec.ATTR_SA_VAL_OBS, struct.pack(">HHH", 0x0102, 0, len(raw)) + raw)]
    context = messages.poll_context(0, [(0x0201, attrs)])
    return messages.extended_poll_reply(2, 2, 1, rel, codec.NOM_MOC_VMO_METRIC_SA_RT, [context])


#: a short valid monitor stream: accept, MDS Create, numerics and a wave reply
STREAM = b"".join(encode_frame(m) for m in (
    messages.association_response(),
    messages.mds_create_event(1, 8000, [(codec.ATTR_TIME_ABS, bytes.fromhex("20 24 01 02 03 04 05 00")),
                                        (codec.ATTR_TIME_REL, struct.pack(">I", 8000))]),
    _numeric_reply(65),
    _wave_reply(16000),
))
TAIL = encode_frame(_numeric_reply(77))


def _driver() -> DRIVER:
    driver = DRIVER()
    driver.device_tz = dt.UTC
    return driver


def _hr_values(samples: list) -> list[float | None]:
    return [s.value for s in samples if isinstance(s, Numeric) and s.mdc == mdc.HEART_RATE]


def test_reference_stream_decodes() -> None:
    out = _driver().feed(STREAM + TAIL, 1.0)
    assert _hr_values(out) == [65.0, 77.0]
    wave = [s for s in out if isinstance(s, WaveBlock)]
    assert len(wave) == 1 and list(wave[0].samples) == [0.0, 0.5, 1.0, 0.0]


def test_stream_split_at_every_position_decodes_the_same() -> None:
    whole = _driver().feed(STREAM, 1.0)
    for cut in range(1, len(STREAM)):
        driver = _driver()
        out = driver.feed(STREAM[:cut], 1.0) + driver.feed(STREAM[cut:], 1.0)
        assert _hr_values(out) == _hr_values(whole) == [65.0]
        assert driver.stats.frames_ok == 4 and driver.stats.frames_bad == 0


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_and_a_good_frame_after_them_decodes(data: bytes) -> None:
    driver = _driver()
    driver.feed(data, 1.0)
    driver.outgoing(1.0)
    assert 77.0 in _hr_values(driver.feed(TAIL, 2.0))


PIECES = [b"\xc0", b"\xc1", b"\x7d", b"\x11\x01", b"\xe1\x00\x00\x02", b"\xff", b"\x00"]


@FUZZ
@given(st.lists(st.sampled_from(PIECES), max_size=200))
def test_delimiter_soup_never_raises(parts: list[bytes]) -> None:
    driver = _driver()
    driver.feed(b"".join(parts), 1.0)
    assert 77.0 in _hr_values(driver.feed(TAIL, 2.0))


@FUZZ
@given(st.integers(min_value=0, max_value=len(STREAM)))
def test_truncated_stream_then_good_frame(cut: int) -> None:
    driver = _driver()
    driver.feed(STREAM[:cut], 1.0)
    assert 77.0 in _hr_values(driver.feed(TAIL, 2.0))


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=len(STREAM) - 1), st.integers(0, 7)),
                min_size=1, max_size=8))
def test_bit_flips_never_raise(flips: list[tuple[int, int]]) -> None:
    data = bytearray(STREAM)
    for index, bit in flips:
        data[index] ^= 1 << bit
    driver = _driver()
    driver.feed(bytes(data), 1.0)
    driver.outgoing(1.5)
    assert 77.0 in _hr_values(driver.feed(TAIL, 2.0))


@FUZZ
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=12))
def test_stream_split_anywhere_into_many_pieces(cuts: list[int]) -> None:
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    driver = _driver()
    out: list = []
    for a, b in itertools.pairwise(bounds):
        out += driver.feed(STREAM[a:b], 1.0)
    assert _hr_values(out) == [65.0]
    assert driver.stats.frames_ok == 4


@FUZZ
@given(st.binary(min_size=1, max_size=300))
def test_valid_frames_with_fuzzed_content_never_raise(payload: bytes) -> None:
    # the FCS is right but the message is nonsense: parse errors are counted, never raised
    driver = _driver()
    for prefix in (b"", b"\xe1\x00\x00\x02", b"\xe1\x00\x00\x02\x00\x02", b"\xe1\x00\x00\x02\x00\x05",
                   b"\x0e"):
        driver.feed(encode_frame(prefix + payload), 1.0)
    driver.outgoing(1.0)
    assert 77.0 in _hr_values(driver.feed(TAIL, 2.0))

"""Property tests: nothing fed to the Datex driver raises, and valid frames after any damage still decode."""

from __future__ import annotations

import itertools
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.model import Numeric, WaveBlock
from devices.protocols.datex import DRIVER
from devices.protocols.datex.framing import FrameSplitter, encode_frame
from devices.protocols.datex.records import (
    CLASS_BASIC,
    MT_PHDB,
    MT_WAVE,
    PH_DISPL,
    PLETH,
    build_basic,
    build_phdb_subrecord,
    build_record,
    build_wave_subrecord,
)

T = 1_700_000_000
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _frames() -> list[bytes]:
    """Three small valid frames whose bytes need escaping (HR 126 = 0x7E, RR 125 = 0x7D, samples 0x7D7E)."""
    out = []
    for k in range(3):
        basic = build_basic({"hr": 126, "imp_rr": 125, "spo2": 97.5, "etco2_conc": 5.0, "amb_press": 760.0})
        sub = build_phdb_subrecord(T + k, CLASS_BASIC, basic)
        out.append(encode_frame(build_record(MT_PHDB, [(PH_DISPL, sub)], r_nbr=k, r_time=T + k)))
        samples = (np.arange(25, dtype="<i2") * 7 + 0x7D7E - 100).astype("<i2").tobytes()
        wave = build_wave_subrecord(samples, 0)
        out.append(encode_frame(build_record(MT_WAVE, [(PLETH, wave)], r_nbr=k, r_time=T + k)))
    assert all(b"\x7d" in f for f in out)
    return out


FRAMES = _frames()
STREAM = b"".join(FRAMES)
RECORDS = {r.record for r in FrameSplitter().feed(STREAM)}


def _summary(samples: list) -> list[tuple]:
    out: list[tuple] = []
    for s in samples:
        if isinstance(s, Numeric):
            out.append(("n", s.label, s.value, s.state, s.device_time))
        elif isinstance(s, WaveBlock):
            out.append(("w", s.label, s.t0, s.gap, tuple(np.round(s.samples, 6))))
    return out


WHOLE = _summary(DRIVER().feed(STREAM, 0.0))


@FUZZ
@given(st.binary(max_size=4000), st.lists(st.integers(1, 600), max_size=20))
def test_random_bytes_never_raise(data: bytes, chunks: list[int]) -> None:
    driver = DRIVER()
    pos = 0
    for size in chunks + [len(data)]:
        driver.feed(data[pos:pos + size], 1.0)
        pos += size
    driver.feed(b"", 100.0)
    assert driver.stats.bytes_in == len(data)


@FUZZ
@given(st.binary(max_size=3000))
def test_valid_frames_after_garbage_decode(garbage: bytes) -> None:
    driver = DRIVER()
    out = driver.feed(garbage, 1.0)
    out += driver.feed(STREAM, 1.0)
    decoded = _summary(out)
    assert decoded[-len(WHOLE):] == WHOLE
    assert driver.stats.extra["displayed_records"] >= 3 and driver.stats.extra["wave_records"] >= 3


@FUZZ
@given(st.integers(0, len(FRAMES) - 1), st.data())
def test_truncated_frame_then_valid_frames(index: int, data: st.DataObject) -> None:
    frame = FRAMES[index]
    cut = data.draw(st.integers(1, len(frame) - 2))  # cutting only the closing flag loses nothing
    driver = DRIVER()
    out = driver.feed(b"".join(FRAMES[:index]) + frame[:cut], 1.0)
    out += driver.feed(b"".join(FRAMES[index + 1:]) + STREAM, 1.0)
    assert _summary(out)[-len(WHOLE):] == WHOLE
    assert driver.stats.frames_ok == len(FRAMES) - 1 + len(FRAMES)


@FUZZ
@given(st.integers(0, len(STREAM) * 8 - 1))
def test_a_bit_flip_is_never_accepted_as_a_valid_record(bit: int) -> None:
    damaged = bytearray(STREAM)
    damaged[bit // 8] ^= 1 << (bit % 8)
    results = FrameSplitter().feed(bytes(damaged))
    good = [r.record for r in results if r.ok]
    # the byte sum catches any single flipped bit; flags and escapes changing the length meet the length field
    assert set(good) <= RECORDS
    assert len(good) >= len(FRAMES) - 2  # a flipped flag can merge two frames, nothing more is lost
    driver = DRIVER()
    driver.feed(bytes(damaged), 1.0)
    out = driver.feed(STREAM, 2.0)  # valid frames after the damage decode in full
    assert len([s for s in out if isinstance(s, Numeric) and s.label == "HR"]) == 3


def test_valid_stream_split_at_every_position_decodes_the_same() -> None:
    for cut in range(1, len(STREAM)):
        driver = DRIVER()
        out = driver.feed(STREAM[:cut], 0.0) + driver.feed(STREAM[cut:], 0.0)
        assert _summary(out) == WHOLE, cut
        assert (driver.stats.frames_ok, driver.stats.frames_bad, driver.stats.resyncs) == (6, 0, 0)


@FUZZ
@given(st.lists(st.integers(0, len(STREAM)), max_size=30))
def test_valid_stream_in_random_chunks_decodes_the_same(cuts: list[int]) -> None:
    driver = DRIVER()
    out = []
    edges = [0, *sorted(cuts), len(STREAM)]
    for a, b in itertools.pairwise(edges):
        out += driver.feed(STREAM[a:b], 0.0)
    assert _summary(out) == WHOLE


@FUZZ
@given(st.sampled_from([0, 1, 4, 7]), st.binary(min_size=24, max_size=24), st.binary(max_size=1450),
       st.integers(0, 0xFFFFFFFF))
def test_framed_records_with_arbitrary_insides_never_raise(maintype: int, descriptors: bytes, body: bytes,
                                                           r_time: int) -> None:
    """Frames that pass every frame check but carry nonsense descriptors, sizes and values."""
    head = struct.pack("<hBBHIBBHh", 40 + len(body), 1, 10, 0, r_time, 0, 0, 0, maintype)
    record = head + descriptors + body
    driver = DRIVER()
    driver.feed(encode_frame(record), 1.0)
    assert driver.stats.frames_ok + driver.stats.frames_bad == 1
    out = driver.feed(STREAM, 2.0)  # and the driver is still fine afterwards
    assert len([s for s in out if isinstance(s, Numeric) and s.label == "HR"]) == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([1, 4, 8, 9, 15, 32, 99]), st.integers(0, 300),
                          st.integers(0, 0xFFFF)), min_size=1, max_size=8), st.data())
def test_waveform_records_with_any_status_and_samples_decode(subs: list, data: st.DataObject) -> None:
    body = []
    for wave_type, n, status in subs:
        samples = data.draw(st.lists(st.integers(-32768, 32767), min_size=n, max_size=n))
        body.append((wave_type, build_wave_subrecord(struct.pack(f"<{n}h", *samples), status)))
    driver = DRIVER()
    out = driver.feed(encode_frame(build_record(MT_WAVE, body, r_time=T)), 1.0)
    assert driver.stats.frames_ok == 1
    # every sample of a known type is either delivered or counted as a removed control code, never padded
    known = sum(n for wave_type, n, _ in subs if wave_type != 99)
    delivered = sum(len(b) for b in out if isinstance(b, WaveBlock))
    assert delivered + driver.stats.extra["wave_control_codes"] == known
    assert all(len(b) > 0 for b in out if isinstance(b, WaveBlock))

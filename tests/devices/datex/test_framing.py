"""Datex framing: the guide's request frames byte for byte, transparency vectors, resynchronisation."""

from __future__ import annotations

import pytest

from devices.protocols.datex.framing import (
    FrameSplitter,
    check_record,
    checksum,
    encode_frame,
    escape,
    unescape,
)
from devices.protocols.datex.records import MT_PHDB, build_record

# M1017617 appendix A, "How to request displayed values": 10-s interval, classes basic + ext1-3
GUIDE_DISPLAYED_10S = bytes.fromhex(
    "7e 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 00 00 00 01 0a 00 0e 00 00 00"
    " 00 00 49 7e")
# appendix A, "How to request 60 second trended values": the checksum is 0x7D and goes out escaped
GUIDE_TREND_60S = bytes.fromhex(
    "7e 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 00 00"
    " 00 00 00 00 00 00 00 00 00 03 3c 00 0e 00 00 00"
    " 00 00 7d 5d 7e")


def test_guide_displayed_values_frame_checksum_is_0x49() -> None:
    record = GUIDE_DISPLAYED_10S[1:-2]
    assert len(record) == 49 and checksum(record) == 0x49
    assert encode_frame(record) == GUIDE_DISPLAYED_10S


def test_guide_trend_frame_escapes_its_checksum() -> None:
    record = GUIDE_TREND_60S[1:-3]
    assert checksum(record) == 0x7D
    assert encode_frame(record) == GUIDE_TREND_60S
    assert encode_frame(record).endswith(b"\x7d\x5d\x7e")


@pytest.mark.parametrize(("plain", "wire"), [
    (b"", b""),
    (b"\x01\x02", b"\x01\x02"),
    (b"\x7e", b"\x7d\x5e"),
    (b"\x7d", b"\x7d\x5d"),
    (b"\x7d\x5e", b"\x7d\x5d\x5e"),  # an escape byte followed by what looks like an escaped flag
    (b"\x7d\x7e\x7d", b"\x7d\x5d\x7d\x5e\x7d\x5d"),
    (b"\x5d\x5e\x7e\x7e", b"\x5d\x5e\x7d\x5e\x7d\x5e"),
])
def test_escape_and_unescape_vectors(plain: bytes, wire: bytes) -> None:
    assert escape(plain) == wire
    assert unescape(wire) == plain


@pytest.mark.parametrize("bad", [b"\x7d", b"\x01\x7d", b"\x7d\x7d\x5d", b"\x7d\x41", b"\x7d\x5e\x7d"])
def test_unescape_rejects_invalid_escapes(bad: bytes) -> None:
    assert unescape(bad) is None


def test_checksum_covers_the_record_only_and_wire_checksum_is_unescaped_value() -> None:
    # a record whose bytes sum to 0x7E: the checksum byte itself must be escaped on the wire
    record = build_record(MT_PHDB, [(0, bytes(9))])
    record = record[:-1] + bytes(((0x7E - checksum(record[:-1])) & 0xFF,))
    assert checksum(record) == 0x7E
    frame = encode_frame(record)
    assert frame.endswith(b"\x7d\x5e\x7e")
    assert FrameSplitter().feed(frame)[0].record == record


def _frame(n: int) -> tuple[bytes, bytes]:
    record = build_record(MT_PHDB, [(0, bytes([n]) * 9)], r_nbr=n)
    return record, encode_frame(record)


def test_splitter_returns_records_across_arbitrary_chunks() -> None:
    records, frames = zip(*(_frame(n) for n in (1, 0x7D, 0x7E, 4)), strict=True)
    stream = b"".join(frames)
    splitter = FrameSplitter()
    got = []
    for i in range(0, len(stream), 7):
        got += splitter.feed(stream[i:i + 7])
    assert [r.record for r in got] == list(records)
    assert all(r.ok for r in got) and splitter.pending == 0


def test_splitter_skips_leading_tail_and_rejects_corrupt_frames_then_resumes() -> None:
    rec_a, frame_a = _frame(1)
    rec_b, frame_b = _frame(2)
    corrupt = bytearray(frame_b)
    corrupt[20] ^= 0x04
    stream = frame_a[5:] + frame_a + bytes(corrupt) + b"\x01\x02\x03" + frame_b
    results = FrameSplitter().feed(stream)
    kinds = [(r.kind, r.note.split(":")[0]) for r in results]
    assert kinds == [
        ("skipped", "bytes before the first frame flag"),  # the tail of a frame we joined half-way
        ("ok", ""),
        ("bad", "checksum mismatch"),
        ("bad", "too short"),  # the three garbage bytes between two frames
        ("ok", ""),
    ]
    assert [r.record for r in results if r.ok] == [rec_a, rec_b]


def test_length_field_must_match_the_frame() -> None:
    record, _ = _frame(3)
    padded = b"\x00" + record  # a stray 0x00 leaves the sum unchanged: only the length field catches it
    body = padded + bytes((checksum(padded),))
    assert check_record(body).startswith("length field says")


def test_overlong_run_without_flag_is_dropped_and_next_frame_decodes() -> None:
    record, frame = _frame(5)
    splitter = FrameSplitter()
    results = splitter.feed(b"\x7e" + b"\x11" * 5000)
    assert [r.kind for r in results] == ["bad"] and splitter.pending == 0
    results = splitter.feed(b"\x22" * 10 + frame)
    assert [r.record for r in results if r.ok] == [record]

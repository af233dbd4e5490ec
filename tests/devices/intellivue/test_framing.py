"""Framing of the IntelliVue MIB/RS232 link: FCS, transparency, abort and resynchronisation."""

from __future__ import annotations

import pytest

from devices.protocols.intellivue.framing import (
    FrameSplitter,
    encode_frame,
    encode_raw,
    escape,
    fcs,
    frame_body,
    unescape,
)


def test_guide_fcs_vectors() -> None:
    # the guide: CRC of 3A 71 is D9 64, sent ones-complemented and low byte first as 9B 26
    assert fcs(bytes([0x3A, 0x71])) == 0x269B
    assert encode_raw(bytes([0x3A, 0x71])) == bytes.fromhex("C0 3A 71 9B 26 C1")


def test_guide_vector_with_escaped_fcs_byte() -> None:
    # the second FCS byte is C1 and must itself be escaped as 7D E1
    assert encode_raw(bytes([0x3A, 0x91])) == bytes.fromhex("C0 3A 91 95 7D E1 C1")


def test_escape_round_trip_of_every_special_byte() -> None:
    data = bytes([0x00, 0xC0, 0x7D, 0xC1, 0x5D, 0xE0, 0x7D, 0x7D])
    escaped = escape(data)
    assert escaped == bytes.fromhex("00 7D E0 7D 5D 7D E1 5D E0 7D 5D 7D 5D")
    assert unescape(escaped) == data


def test_header_carries_protocol_type_and_unescaped_length() -> None:
    assert frame_body(b"\xc0\xc1") == bytes.fromhex("11 01 00 02 C0 C1")
    frame = encode_frame(b"\xc0\xc1")
    # length 2 although four bytes are sent for the data after escaping
    assert frame[:5] == bytes.fromhex("C0 11 01 00 02")
    assert FrameSplitter().feed(frame)[0].user_data == b"\xc0\xc1"


def test_good_frame_decodes_and_bad_fcs_is_rejected() -> None:
    frame = encode_frame(b"\xe1\x00\x00\x02hello")
    results = FrameSplitter().feed(frame)
    assert [(r.ok, r.user_data) for r in results] == [(True, b"\xe1\x00\x00\x02hello")]
    corrupt = bytearray(frame)
    corrupt[8] ^= 0x01
    bad = FrameSplitter().feed(bytes(corrupt))
    assert [(r.ok, r.note) for r in bad] == [(False, "FCS mismatch")]


def test_abort_sequence_drops_the_frame_and_the_next_one_decodes() -> None:
    splitter = FrameSplitter()
    aborted = bytes.fromhex("C0 11 01 00 10 E1 00 7D C1")
    results = splitter.feed(aborted + encode_frame(b"ok"))
    assert [(r.ok, r.note) for r in results] == [(False, "aborted by sender (7D C1)"), (True, "")]
    assert results[1].user_data == b"ok"


def test_garbage_and_false_starts_resynchronise() -> None:
    splitter = FrameSplitter()
    stream = b"\x01\x02\xc1\x55" + encode_frame(b"one") + b"\xc0\x11\x01" + encode_frame(b"two") + b"\xff"
    results = splitter.feed(stream)
    good = [r.user_data for r in results if r.ok]
    assert good == [b"one", b"two"]
    assert [r.note for r in results if not r.ok] == ["truncated frame (new start flag)"]
    assert splitter.resyncs == 3  # leading garbage, the false start, trailing garbage


def test_frames_split_across_feeds_and_wrong_header() -> None:
    splitter = FrameSplitter()
    frame = encode_frame(b"abc")
    assert splitter.feed(frame[:3]) == []
    assert [r.user_data for r in splitter.feed(frame[3:])] == [b"abc"]
    wrong_type = encode_raw(bytes.fromhex("11 02 00 01 41"))
    assert splitter.feed(wrong_type)[0].note == "unknown protocol id/type 0x11/0x02"
    wrong_length = encode_raw(bytes.fromhex("11 01 00 05 41"))
    assert splitter.feed(wrong_length)[0].note == "length field 5 but 1 bytes of data"


def test_oversized_frame_is_dropped_without_growing_forever() -> None:
    splitter = FrameSplitter()
    results = splitter.feed(b"\xc0" + b"\x00" * 10000)
    assert [r.note for r in results] == ["oversized frame dropped"]
    assert [r.user_data for r in splitter.feed(encode_frame(b"x"))] == [b"x"]


@pytest.mark.parametrize("payload", [b"", b"\x7d", b"\xc0" * 5, bytes(range(256))])
def test_round_trip(payload: bytes) -> None:
    assert [r.user_data for r in FrameSplitter().feed(encode_frame(payload))] == [payload]

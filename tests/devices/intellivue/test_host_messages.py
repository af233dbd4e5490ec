"""The frames the driver sends, compared with what VSCaptureMP sent to a real monitor.

Reference: ``philips/vscapture-host-to-monitor.raw`` (182 host frames). Fields that legitimately differ are
masked and named in each test; everything else must match byte for byte.
"""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from devices.protocols.intellivue import DRIVER, codec, messages
from devices.protocols.intellivue.framing import FrameSplitter, encode_frame
from tests.conftest import capture


@pytest.fixture(scope="module")
def reference() -> list[bytes]:
    data = capture("philips/vscapture-host-to-monitor.raw").read_bytes()
    results = FrameSplitter().feed(data)
    # 182 good frames plus one cut short by a new start flag (the start of an abort VSCapture never finished)
    assert sum(r.ok for r in results) == 182
    assert [r.note for r in results if not r.ok] == ["truncated frame (new start flag)"]
    return [r.user_data for r in results if r.ok]


@pytest.fixture(scope="module")
def monitor_frames() -> list[bytes]:
    """Raw wire frames of the real M8000's accept and MDS Create (the first two frames of its capture)."""
    data = capture("philips/jvscapture-m8000-monitor-to-host.raw").read_bytes()
    frames, pos = [], 0
    for _ in range(2):
        end = data.index(b"\xc1", pos) + 1
        frames.append(data[pos:end])
        pos = end
    return frames


def _user_data(wire: bytes) -> list[bytes]:
    return [r.user_data for r in FrameSplitter().feed(wire) if r.ok]


def _associated_driver(monitor_frames: list[bytes]) -> tuple[DRIVER, list[bytes]]:
    """A driver that sent its request at t=0 and got the real accept and MDS Create; what it sends next."""
    driver = DRIVER()
    driver.device_tz = dt.UTC
    first = _user_data(driver.outgoing(0.0))
    driver.feed(monitor_frames[0], 0.1)
    driver.feed(monitor_frames[1], 0.2)
    sent: list[bytes] = []
    for step in range(1, 20):
        sent += _user_data(driver.outgoing(0.2 + step * 0.05))
    return driver, first + sent


def test_association_request_matches_vscapture_layout(reference: list[bytes]) -> None:
    vs = reference[0]
    # VSCapture lists a second "profile", an MdibObjectSupport attribute (id 0x0102, 56 bytes) that the guide
    # defines only for the monitor's reply; remove it (and fix the lengths it adds to) to compare the rest
    extra = vs.index(b"\x01\x02\x00\x34")
    vs_without = bytearray(vs[:extra] + vs[extra + 56:])
    assert vs_without[2:4] == b"\x01\x28"  # session LI: 296 -> 236, as in the guide's example
    vs_without[1:4] = b"\xec"
    at = vs_without.index(b"\xc1\xff\x01\x16")  # presentation LI: 278 -> 220, as in the guide's example
    vs_without[at + 1:at + 4] = b"\xdc"
    at = vs_without.index(b"\x02\x01\x02\x81\x82\x00\x80") + 4  # ASN length of the user info: 128 -> 72
    vs_without[at:at + 3] = b"\x48"
    at = vs_without.index(b"\x00\x02\x00\x64")  # supported profiles: 2 entries/100 bytes -> 1/44
    vs_without[at:at + 4] = b"\x00\x01\x00\x2c"
    # same parameters as VSCapture (MTU 1456, options 0x8E000000): identical bytes
    assert messages.association_request(4000, 1456, 1456, 0x8E000000) == bytes(vs_without)


def test_driver_association_request_fields(reference: list[bytes], monitor_frames: list[bytes]) -> None:
    _, sent = _associated_driver(monitor_frames)
    ours = sent[0]
    assert ours[0] == codec.SESSION_CONNECT
    # session data and the fixed presentation header are the guide's building blocks, as in VSCapture
    assert ours[2:16] == reference[0][4:18]
    head_end = reference[0].index(b"\x01\x02\x01\x02\x81") + 5
    assert ours[16:18] == b"\xc1\xdc"
    assert ours[18:18 + head_end - 22] == reference[0][22:head_end]
    assert ours.endswith(bytes(16))
    info = codec.parse_user_info(ours)
    reference_info = codec.parse_user_info(reference[0])
    same = ("protocol_version", "nomenclature_version", "functional_units", "system_type", "startup_mode",
            "min_poll_period", "profile_options")
    assert [getattr(info, f) for f in same] == [getattr(reference_info, f) for f in same]
    # differing on purpose: MTU 1000 (the MIB/RS232 maximum; VSCapture asks 1456) and the data options
    # (real-time numerics + waves; VSCapture also asks enumerations and the numeric priority list)
    assert (info.max_mtu_rx, info.max_mtu_tx) == (1000, 1000)
    assert info.ext_options == messages.EXT_NU_1SEC | messages.EXT_RTSA
    assert reference_info.ext_options == 0x8E000000


def test_mds_create_result_matches_vscapture(reference: list[bytes], monitor_frames: list[bytes]) -> None:
    _, sent = _associated_driver(monitor_frames)
    ours = sent[1]
    vs = reference[2]
    assert len(ours) == len(vs) == 28
    # differs only in the echoed event time (bytes 20..23): each echoes its own monitor's MDS Create
    assert ours[:20] == vs[:20] and ours[24:] == vs[24:]
    mds_create = _user_data(monitor_frames[1])[0]
    assert ours[20:24] == mds_create[20:24] == bytes.fromhex("00 1d c2 00")
    # invoke id echoed from the MDS Create
    assert ours[8:10] == mds_create[8:10]


def test_priority_list_set_matches_vscapture(reference: list[bytes], monitor_frames: list[bytes]) -> None:
    _, sent = _associated_driver(monitor_frames)
    ours, vs = sent[2], reference[4]
    # same structure; differs in the invoke id (bytes 8..9), the lengths and the list of labels itself
    # (VSCapture asks for ECG II, I and III; we ask for ECG II, pleth, resp and CO2)
    assert ours[:4] == vs[:4]  # SPpdu
    assert struct.unpack_from(">H", ours, 4) == struct.unpack_from(">H", vs, 4) == (codec.RO_INVOKE,)
    assert ours[10:12] == vs[10:12] == b"\x00\x05"  # confirmed SET
    assert ours[14:26] == vs[14:26]  # MDS object, scope, ModificationList count 1
    assert ours[28:32] == vs[28:32] == b"\x00\x00\xf2\x3a"  # REPLACE the wave priority list
    n = struct.unpack_from(">H", ours, 34)[0]
    assert struct.unpack_from(f">{n}I", ours, 38) == messages.DEFAULT_WAVE_PRIORITY
    # with VSCapture's invoke id and labels the bytes are identical
    assert messages.set_wave_priority(0, (0x00020102, 0x00020101, 0x0002013D)) == vs


def test_extended_polls_match_vscapture(reference: list[bytes], monitor_frames: list[bytes]) -> None:
    _, sent = _associated_driver(monitor_frames)
    polls = [m for m in sent if m[4:6] == b"\x00\x01" and m[10:12] == b"\x00\x07" and m[24:26] == b"\xf1\x3b"]
    assert len(polls) == 2
    by_code = {struct.unpack_from(">H", m, 32)[0]: m for m in polls}
    vs_numeric, vs_wave = reference[1], reference[5]
    for ours, vs, code in ((by_code[6], vs_numeric, 6), (by_code[9], vs_wave, 9)):
        assert len(ours) == len(vs) == 48
        # differ: invoke id (bytes 8..9), poll number (28..29) and the period value (44..47)
        mask = set(range(8, 10)) | set(range(28, 30)) | set(range(44, 48))
        kept = [i for i in range(len(vs)) if i not in mask]
        assert [ours[i] for i in kept] == [vs[i] for i in kept]
        assert struct.unpack_from(">I", ours, 44)[0] == int(DRIVER.POLL_PERIOD * 8000)
    # the whole wire frames are identical when built with VSCapture's invoke ids, poll numbers and periods
    raw = capture("philips/vscapture-host-to-monitor.raw").read_bytes()
    assert encode_frame(messages.extended_poll(1, 1, 6, 240000)) in raw
    assert encode_frame(messages.extended_poll(4, 3, 9, 4800000)) in raw


def test_release_request_is_the_guide_block(monitor_frames: list[bytes]) -> None:
    driver, _ = _associated_driver(monitor_frames)
    assert _user_data(driver.close(5.0)) == [bytes.fromhex(
        "09 18 c1 16 61 80 30 80 02 01 01 a0 80 62 80 80 01 00 00 00 00 00 00 00 00 00")]
    assert driver.close(6.0) == b""  # nothing to release twice

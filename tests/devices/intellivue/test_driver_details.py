"""Driver details fed with hand-built monitor messages; the emulator's answers against the real monitor's."""

from __future__ import annotations

import datetime as dt
import struct

import numpy as np

from devices import mdc
from devices.model import LinkEvent, LinkState, Numeric, State, WaveBlock
from devices.protocols.intellivue import DRIVER, codec, make_emulator, messages
from devices.protocols.intellivue.framing import FrameSplitter, encode_frame
from tests.conftest import capture

UTC = dt.UTC
ABS = bytes.fromhex("20 24 01 02 03 04 05 00")
ABS_POSIX = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()


def _driver() -> DRIVER:
    driver = DRIVER()
    driver.device_tz = UTC
    driver.feed(encode_frame(messages.mds_create_event(
        1, 80000, [(codec.ATTR_TIME_ABS, ABS), (codec.ATTR_TIME_REL, struct.pack(">I", 80000))])), 0.0)
    return driver


def _wave(rel: int, counts: list[int], scale: bool = True) -> bytes:
    raw = struct.pack(f">{len(counts)}H", *counts)
    attrs = [(codec.ATTR_TIME_PD_SAMP, struct.pack(">I", 64))]  # 125 samples/s
    if scale:
        attrs.append((codec.ATTR_SCALE_SPECN_I16, struct.pack(">IIHH", codec.encode_float(0, 0),
                                                              codec.encode_float(100, 0), 0, 1000)))
        attrs.append((codec.ATTR_UNIT_CODE, struct.pack(">H", 0x0F20)))
    attrs.append((codec.ATTR_SA_VAL_OBS, struct.pack(">HHH", 0x4A14, 0, len(raw)) + raw))
    context = messages.poll_context(0, [(0x0300, attrs)])
    return encode_frame(messages.extended_poll_reply(2, 1, 1, rel, codec.NOM_MOC_VMO_METRIC_SA_RT, [context]))


def _blocks(samples: list) -> list[WaveBlock]:
    return [s for s in samples if isinstance(s, WaveBlock)]


def test_wave_time_scaling_duplicates_overlap_and_gaps() -> None:
    driver = _driver()
    first = _blocks(driver.feed(_wave(88000, [0, 10, 20, 30]), 5.0))[0]  # 1 s after the MDS Create
    assert first.t0 == ABS_POSIX + 1.0
    assert (first.fs, first.unit, first.label, first.mdc) == (125.0, "mm[Hg]", "ABP", mdc.scada(0x4A14))
    assert list(first.samples) == [0.0, 1.0, 2.0, 3.0]
    assert not first.gap
    # the same reply again (a renewed poll's confirmation) adds nothing
    assert _blocks(driver.feed(_wave(88000, [0, 10, 20, 30]), 5.1)) == []
    assert driver.stats.extra["wave_duplicates"] == 1
    # overlapping by two samples: only the new ones are kept, at their own time
    overlap = _blocks(driver.feed(_wave(88128, [20, 30, 40, 50]), 5.2))[0]
    assert list(overlap.samples) == [4.0, 5.0]
    assert overlap.t0 == ABS_POSIX + 1.0 + 4 / 125 and not overlap.gap
    # following on exactly: no gap; a second later: a gap, not padded
    follow = _blocks(driver.feed(_wave(88384, [60, 70]), 5.3))[0]
    assert not follow.gap
    later = _blocks(driver.feed(_wave(96512, [80]), 5.4))[0]
    assert later.gap and len(later) == 1


def test_wave_without_scale_is_counts_marked_questionable() -> None:
    driver = _driver()
    block = _blocks(driver.feed(_wave(88000, [7, 8], scale=False), 1.0))[0]
    assert list(block.samples) == [7.0, 8.0]
    assert block.unit == "1" and State.QUESTIONABLE in block.state


def test_unknown_physio_numeric_kept_with_code_and_label() -> None:
    driver = _driver()
    value = struct.pack(">HHHI", 0xF123, 0x0080, 0x1234, codec.encode_float(4.5, 1))
    context = messages.poll_context(0, [(0x0400, [(codec.ATTR_NU_VAL_OBS, value)])])
    out = driver.feed(encode_frame(messages.extended_poll_reply(1, 1, 1, 88000, 6, [context])), 1.0)
    (n,) = [s for s in out if isinstance(s, Numeric)]
    assert (n.mdc, n.label, n.value, n.unit, n.state) == (
        mdc.scada(0xF123), "Philips 0xf123", 4.5, "{unit 0x1234}", State.NONE)
    assert n.device_time == ABS_POSIX + 1.0 and n.host_time == 1.0


def test_monitor_release_request_is_answered_and_reported() -> None:
    driver = DRIVER()
    driver.outgoing(0.0)
    driver.feed(encode_frame(messages.association_response()), 0.1)
    out = driver.feed(encode_frame(messages.RELEASE_REQUEST), 1.0)
    assert [e.state for e in out if isinstance(e, LinkEvent)] == [LinkState.LOST]
    sent = [r.user_data for r in FrameSplitter().feed(driver.outgoing(1.1))]
    assert messages.RELEASE_RESPONSE in sent
    assert any(m[0] == codec.SESSION_CONNECT for m in sent)  # and associates again


def test_remote_error_and_unknown_messages_are_counted() -> None:
    driver = DRIVER()
    driver.feed(encode_frame(messages.error_result(7, 3)) + encode_frame(b"\x42\x00"), 1.0)
    assert driver.stats.extra == {"remote_errors": 1, "unknown_messages": 1}
    assert driver.stats.last_error == "monitor returned error 3 for request 7"
    assert [r.ok for r in driver.frame_log] == [True, True]


class _Sim:
    responding = True
    noise = False

    def advance(self, now: float) -> list:
        return []


def test_emulator_accept_is_the_real_monitors_accept() -> None:
    host_bytes = capture("philips/vscapture-host-to-monitor.raw").read_bytes()
    host = [r.user_data for r in FrameSplitter().feed(host_bytes) if r.ok]
    monitor = [r.user_data for r in FrameSplitter().feed(
        capture("philips/jvscapture-m8000-monitor-to-host.raw").read_bytes()[:2000]) if r.ok]
    emulator = make_emulator(_Sim())
    emulator.receive(encode_frame(host[0]), 0.0)
    replies = [r.user_data for r in FrameSplitter().feed(emulator.outgoing(0.0))]
    # VSCapture's request answered exactly as the real M8000 did: min poll period 4000, MTU 996
    assert replies[0] == monitor[0]
    mds = codec.parse_mds_create(codec.parse_event_report(codec.parse_remote_operation(replies[1]).body).info)
    assert (mds.manufacturer, mds.model) == ("Philips", "M8000")
    assert codec.decode_abs_time(mds.abs_time, emulator.tz) == 0.0


def test_emulator_sends_nothing_while_not_responding_and_refuses_garbage_requests() -> None:
    sim = _Sim()
    emulator = make_emulator(sim)
    sim.responding = False
    emulator.receive(encode_frame(messages.association_request()), 0.0)
    assert emulator.outgoing(0.0) == b""
    sim.responding = True
    emulator.receive(encode_frame(b"\x0d\x05nonsense"), 1.0)
    assert [r.user_data for r in FrameSplitter().feed(emulator.outgoing(1.0))] == [messages.REFUSE]
    assert np.isclose(emulator.counts["refusals"], 1)

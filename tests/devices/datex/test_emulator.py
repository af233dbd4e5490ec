"""The emulated monitor on its own: silent until asked, honours intervals, cancels and the waveform budget."""

from __future__ import annotations

import pytest

from devices import registry
from devices.protocols.datex import DRIVER, DatexDriver, make_emulator
from devices.protocols.datex.framing import FrameSplitter, encode_frame
from devices.protocols.datex.records import MT_PHDB, MT_WAVE, PH_DISPL, build_record, parse_header
from devices.protocols.datex.requests import PhdbRequest, WaveRequest, phdb_cancel_frame, phdb_request_frame
from devices.transport import PortSettings

NOW = 1_700_000_000.0


class QuietSimulator:
    """A simulator with nothing to say: the emulator must still answer requests."""

    responding = True
    noise = False

    def advance(self, now: float) -> list:
        return []


def records(data: bytes) -> list[tuple[int, tuple[int, ...], int]]:
    """(main type, subrecord types, r_time) of every frame in ``data``."""
    out = []
    for result in FrameSplitter().feed(data):
        assert result.ok, result.note
        header = parse_header(result.record)
        out.append((header.maintype, tuple(t for t, _, _ in header.subrecords), header.r_time))
    return out


def test_registry_finds_the_datex_driver_and_emulator() -> None:
    info = registry.get("datex")
    assert info.driver is DRIVER is DatexDriver and info.make_emulator is make_emulator
    assert DRIVER.default_settings == PortSettings(19200, 8, "E", 1, rtscts=True)
    assert str(DRIVER.alternative_settings[0]) == "115200 8E1 RTS/CTS"
    assert DRIVER.title == "GE Datex-Ohmeda S/5 Computer Interface" and "RTS" in DRIVER.setup_help


def test_silent_until_asked_then_displayed_values_at_the_interval() -> None:
    emulator = make_emulator(QuietSimulator())
    assert emulator.outgoing(NOW) == b"" and emulator.outgoing(NOW + 30) == b""
    emulator.receive(phdb_request_frame(PH_DISPL, 10, 0x02), NOW)
    sent = b"".join(emulator.outgoing(NOW + k) for k in range(31))
    # basic class plus the one extended class asked for, at 0, 10, 20, 30 s
    assert records(sent) == [(MT_PHDB, (PH_DISPL, PH_DISPL), int(NOW) + k) for k in (0, 10, 20, 30)]
    emulator.receive(phdb_cancel_frame(PH_DISPL), NOW + 31)
    assert emulator.outgoing(NOW + 50) == b""


def test_single_transmission_request() -> None:
    emulator = make_emulator(QuietSimulator())
    emulator.receive(phdb_request_frame(PH_DISPL, -1, 0), NOW)
    assert [r[0] for r in records(emulator.outgoing(NOW))] == [MT_PHDB]
    assert emulator.outgoing(NOW + 20) == b""


def test_waveforms_over_budget_are_dropped_like_the_monitor_does() -> None:
    emulator = make_emulator(QuietSimulator())
    # the guide's example: two ECGs fill the 600 samples/s, so the invasive pressure is ignored; built by
    # hand because the driver refuses to send such a request
    body = bytes((0, 0, 0, 0, 1, 2, 4, 0xFF)).ljust(32, b"\x00")
    emulator.receive(encode_frame(build_record(MT_WAVE, [(0, body)])), NOW)
    assert emulator.waves == (1, 2)
    sent = records(emulator.outgoing(NOW + 1.0))
    assert sent == [(MT_WAVE, (1, 2), int(NOW) + 1)]


def test_requests_are_ignored_while_not_responding() -> None:
    sim = QuietSimulator()
    sim.responding = False
    emulator = make_emulator(sim)
    emulator.receive(phdb_request_frame(PH_DISPL, 5, 0), NOW)
    sim.responding = True
    assert emulator.outgoing(NOW + 10) == b"" and emulator.requests == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"interval": 0}, "interval"),
    ({"interval": 2.5}, "interval"),
    ({"waves": ("ECG1", "ECG2", "INVP1")}, "600"),
    ({"waves": ("ECG9",)}, "unknown Datex waveform"),
])
def test_driver_refuses_settings_the_monitor_cannot_honour(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DatexDriver(**kwargs)


def test_driver_accepts_wave_names_and_short_intervals_for_carescape() -> None:
    driver = DatexDriver(interval=1, waves=("pleth", "co2"))
    sent = records(driver.outgoing(NOW))
    assert sent == [(MT_PHDB, (0,), 0), (MT_WAVE, (0,), 0)]
    assert driver.outgoing(NOW + 1) == b""
    emulator = make_emulator(QuietSimulator())
    emulator.receive(driver.outgoing(NOW + 100), NOW + 100)  # the periodic renewal, and waves after silence
    assert [type(r).__name__ for r in emulator.requests] == ["PhdbRequest", "WaveRequest"]
    phdb, wave = emulator.requests
    assert isinstance(phdb, PhdbRequest) and isinstance(wave, WaveRequest)
    assert phdb.interval == 1 and wave.types == (8, 9)

"""Datex requests: every example in the guide's appendix A byte for byte, parsing, the 600/s budget."""

from __future__ import annotations

import pytest

from devices.protocols.datex.framing import FrameSplitter
from devices.protocols.datex.records import ECG1, PH_60S_TREND, PH_DISPL, PLETH
from devices.protocols.datex.requests import (
    PhdbRequest,
    WaveRequest,
    check_wave_selection,
    parse_request,
    phdb_cancel_frame,
    phdb_request_frame,
    wave_request_frame,
    wave_stop_frame,
)

from .test_framing import GUIDE_DISPLAYED_10S, GUIDE_TREND_60S

HEADER_31 = "7e 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff" + " 00" * 18
HEADER_48 = "7e 48 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 ff" + " 00" * 18


def test_displayed_values_request_matches_the_guide() -> None:
    assert phdb_request_frame(PH_DISPL, 10, 0x0E) == GUIDE_DISPLAYED_10S


def test_stop_displayed_values_matches_the_guide() -> None:
    assert phdb_cancel_frame(PH_DISPL) == bytes.fromhex(HEADER_31 + " 01 00 00 00 00 00 00 00 00 31 7e")


def test_60s_trend_request_matches_the_guide_with_escaped_checksum() -> None:
    assert phdb_request_frame(PH_60S_TREND, 60, 0x0E) == GUIDE_TREND_60S


def test_stop_60s_trend_matches_the_guide() -> None:
    assert phdb_cancel_frame(PH_60S_TREND) == bytes.fromhex(HEADER_31 + " 03 00 00 00 00 00 00 00 00 33 7e")


def test_waveform_request_and_stop_match_the_guide() -> None:
    start_ecg1 = HEADER_48 + " 00 00 00 00 01 ff" + " 00" * 26 + " 48 7e"
    assert wave_request_frame([ECG1]) == bytes.fromhex(start_ecg1)
    assert wave_stop_frame() == bytes.fromhex(HEADER_48 + " 01 00 00 00 ff" + " 00" * 27 + " 48 7e")


def _parse(frame: bytes) -> list[PhdbRequest | WaveRequest]:
    (result,) = FrameSplitter().feed(frame)
    assert result.ok
    return parse_request(result.record)


def test_requests_parse_back() -> None:
    assert _parse(GUIDE_DISPLAYED_10S) == [PhdbRequest(PH_DISPL, 10, 0x0E)]
    assert _parse(phdb_request_frame(PH_DISPL, -1, 0)) == [PhdbRequest(PH_DISPL, -1, 0)]
    assert _parse(wave_request_frame([ECG1, PLETH, 9, 15])) == [WaveRequest(True, (ECG1, PLETH, 9, 15))]
    eight = (9, 10, 11, 12, 13, 14, 15, 23)  # eight 25/s waves: a full list has no terminator
    assert _parse(wave_request_frame(eight)) == [WaveRequest(True, eight)]
    assert _parse(wave_stop_frame()) == [WaveRequest(False)]


@pytest.mark.parametrize(("types", "message"), [
    ([1, 2, 4], "need 700 samples/s"),  # two ECGs (600) leave no room for a pressure
    ([99], "unknown Datex waveform"),
    ([8, 8], "repeated"),
    ([9, 10, 11, 12, 13, 14, 15, 23, 24], "at most 8"),
])
def test_wave_selection_over_budget_or_invalid_is_refused(types: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_wave_selection(types)


def test_six_invasive_pressures_fit_the_budget() -> None:
    check_wave_selection([4, 5, 6, 7, 16, 17])  # the guide's own example of an acceptable request

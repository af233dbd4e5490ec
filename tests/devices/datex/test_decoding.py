"""Decoding synthetic DRI records: marker values, NIBP status bits, EtCO2 units, waveform status, clocks."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from devices import mdc
from devices.model import Numeric, State, WaveBlock
from devices.protocols.datex import DRIVER
from devices.protocols.datex.framing import encode_frame
from devices.protocols.datex.records import (
    CLASS_BASIC,
    CO2,
    ECG1,
    MT_PHDB,
    MT_WAVE,
    NIBP_AUTO,
    NIBP_MEASURING,
    NIBP_OLDER_60S,
    PH_DISPL,
    PLETH,
    WF_STATUS_GAP,
    WF_STATUS_LEAD_OFF,
    build_basic,
    build_phdb_subrecord,
    build_record,
    build_wave_subrecord,
)

T = 1_700_000_000


def displayed(values: dict[str, float | None], *, t: int = T, nbr: int = 0, **kw) -> bytes:
    sub = build_phdb_subrecord(t, CLASS_BASIC, build_basic(values, **kw))
    return encode_frame(build_record(MT_PHDB, [(PH_DISPL, sub)], r_nbr=nbr, r_time=t, dri_level=10))


def waves(subs: list[tuple[int, list[int], int]], *, t: int = T, nbr: int = 0) -> bytes:
    body = [(wt, build_wave_subrecord(struct.pack(f"<{len(s)}h", *s), status)) for wt, s, status in subs]
    return encode_frame(build_record(MT_WAVE, body, r_nbr=nbr, r_time=t, dri_level=10))


def numerics(frame: bytes, driver=None) -> dict[str, Numeric]:
    driver = driver or DRIVER()
    return {n.label: n for n in driver.feed(frame, 5.0) if isinstance(n, Numeric)}


def blocks(driver, frame: bytes) -> list[WaveBlock]:
    return [b for b in driver.feed(frame, 5.0) if isinstance(b, WaveBlock)]


@pytest.mark.parametrize(("raw", "state"), [
    (-32767, State.INVALID),
    (-32766, State.NOT_UPDATED),
    (-32765, State.QUESTIONABLE),
    (-32764, State.OUT_OF_RANGE),
    (-32763, State.OUT_OF_RANGE),
    (-32762, State.CALIBRATING),
    (-32001, State.INVALID),  # an undocumented marker is still not data
])
def test_marker_values_become_none_with_their_state(raw: int, state: State) -> None:
    data = bytearray(build_basic({"hr": 70}))
    struct.pack_into("<h", data, 6, raw)
    sub = build_phdb_subrecord(T, CLASS_BASIC, bytes(data))
    hr = numerics(encode_frame(build_record(MT_PHDB, [(PH_DISPL, sub)], r_time=T)))["HR"]
    assert (hr.value, hr.state, hr.mdc) == (None, state, mdc.HEART_RATE)


def test_smallest_valid_value_is_data() -> None:
    data = bytearray(build_basic({}))
    struct.pack_into("<h", data, 92, -32000)  # T1 at its lowest valid raw value
    sub = build_phdb_subrecord(T, CLASS_BASIC, bytes(data))
    t1 = numerics(encode_frame(build_record(MT_PHDB, [(PH_DISPL, sub)], r_time=T)))["T1"]
    assert (t1.value, t1.state) == (-320.0, State.NONE)


@pytest.mark.parametrize(("label_bits", "state"), [
    (NIBP_AUTO, State.NONE),
    (NIBP_AUTO | NIBP_MEASURING, State.MEASURING),
    (NIBP_OLDER_60S, State.STALE),
    (NIBP_MEASURING | NIBP_OLDER_60S, State.MEASURING | State.STALE),
])
def test_nibp_status_bits(label_bits: int, state: State) -> None:
    got = numerics(displayed({"nibp_sys": 120, "nibp_dia": 80, "nibp_mean": 93}, nibp_label=label_bits))
    assert [(got[k].value, got[k].state) for k in ("NBP sys", "NBP dia", "NBP mean")] == [
        (120.0, state), (80.0, state), (93.0, state)]


def test_etco2_partial_pressure_uses_ambient_or_the_last_known_one() -> None:
    driver = DRIVER()
    first = numerics(displayed({"etco2_conc": 5.0, "amb_press": 760.0}), driver)
    assert (first["etCO2"].value, first["etCO2 %"].value) == (38.0, 5.0)
    later = numerics(displayed({"etco2_conc": 4.0, "amb_press": None}, t=T + 5), driver)
    assert later["etCO2"].value == 30.4 and later["etCO2"].device_time == T + 5
    assert later["Ambient pressure"].value is None


def test_etco2_without_any_ambient_pressure_is_kept_as_percent_only() -> None:
    got = numerics(displayed({"etco2_conc": 5.0, "amb_press": None}))
    assert got["etCO2 %"].value == 5.0
    assert (got["etCO2"].value, got["etCO2"].state) == (None, State.UNAVAILABLE)


def test_values_without_mdc_code_are_kept_under_their_label() -> None:
    got = numerics(displayed({"fico2": 0.3, "pleth_amp": 2.5, "t2": 36.6}))
    assert {k: (got[k].mdc, got[k].value, got[k].unit) for k in ("FiCO2", "Pleth amplitude", "T2")} == {
        "FiCO2": (0, 0.3, "%"), "Pleth amplitude": (0, 2.5, "%"), "T2": (0, 36.6, "Cel")}


def test_invasive_pressure_mdc_follows_its_label() -> None:
    art = numerics(displayed({"p1_sys": 120.5}, p1_label=1))["P1 sys (ART)"]
    cvp = numerics(displayed({"p1_sys": 8.0}, p1_label=2))["P1 sys (CVP)"]
    assert (art.mdc, art.value) == (mdc.ABP_SYS, 120.5)
    assert (cvp.mdc, cvp.value) == (0, 8.0)


def test_wave_clock_runs_on_sample_count_and_records_missing_make_gaps() -> None:
    driver = DRIVER()
    b1 = blocks(driver, waves([(PLETH, list(range(100)), WF_STATUS_GAP)], t=T, nbr=7))
    b2 = blocks(driver, waves([(PLETH, list(range(50)), 0)], t=T, nbr=8))  # half a second, same r_time
    b3 = blocks(driver, waves([(PLETH, list(range(50)), 0)], t=T + 1, nbr=9))
    b4 = blocks(driver, waves([(PLETH, list(range(100)), 0)], t=T + 3, nbr=11))  # record 10 was lost
    assert [(b.t0, b.gap) for b in b1 + b2 + b3 + b4] == [
        (T - 1.0, True), (T, False), (T + 0.5, False), (T + 2.0, True)]
    assert b1[0].fs == 100 and b1[0].unit == "%" and b1[0].samples[99] == pytest.approx(0.99)


def test_wave_control_codes_are_removed_and_the_next_run_marked_as_gap() -> None:
    driver = DRIVER()
    samples = [10, 20, -32767, -32767, 30, 40, 50, -32001 + 1]  # -32000 is a control code too
    got = blocks(driver, waves([(PLETH, samples, 0)], t=T))
    assert [(b.t0, list(b.samples), b.gap) for b in got] == [
        (T - 0.08, [0.1, 0.2], True), (T - 0.04, [0.3, 0.4, 0.5], True)]
    assert driver.stats.extra["wave_control_codes"] == 3
    # the dropped trailing code means the next block does not follow on from the last one delivered
    (nxt,) = blocks(driver, waves([(PLETH, [1, 2], 0)], t=T, nbr=1))
    assert nxt.gap and nxt.t0 == pytest.approx(T)
    (after,) = blocks(driver, waves([(PLETH, [3, 4], 0)], t=T, nbr=2))
    assert not after.gap and after.t0 == pytest.approx(T + 0.02)


def test_all_control_codes_give_no_block() -> None:
    assert blocks(DRIVER(), waves([(4, [-32767] * 100, 0)], t=T)) == []


def test_ecg_lead_off_state_lead_mdc_and_microvolts() -> None:
    driver = DRIVER()
    (before,) = blocks(driver, waves([(ECG1, [1000] * 300, WF_STATUS_LEAD_OFF)], t=T))
    assert (before.mdc, before.label, before.state) == (0, "ECG1", State.LEAD_OFF)  # lead not yet known
    driver.feed(displayed({"hr": 60}, ecg_lead=2), 5.0)
    (lead2,) = blocks(driver, waves([(ECG1, [1000] * 300, 0)], t=T + 1, nbr=1))
    assert (lead2.mdc, lead2.label, lead2.fs, lead2.unit, lead2.state) == (mdc.ECG_II, "ECG1 II", 300, "mV",
                                                                            State.NONE)
    assert np.all(lead2.samples == 1.0)  # 1000 µV = 1 mV
    driver.feed(displayed({"hr": 60}, ecg_lead=1, t=T + 2), 5.0)
    (lead1,) = blocks(driver, waves([(ECG1, [0] * 300, 0)], t=T + 2, nbr=2))
    assert (lead1.mdc, lead1.label) == (mdc.scada(0x0101), "ECG1 I")


def test_co2_wave_in_percent_until_ambient_known_then_mmhg() -> None:
    driver = DRIVER()
    (pct,) = blocks(driver, waves([(CO2, [500] * 25, 0)], t=T))
    assert (pct.mdc, pct.label, pct.unit, pct.fs, pct.samples[0]) == (0, "CO2 %", "%", 25, 5.0)
    driver.feed(displayed({"amb_press": 750.0}), 5.0)
    (mm,) = blocks(driver, waves([(CO2, [500] * 25, 0)], t=T + 1, nbr=1))
    assert (mm.mdc, mm.label, mm.unit) == (mdc.CO2_WAVE, "CO2", "mm[Hg]")
    assert mm.samples[0] == pytest.approx(37.5)


def test_unknown_wave_type_and_bad_subrecord_are_counted_not_raised() -> None:
    driver = DRIVER()
    assert blocks(driver, waves([(99, [1, 2, 3], 0)])) == []
    assert driver.stats.extra["unknown_wave_types"] == 1 and driver.stats.frames_ok == 1
    # a subrecord claiming more samples than the record holds
    record = bytearray(build_record(MT_WAVE, [(PLETH, build_wave_subrecord(b"\x01\x00" * 4))], r_time=T))
    struct.pack_into("<h", record, 40, 500)
    assert driver.feed(encode_frame(bytes(record)), 6.0) == []
    assert driver.stats.frames_bad == 1 and "says 500 samples" in driver.stats.last_error
    assert driver.frame_log[-1].ok is False

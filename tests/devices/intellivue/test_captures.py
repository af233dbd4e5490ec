"""Decoding real IntelliVue captures (see ../shared/captures/README.md, philips/)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

import numpy as np
import pytest

from devices import mdc
from devices.captures import parse_docbox, read_docbox
from devices.model import LinkEvent, LinkState, Numeric, State, WaveBlock
from devices.protocols.intellivue import DRIVER
from tests.conftest import capture

UTC = dt.UTC
HOST_T0 = 1_700_000_000.0


def _decode_raw(name: str, chunk: int = 4096) -> tuple[DRIVER, list]:
    driver = DRIVER(source="capture")
    driver.device_tz = UTC
    data = capture(name).read_bytes()
    out: list = []
    for i in range(0, len(data), chunk):
        out += driver.feed(data[i:i + chunk], HOST_T0 + i / 4400)
    return driver, out


def _by_code(samples: list, kind: type[Numeric | WaveBlock]) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for s in samples:
        if isinstance(s, kind):
            grouped[s.mdc].append(s)
    return grouped


@pytest.fixture(scope="module")
def jvs() -> tuple:
    return _decode_raw("philips/jvscapture-m8000-monitor-to-host.raw")


def test_jvscapture_frames_all_valid(jvs: tuple) -> None:
    driver, out = jvs
    assert driver.stats.frames_ok == 2887
    assert driver.stats.frames_bad == 0
    assert driver.stats.resyncs == 0
    assert driver.stats.extra.get("messages_bad", 0) == 0
    assert driver.monitor_model == ("Philips", "M8000")
    assert driver.mds_time == dt.datetime(2021, 4, 22, 11, 47, 26, tzinfo=UTC).timestamp()
    assert [e.state for e in out if isinstance(e, LinkEvent)] == [LinkState.ASSOCIATED]


def test_jvscapture_numerics(jvs: tuple) -> None:
    _, out = jvs
    nums = _by_code(out, Numeric)
    hr = nums[mdc.HEART_RATE]
    assert len(hr) == 361
    assert {n.value for n in hr} == {60.0}
    assert {n.state for n in hr} == {State.NONE}
    assert all(n.valid and n.unit == "/min" and n.label == "HR" for n in hr)
    # numerics carry the monitor clock, which starts at the MDS Create time
    start = dt.datetime(2021, 4, 22, 11, 47, 26, tzinfo=UTC).timestamp()
    assert start < hr[0].device_time < start + 5
    assert 360 < hr[-1].device_time - hr[0].device_time < 372
    spo2, pulse = nums[mdc.SPO2], nums[mdc.PULSE_RATE_OXIM]
    assert spo2 and pulse
    assert all(n.value is None and State.INVALID in n.state and not n.valid for n in spo2 + pulse)
    assert {n.state for n in pulse} == {State.INVALID | State.ALARMS_INHIBITED}  # 0x8001
    for code in (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN):  # compound NIBP, one numeric per component
        assert len(nums[code]) == 361
        assert all(n.state == State.UNAVAILABLE and not n.usable and n.unit == "mm[Hg]" for n in nums[code])
    assert {n.label for n in nums[mdc.NIBP_SYS]} == {"NBP sys"}
    # ST values (a compound of leads) are kept with their own codes, labels and units
    st_avf = nums[mdc.scada(0x0340)]
    assert st_avf and {(n.label, n.unit) for n in st_avf} == {("ST aVF", "mm")}


def test_jvscapture_waves(jvs: tuple) -> None:
    _, out = jvs
    waves = _by_code(out, WaveBlock)
    for code, label in ((mdc.ECG_II, "ECG II"), (mdc.scada(0x0143), "ECG V"), (mdc.scada(0x013E), "ECG aVR")):
        blocks = waves[code]
        assert len(blocks) == 1435, label
        assert {len(b) for b in blocks} == {64}
        assert {b.fs for b in blocks} == {250.0}
        assert {b.label for b in blocks} == {label}
        assert {b.unit for b in blocks} == {"mV"}
        assert not any(b.gap for b in blocks)
        # consecutive blocks follow on every 256 ms
        t0 = np.array([b.t0 for b in blocks])
        assert np.allclose(np.diff(t0), 0.256)
    ecg = np.concatenate([b.samples for b in waves[mdc.ECG_II]])
    # raw 8098..8510 around 8192 at 5 uV per step
    assert ecg.min() == pytest.approx(-0.47, abs=1e-9)
    assert ecg.max() == pytest.approx(1.59, abs=1e-9)
    pleth = np.concatenate([b.samples for b in waves[mdc.PLETH]])
    assert len(pleth) == 1435 * 32
    assert np.all(pleth == pleth[0])  # flat: no sensor


@pytest.fixture(scope="module")
def docbox() -> tuple:
    records = read_docbox(capture("philips/docbox-mp70-demo-timestamped.log"))
    driver = DRIVER(source="docbox")
    driver.device_tz = UTC
    out: list = []
    for when, frame in records:
        out += driver.feed(frame, when)
    return records, driver, out


def test_docbox_reader() -> None:
    records = parse_docbox(b"junk2014/05/19T19:36:43,490\xc0\x11\x01\xc1"
                           b"2014/05/19T19:36:44,001\xc0\xaa\xc1\n2014/13/19T19:36:44,001\xc0\xc1")
    assert records == [
        (dt.datetime(2014, 5, 19, 19, 36, 43, 490000, tzinfo=UTC).timestamp(), b"\xc0\x11\x01\xc1"),
        (dt.datetime(2014, 5, 19, 19, 36, 44, 1000, tzinfo=UTC).timestamp(), b"\xc0\xaa\xc1"),
    ]


def test_docbox_frames_all_valid(docbox: tuple) -> None:
    records, driver, _ = docbox
    assert len(records) == 869
    assert records[0][0] == dt.datetime(2014, 5, 19, 19, 36, 43, 490000, tzinfo=UTC).timestamp()
    assert all(a <= b for (a, _), (b, _) in itertools.pairwise(records))
    assert driver.stats.frames_ok == 869
    assert driver.stats.frames_bad == 0


def test_docbox_demo_numerics(docbox: tuple) -> None:
    _, _, out = docbox
    nums = _by_code(out, Numeric)

    def last(code: int) -> Numeric:
        return nums[code][-1]

    expected = {
        mdc.HEART_RATE: (60.0, "/min"),
        mdc.PULSE_RATE: (60.0, "/min"),
        mdc.PULSE_RATE_OXIM: (60.0, "/min"),
        mdc.ABP_SYS: (120.0, "mm[Hg]"),
        mdc.ABP_DIA: (70.0, "mm[Hg]"),
        mdc.ABP_MEAN: (91.0, "mm[Hg]"),
        mdc.SPO2: (95.0, "%"),
        mdc.RESP_RATE: (15.0, "/min"),
        mdc.ETCO2: (30.0, "mm[Hg]"),
    }
    for code, (value, unit) in expected.items():
        n = last(code)
        assert (n.value, n.unit) == (value, unit), mdc.label_of(code)
        assert State.DEMO in n.state
        assert n.usable and not n.valid  # demo data: shown, marked, never patient data
    assert {n.label for n in nums[mdc.ABP_SYS]} == {"ABP sys"}
    temps = [n for n in out if isinstance(n, Numeric) and n.unit == "Cel"]
    assert temps and {(n.label, n.value) for n in temps} == {("Tblood", 37.02)}
    # an id devices.mdc does not know is kept with its code and the monitor's label, not dropped
    assert temps[0].mdc == mdc.scada(0xE014)


def test_docbox_demo_waves(docbox: tuple) -> None:
    _, _, out = docbox
    waves = _by_code(out, WaveBlock)
    ecg = [b for b in waves[mdc.ECG_II] if b.unit == "mV"]
    assert len(ecg) == 295
    assert {len(b) for b in ecg} == {128}
    assert {b.fs for b in ecg} == {500.0}
    assert all(State.DEMO in b.state for b in ecg)
    co2 = waves[mdc.CO2_WAVE]
    assert {len(b) for b in co2} == {16}
    unscaled = np.concatenate([b.samples for b in co2 if b.unit == "1"])  # before the scale arrived
    scaled = np.concatenate([b.samples for b in co2 if b.unit == "mm[Hg]"])
    assert set(unscaled) == {400.0, 2200.0}
    assert all(State.QUESTIONABLE in b.state for b in co2 if b.unit == "1")
    # the square wave: raw 400 and 2200 with -5..60 mmHg over 100..4000
    assert set(np.round(scaled, 9)) == {0.0, 30.0}

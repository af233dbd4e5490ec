"""The Datex driver on real CARESCAPE B650 captures (../shared/captures/datex, see its README)."""

from __future__ import annotations

import collections
import itertools
from datetime import UTC, datetime

import numpy as np
import pytest

from devices import mdc
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.protocols.datex import DRIVER, DatexDriver
from devices.protocols.datex.framing import FrameSplitter
from tests.conftest import capture

pytestmark = pytest.mark.captures

DB02 = "datex/pycollect-b650-db02.raw"
DB01 = "datex/pycollect-b650-db01-corrupt.raw"
FIRST_RECORD = datetime(2018, 7, 26, 17, 6, 5, tzinfo=UTC).timestamp()
LAST_RECORD = datetime(2018, 7, 26, 17, 8, 23, tzinfo=UTC).timestamp()
FIRST_WAVE_RECORD = datetime(2018, 7, 26, 17, 6, 38, tzinfo=UTC).timestamp()


def _decode(name: str, chunk: int | None = None) -> tuple[DatexDriver, list[Sample]]:
    data = capture(name).read_bytes()
    driver = DRIVER(source="b650")
    out: list[Sample] = []
    step = chunk or len(data)
    for i in range(0, len(data), step):
        out += driver.feed(data[i:i + step], 1000.0)
    return driver, out


def _numerics(samples: list[Sample]) -> dict[str, list[Numeric]]:
    by_label: dict[str, list[Numeric]] = collections.defaultdict(list)
    for s in samples:
        if isinstance(s, Numeric):
            by_label[s.label].append(s)
    return by_label


def _values(items: list[Numeric]) -> list[float]:
    return [n.value for n in items if n.value is not None]


@pytest.fixture(scope="module")
def db02() -> tuple[DatexDriver, list[Sample]]:
    return _decode(DB02)


def test_db02_every_frame_valid_and_classified(db02) -> None:
    driver, out = db02
    assert (driver.stats.frames_ok, driver.stats.frames_bad, driver.stats.resyncs) == (213, 0, 0)
    assert driver.stats.extra["displayed_records"] == 107
    assert driver.stats.extra["wave_records"] == 106
    assert driver.stats.extra["ext_class_subrecords"] == 3 * 107  # ext1-3 come along, as requested
    # the capture ends inside a 214th frame: its bytes wait for a closing flag that never comes
    assert driver._splitter.pending == 1074
    assert [e.state for e in out if isinstance(e, LinkEvent)] == [LinkState.ASSOCIATED]


def test_db02_first_displayed_values_exactly(db02) -> None:
    _, out = db02
    first = {n.label: n for n in out[1:40] if isinstance(n, Numeric) and n.device_time == FIRST_RECORD}
    expect = {
        "HR": (mdc.HEART_RATE, 80.0, "/min"),
        "RR": (mdc.RESP_RATE, 15.0, "/min"),
        "NBP sys": (mdc.NIBP_SYS, 93.0, "mm[Hg]"),
        "NBP dia": (mdc.NIBP_DIA, 48.0, "mm[Hg]"),
        "NBP mean": (mdc.NIBP_MEAN, 69.0, "mm[Hg]"),
        "SpO2": (mdc.SPO2, 96.65, "%"),
        "PR": (mdc.PULSE_RATE_OXIM, 83.0, "/min"),
        "Pleth amplitude": (0, 3.77, "%"),
        "etCO2 %": (mdc.ETCO2_CONC, 4.87, "%"),
        "etCO2": (mdc.ETCO2, 37.0, "mm[Hg]"),  # 4.87 % of 759.8 mmHg
        "FiCO2": (0, 0.26, "%"),
        "awRR": (mdc.AWAY_RESP_RATE, 15.0, "/min"),
        "Ambient pressure": (0, 759.8, "mm[Hg]"),
    }
    for label, (code, value, unit) in expect.items():
        n = first[label]
        assert (n.mdc, n.value, n.unit, n.state) == (code, value, unit, State.NONE), label
        assert n.host_time == 1000.0 and n.source == "b650"
    assert first["HR"].device_time is not None
    assert datetime.fromtimestamp(first["HR"].device_time, UTC).isoformat() == "2018-07-26T17:06:05+00:00"


def test_db02_value_ranges(db02) -> None:
    _, out = db02
    by = _numerics(out)
    assert all(len(by[k]) == 107 for k in ("HR", "SpO2", "PR", "NBP sys", "etCO2", "etCO2 %", "T1", "T2"))
    hr = _values(by["HR"])
    assert (min(hr), max(hr), len(hr)) == (76.0, 80.0, 107)
    assert set(_values(by["NBP sys"])) == {93.0} and set(_values(by["NBP dia"])) == {48.0}
    assert set(_values(by["NBP mean"])) == {69.0}
    spo2 = _values(by["SpO2"])
    assert (min(spo2), max(spo2)) == (95.71, 96.65)
    pr = _values(by["PR"])
    assert (min(pr), max(pr)) == (74.0, 84.0)
    et_pct = _values(by["etCO2 %"])
    assert (min(et_pct), max(et_pct)) == (3.55, 4.87)
    et_mmhg = _values(by["etCO2"])
    assert (round(min(et_mmhg)), round(max(et_mmhg))) == (27, 37)
    assert min(et_mmhg) == 26.97  # 3.55 % × 759.8 mmHg, to 0.01 mmHg
    assert set(_values(by["Ambient pressure"])) == {759.8}
    times = [n.device_time for n in by["HR"]]
    assert (times[0], times[-1]) == (FIRST_RECORD, LAST_RECORD)


def test_db02_invasive_pressure_and_temperatures_invalid(db02) -> None:
    _, out = db02
    by = _numerics(out)
    for label in ("P1 sys (ART)", "P1 dia (ART)", "P1 mean (ART)", "T1", "T2"):
        assert len(by[label]) == 107
        assert all(n.value is None and n.state == State.INVALID for n in by[label]), label
    assert by["P1 sys (ART)"][0].mdc == mdc.ABP_SYS  # P1 is labelled ART on this monitor
    assert by["T1"][0].mdc == mdc.TEMP and by["T2"][0].mdc == 0


def test_db02_nibp_becomes_stale_sixty_seconds_after_the_measurement(db02) -> None:
    _, out = db02
    states = [(n.device_time or 0.0, n.state) for n in _numerics(out)["NBP sys"]]
    fresh = [t for t, s in states if s == State.NONE]
    stale = [t for t, s in states if s == State.STALE]
    assert max(fresh) < min(stale) == datetime(2018, 7, 26, 17, 6, 43, tzinfo=UTC).timestamp()
    assert len(fresh) + len(stale) == 107


def test_db02_waveforms(db02) -> None:
    _, out = db02
    waves = [s for s in out if isinstance(s, WaveBlock)]
    pleth = [w for w in waves if w.label == "Pleth"]
    ent = [w for w in waves if w.label == "ENT_100"]
    assert len(pleth) == len(ent) == 106 and len(waves) == 212
    for blocks, code, unit in ((pleth, mdc.PLETH, "%"), (ent, 0, "uV")):
        assert all((len(b), b.fs, b.mdc, b.unit) == (100, 100, code, unit) for b in blocks)
        # the monitor flags the first subrecord after the request as a gap; after that the stream is unbroken
        assert [b.gap for b in blocks] == [True] + [False] * 105
        assert blocks[0].t0 == FIRST_WAVE_RECORD - 1.0  # sent when its last sample was taken
        assert np.all(np.diff([b.t0 for b in blocks]) == 1.0)
    np.testing.assert_allclose(pleth[0].samples[:6], [-1.54, -1.57, -1.61, -1.64, -1.68, -1.71])
    np.testing.assert_allclose(ent[0].samples[:6], [13.0, 11.0, 11.0, 16.0, 20.0, 17.0])


def test_db02_chunked_feed_decodes_the_same(db02) -> None:
    _, whole = db02
    driver, chunked = _decode(DB02, chunk=97)
    assert driver.stats.frames_ok == 213
    assert [(type(s), getattr(s, "label", ""), getattr(s, "value", None)) for s in chunked] == \
           [(type(s), getattr(s, "label", ""), getattr(s, "value", None)) for s in whole]


def test_db02_missing_wave_record_marks_a_gap() -> None:
    data = capture(DB02).read_bytes()
    frames = [b"\x7e" + f + b"\x7e" for f in data.split(b"\x7e") if f][:-1]
    # record byte 14 is the low byte of r_maintype
    wave_frames = [i for i, f in enumerate(frames) if FrameSplitter().feed(f)[0].record[14] == 1]
    dropped = wave_frames[10]
    driver = DRIVER()
    out = driver.feed(b"".join(f for i, f in enumerate(frames) if i != dropped), 0.0)
    pleth = [w for w in out if isinstance(w, WaveBlock) and w.label == "Pleth"]
    assert len(pleth) == 105
    assert [b.gap for b in pleth].count(True) == 2 and pleth[10].gap
    assert pleth[10].t0 - pleth[9].t0 == 2.0  # re-anchored on the record clock across the lost second


def test_db01_corrupt_capture_counts_add_up() -> None:
    """2446 frames between flags: 2126 good, 320 bad, every good one decoded.

    The 320 bad ones are the README's 308 truncated/corrupt frames (164 checksum mismatches, 134 shorter than
    a header, 10 with an invalid escape) plus 12 whose checksum happens to pass but whose length field
    disagrees with the frame: 9 carry a stray leading 0x00 (which does not change the byte sum) and 3 are
    truncations that match by chance. Besides frames, 837 bytes before the first flag are skipped and the last
    337 bytes never get a closing flag.
    """
    data = capture(DB01).read_bytes()
    results = FrameSplitter().feed(data)
    notes = collections.Counter(r.note.split(":")[0] if r.kind == "bad" else r.kind for r in results)
    assert notes["ok"] == 2126
    assert notes["checksum mismatch"] == 164
    assert notes["too short"] == 134
    assert notes["invalid escape sequence (7D not followed by 5D or 5E)"] == 10
    length = sum(v for k, v in notes.items() if k.startswith("length field says"))
    assert length == 12
    assert 164 + 134 + 10 == 308 and 2126 + 308 + 12 == 2446

    driver, out = _decode(DB01)  # no exception on any of it
    stats = driver.stats
    assert (stats.frames_ok, stats.frames_bad) == (2126, 320)
    assert stats.frames_ok + stats.frames_bad == 2446
    assert stats.extra["skipped_bytes"] == 837 and driver._splitter.pending == 337
    assert stats.extra["displayed_records"] + stats.extra["wave_records"] == 2126  # every good frame decoded
    assert (stats.extra["displayed_records"], stats.extra["wave_records"]) == (1151, 975)
    numerics = [s for s in out if isinstance(s, Numeric)]
    assert len([n for n in numerics if n.label == "HR"]) == 1151
    hr = _values([n for n in numerics if n.label == "HR"])
    assert (min(hr), max(hr)) == (77.0, 80.0)  # the same patient as db02, replayed segments of its start
    assert len({n.device_time for n in numerics}) == 48
    # a loss of sync is counted once however many bad frames follow it
    assert 0 < stats.resyncs <= stats.frames_bad + 1
    waves = [s for s in out if isinstance(s, WaveBlock)]
    assert len(waves) == 2 * 975
    # the capture replays the same session over and over: every jump back in time is a gap, never a splice
    pleth = [w for w in waves if w.label == "Pleth"]
    for prev, cur in itertools.pairwise(pleth):
        if not cur.gap:
            assert cur.t0 == prev.t0 + 1.0

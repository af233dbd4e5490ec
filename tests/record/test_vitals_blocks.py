"""Vitals stored in blocks (numerics: one row per parameter per 10 s; waves: 10-s chunks) read back exactly as
submitted, across block boundaries, gaps, missing values and an episodic parameter, and read the same as the
per-value rows and 1-s chunks of records written before migration 0008 (which are still read, never
rewritten). Sizes are not asserted here: they belong to the benchmark (``benchmarks/bench_record.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, insert, select

from console.record import models as m
from console.record import wavecodec
from console.record.vitals import NUMERIC_BLOCK_SECONDS, WAVE_CHUNK_SECONDS, NumericSeries
from devices import mdc
from devices.model import Numeric, State, WaveBlock

T0 = 1_790_000_000.0  # a multiple of 10 s: block boundaries fall at T0 + 10 k
FIELDS = ("mdc", "label", "value", "unit", "state", "device_time", "host_time")


def _monitor() -> tuple[list[Numeric], list[dict[str, Any]]]:
    """45 s of HR (twice a second, with a 13-s dropout, values missing for 3 s, odd sub-second times and no
    device time now and then), SpO2 at 1 Hz, and NIBP measured twice (measuring, then the result), plus the
    rows the record must hold: the first value of each parameter in each second."""
    samples: list[Numeric] = []
    for i in range(90):
        t = T0 + 3.3 + i * 0.5 + (i % 7) * 1e-6  # crosses the boundaries at +10, +20, +30, +40
        if 14.0 <= t - T0 < 27.0:
            continue  # the sensor was off the finger: nothing arrives, nothing is padded
        missing = 31.0 <= t - T0 < 34.0
        samples.append(Numeric(mdc.HEART_RATE, "HR", None if missing else 60.0 + i * 0.25, "/min",
                               State.SENSOR_OFF if missing else State.NONE,
                               device_time=None if i % 5 == 0 else t - 0.125, host_time=t))
    for s in range(45):
        spo2 = 97.0 if s % 9 else float("nan")
        samples.append(Numeric(mdc.SPO2, "SpO2", spo2, "%", host_time=T0 + s + 0.9))
    for t, value, state in ((T0 + 8.2, None, State.MEASURING), (T0 + 19.6, 128.0, State.NONE),
                            (T0 + 40.0, None, State.MEASURING), (T0 + 52.5, 141.0, State.NONE)):
        samples.append(Numeric(mdc.NIBP_SYS, "NIBP sys", value, "mm[Hg]", state, device_time=t - 1,
                               host_time=t))
    samples.sort(key=lambda n: n.host_time)
    expected: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for n in samples:
        key = (int(n.mdc), int(np.floor(n.host_time)))
        if key in seen:
            continue
        seen.add(key)
        value = np.nan if n.value is None or not np.isfinite(n.value) else n.value
        expected.append({"mdc": int(n.mdc), "label": n.label, "value": value, "unit": n.unit,
                         "state": int(n.state.value), "device_time": np.nan if n.device_time is None
                         else n.device_time, "host_time": n.host_time})
    expected.sort(key=lambda r: r["host_time"])
    return samples, expected


def _assert_rows(series: NumericSeries, rows: list[dict[str, Any]]) -> None:
    """Every field of every row exactly (NaN where absent), in order."""
    assert len(series) == len(rows)
    for name in FIELDS:
        got = getattr(series, name)
        want = np.array([r[name] for r in rows], dtype=got.dtype)
        if got.dtype == np.float64:
            assert np.array_equal(got, want, equal_nan=True), name
        else:
            assert list(got) == list(want), name


def _record(db: Any, session_id: int, samples: list[Any], step: int = 7) -> Any:
    rec = db.vitals_recorder(session_id)
    try:
        for i in range(0, len(samples), step):  # in small lists, as the acquisition threads hand them over
            rec.submit(samples[i:i + step])
    finally:
        status = rec.close()
    assert status.pending_rows == 0 and not status.last_error
    return status


def _old_rows(session_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same values as a record written before migration 0008 holds them: one row per value."""
    return [{**r, "session_id": session_id, "value": None if np.isnan(r["value"]) else r["value"],
             "device_time": None if np.isnan(r["device_time"]) else r["device_time"]} for r in rows]


def test_numerics_read_back_value_exact_across_blocks_gaps_missing_values_and_nibp(db, svc, session):
    samples, expected = _monitor()
    status = _record(db, session.id, samples)
    assert status.numerics_written == len(expected)
    _assert_rows(db.numerics(session.id), expected)
    for code in (mdc.HEART_RATE, mdc.SPO2, mdc.NIBP_SYS):
        _assert_rows(db.numerics(session.id, code), [r for r in expected if r["mdc"] == code])
    # windows that start and end inside blocks, on a boundary, and in the dropout
    for start, end in ((T0 + 9.5, T0 + 20.0), (T0 + 10.0, T0 + 41.2), (T0 + 15.0, T0 + 26.0), (T0, T0 + 99)):
        _assert_rows(db.numerics(session.id, start=start, end=end),
                     [r for r in expected if start <= r["host_time"] < end])
    nibp = db.numerics(session.id, mdc.NIBP_SYS, start=T0 + 19.0, end=T0 + 53.0)
    assert list(nibp.value[~np.isnan(nibp.value)]) == [128.0, 141.0]
    with db.engine.connect() as conn:
        blocks = conn.execute(select(m.VitalNumericBlock.mdc, m.VitalNumericBlock.t0, m.VitalNumericBlock.t1,
                                     m.VitalNumericBlock.n)).all()
        old_rows = conn.execute(select(func.count()).select_from(m.VitalNumeric)).scalar()
    assert old_rows == 0  # new values go to blocks only
    for _, t0, t1, _ in blocks:  # a block never straddles a boundary, so a crash loses at most one
        assert np.floor(t0 / NUMERIC_BLOCK_SECONDS) == np.floor(t1 / NUMERIC_BLOCK_SECONDS)
    assert sum(b.n for b in blocks) == len(expected)
    # HR from +3.3 to +47.8 s with a dropout from +14 to +27: one block in each of the five periods
    assert sorted(b.n for b in blocks if b.mdc == mdc.HEART_RATE) == [3, 4, 7, 8, 10]


def test_a_record_written_before_blocks_reads_the_same_and_a_mixed_session_merges(db, svc, session):
    samples, expected = _monitor()
    _record(db, session.id, samples)
    old = svc.start_session(svc.create_patient("PT-OLD").id, "iv", "1", "chair 2")
    mixed = svc.start_session(svc.create_patient("PT-MIX").id, "iv", "1", "chair 3")
    with db.engine.begin() as conn:
        conn.execute(insert(m.VitalNumeric), _old_rows(old.id, expected))
        # a session upgraded mid-way (or an older recorder's journal replayed): old rows, then blocks
        conn.execute(insert(m.VitalNumeric), _old_rows(mixed.id, [r for r in expected
                                                                  if r["host_time"] < T0 + 20.0]))
    _record(db, mixed.id, [n for n in samples if n.host_time >= T0 + 20.0])
    for sid in (old.id, mixed.id):
        _assert_rows(db.numerics(sid), expected)
        for code in (mdc.HEART_RATE, mdc.NIBP_SYS):
            _assert_rows(db.numerics(sid, code, start=T0 + 12, end=T0 + 45),
                         [r for r in expected if r["mdc"] == code and T0 + 12 <= r["host_time"] < T0 + 45])
        assert db.vitals_summary(sid)["numeric_rows"] == db.vitals_summary(session.id)["numeric_rows"]


def test_the_session_browser_reads_nibp_through_the_same_reader_for_both_layouts(db, svc, session):
    from console.record.vitals import read_numerics_of_sessions

    samples, expected = _monitor()
    _record(db, session.id, samples)
    old = svc.start_session(svc.create_patient("PT-OLD").id, "iv", "1", "chair 2")
    with db.engine.begin() as conn:
        conn.execute(insert(m.VitalNumeric), _old_rows(old.id, expected))
    got = read_numerics_of_sessions(db.engine, [session.id, old.id, 999], mdc.NIBP_SYS)
    assert set(got) == {session.id, old.id}
    for sid in (session.id, old.id):
        _assert_rows(got[sid], [r for r in expected if r["mdc"] == mdc.NIBP_SYS])


def test_flush_writes_the_open_numeric_block(db, session):
    rec = db.vitals_recorder(session.id)
    try:
        rec.submit([Numeric(mdc.HEART_RATE, "HR", 71.0, "/min", host_time=T0 + 2.0)])
        assert rec.flush()
        assert list(db.numerics(session.id).value) == [71.0]  # not held back until the block's period ends
        rec.submit([Numeric(mdc.HEART_RATE, "HR", 72.0, "/min", host_time=T0 + 3.0)])
    finally:
        rec.close()
    assert list(db.numerics(session.id).value) == [71.0, 72.0]


def _wave_blocks(fs: float) -> tuple[list[WaveBlock], np.ndarray, list[int], list[float]]:
    """Integer-valued samples (stored exactly) in 37-sample blocks for 25 s, a gap flagged by the driver, 12 s
    more with NaN samples: the blocks, all samples, where runs start and their first times."""
    rng = np.random.default_rng(7)
    first = rng.integers(-2000, 2000, int(25 * fs)).astype(np.float64)
    second = rng.integers(-2000, 2000, int(12 * fs)).astype(np.float64)
    second[[0, 5, 6, 7, int(10 * fs)]] = np.nan
    blocks: list[WaveBlock] = []
    for run, (t_start, x) in enumerate(((T0 + 1.0, first), (T0 + 31.0, second))):
        for i in range(0, x.shape[0], 37):
            blocks.append(WaveBlock(mdc.PLETH, "Pleth", t_start + i / fs, fs, x[i:i + 37], "1",
                                    gap=run == 1 and i == 0, host_time=t_start + i / fs + 0.1))
    return blocks, np.concatenate([first, second]), [first.shape[0]], [T0 + 1.0, T0 + 31.0]


@pytest.mark.parametrize("fs", [125.0, 62.5])
def test_waves_read_back_sample_exact_across_chunks_gaps_and_nan(db, session, fs):
    blocks, x, gaps, seg_t0 = _wave_blocks(fs)
    status = _record(db, session.id, blocks, step=3)
    w = db.waves(session.id, mdc.PLETH)
    assert np.array_equal(w.samples, x, equal_nan=True)
    assert list(w.gaps) == gaps and list(w.segment_t0) == seg_t0 and w.fs == fs
    assert status.wave_chunks_written == 3 + 2  # 10 + 10 + 5 s, then 10 + 2 s: cut at the gap
    times = w.times()
    for start, end in ((T0 + 10.0, T0 + 11.0), (T0 + 9.99, T0 + 21.0), (T0 + 25.5, T0 + 33.0),
                       (T0 + 40.9, T0 + 41.1)):
        part = db.waves(session.id, mdc.PLETH, start=start, end=end)
        sel = (times >= start) & (times < end)
        assert np.array_equal(part.samples, x[sel], equal_nan=True), (start, end)
        assert part.t0 == times[sel][0]
    with db.engine.connect() as conn:
        spans = conn.execute(select(m.VitalWave.n, m.VitalWave.fs)).all()
    assert all((n - 1) / rate < WAVE_CHUNK_SECONDS for n, rate in spans)  # what the window reader relies on


def test_one_second_chunks_of_older_records_still_read(db, session):
    fs = 125.0
    x = np.round(np.sin(np.arange(int(12 * fs)) / 9.0) * 1000)
    step = wavecodec.step_for(mdc.PLETH, "1")
    rows = []
    for k in range(12):  # as records before migration 0008 hold them: 1-s chunks, deflate
        enc = wavecodec.encode(x[k * 125:(k + 1) * 125], step, deflate=True)
        rows.append({"session_id": session.id, "mdc": mdc.PLETH, "fs": fs, "t0": T0 + k, "host_time": T0 + k,
                     "n": 125, "gap": False, "codec": enc.codec, "scale": enc.scale, "offset": enc.offset,
                     "data": enc.data})
    with db.engine.begin() as conn:
        conn.execute(insert(m.VitalWave), rows)
    assert np.array_equal(db.waves(session.id, mdc.PLETH).samples, x)
    part = db.waves(session.id, mdc.PLETH, start=T0 + 4.4, end=T0 + 6.4)
    assert part.t0 == T0 + 4.4 and np.array_equal(part.samples, x[550:800])
    assert db.vitals_summary(session.id)["wave_chunks"] == {str(mdc.PLETH): 12}


def test_a_stalled_wave_channel_is_written_without_waiting_for_its_next_samples(db, session):
    """A pulse oximeter that stops sending pleth (probe off) while the monitor goes on: the buffered part of
    the chunk is written once the chunk's time is over, so a crash later cannot lose it."""
    fs = 125.0
    x = np.arange(int(3 * fs), dtype=np.float64)
    rec = db.vitals_recorder(session.id)
    try:
        rec.submit([WaveBlock(mdc.PLETH, "Pleth", T0, fs, x, "1", host_time=T0 + 3.0)])
        rec.submit([Numeric(mdc.HEART_RATE, "HR", 70.0, "/min", host_time=T0 + 20.0)])
        assert rec.flush()  # flush writes numerics and finished chunks, not a partial chunk still filling
        assert np.array_equal(db.waves(session.id, mdc.PLETH).samples, x)
    finally:
        rec.close()

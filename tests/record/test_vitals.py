"""Vitals: 1 Hz numerics, compressed ten-second wave chunks (lossless within the quantisation step), gaps,
device events, the writer thread's life cycle and the read API used by review."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from console.record import wavecodec
from devices import mdc
from devices.model import AlarmPriority, DeviceAlarm, LinkEvent, LinkState, Numeric, State, WaveBlock

T0 = 1_790_000_000.0  # a fixed POSIX time in 2026


def ecg(n: int, fs: float = 500.0, start: int = 0) -> np.ndarray:
    t = (np.arange(n) + start) / fs
    return 0.1 * np.sin(2 * np.pi * 1.2 * t) + 1.2 * np.exp(-(((t % 0.8) - 0.4) ** 2) / 0.0002) - 0.2


@given(arrays(np.float64, st.integers(0, 600),
              elements=st.floats(-500, 500, allow_nan=False, allow_infinity=False)),
       st.sampled_from([0.001, 0.01, 0.0005]))
@settings(max_examples=200, deadline=None)
def test_codec_round_trip_within_the_quantisation_step(x, step):
    enc = wavecodec.encode(x, step)
    back = wavecodec.decode(enc.codec, enc.scale, enc.offset, enc.data, x.shape[0])
    assert back.shape == x.shape
    assert np.all(np.abs(back - x) <= enc.scale / 2 + 1e-9 * np.maximum(1, np.abs(x)))


def test_codec_keeps_integer_samples_exact_and_nan_as_nan():
    raw = np.array([0, 16383, -16384, 12, 12, 13, 2**20, -(2**20)], dtype=np.float64)
    enc = wavecodec.encode(raw, 0.001)
    assert enc.scale == 1.0 and enc.codec == wavecodec.CODEC_I32_LZMA
    assert np.array_equal(wavecodec.decode(enc.codec, enc.scale, enc.offset, enc.data, raw.size), raw)
    with_nan = np.array([1.0, np.nan, 1.002, np.nan, np.nan, 0.998])
    enc = wavecodec.encode(with_nan, 0.001)
    back = wavecodec.decode(enc.codec, enc.scale, enc.offset, enc.data, with_nan.size)
    assert np.array_equal(np.isnan(back), np.isnan(with_nan))
    assert np.allclose(back[~np.isnan(back)], with_nan[~np.isnan(with_nan)], atol=0.0005)


def test_codec_compresses_ten_seconds_of_ecg_well_and_still_reads_the_older_deflate_chunks():
    x = ecg(5000)
    step = wavecodec.step_for(mdc.ECG_II, "mV")
    enc = wavecodec.encode(x, step)
    assert enc.codec == wavecodec.CODEC_I16_LZMA
    assert len(enc.data) < 4000  # well under 1 byte a sample
    old = wavecodec.encode(x, step, deflate=True)  # as records before migration 0008 stored it
    assert old.codec == wavecodec.CODEC_I16
    for e in (enc, old):
        assert np.max(np.abs(wavecodec.decode(e.codec, e.scale, e.offset, e.data, 5000) - x)) <= step / 2 + 1e-12
    with pytest.raises(ValueError, match="unknown wave codec"):
        wavecodec.decode(99, 1.0, 0.0, enc.data, 5000)


def numeric(code, value, t, state=State.NONE, label=None, unit="/min"):
    return Numeric(code, label or mdc.label_of(code), value, unit, state, device_time=t - 0.2, host_time=t)


def test_numerics_stored_at_one_hertz_with_all_fields(db, svc, session):
    rec = db.vitals_recorder(session.id)
    try:
        # 4 values a second for 3 seconds: only the first of each second is kept
        samples = [numeric(mdc.HEART_RATE, 70 + i, T0 + i * 0.25) for i in range(12)]
        samples.append(numeric(mdc.SPO2, None, T0 + 0.5, State.SENSOR_OFF | State.INVALID, unit="%"))
        rec.submit(samples)
        assert rec.flush()
    finally:
        status = rec.close()
    assert not rec.alive and status.pending_rows == 0 and status.numerics_written == 4
    hr = db.numerics(session.id, mdc.HEART_RATE)
    assert list(hr.value) == [70.0, 74.0, 78.0]
    assert list(hr.host_time) == [T0, T0 + 1.0, T0 + 2.0]
    assert list(hr.device_time) == [T0 - 0.2, T0 + 0.8, T0 + 1.8]
    assert list(hr.label) == ["HR"] * 3
    spo2 = db.numerics(session.id, mdc.SPO2)
    assert np.isnan(spo2.value[0]) and State(int(spo2.state[0])) == State.SENSOR_OFF | State.INVALID
    assert list(spo2.unit) == ["%"]
    assert len(db.numerics(session.id)) == 4
    assert list(db.numerics(session.id, mdc.HEART_RATE, start=T0 + 0.5, end=T0 + 2.0).value) == [74.0]


def test_waves_round_trip_in_ten_second_chunks(db, svc, session):
    fs = 500.0
    n = 6250  # 12.5 s, sent as 0.25 s blocks like a driver would: one full chunk and a partial one
    x = ecg(n)
    rec = db.vitals_recorder(session.id)
    try:
        for i in range(0, n, 125):
            rec.submit([WaveBlock(mdc.ECG_II, "ECG II", T0 + i / fs, fs, x[i:i + 125], "mV",
                                  host_time=T0 + i / fs + 0.05)])
    finally:
        status = rec.close()  # the last 2.5 s are written too
    assert status.wave_chunks_written == 2
    w = db.waves(session.id, mdc.ECG_II)
    t0, rate, samples, gaps = w
    assert (t0, rate, samples.size, gaps.size) == (T0, fs, n, 0)
    half_step = wavecodec.step_for(mdc.ECG_II, "mV") / 2
    assert np.max(np.abs(samples - x)) <= half_step + 1e-12
    # a window across the chunk boundary, and one inside the second chunk (found although its chunk starts
    # before the window)
    part = db.waves(session.id, mdc.ECG_II, start=T0 + 9.5, end=T0 + 10.5)
    assert part.t0 == T0 + 9.5 and part.samples.size == 500 and part.gaps.size == 0
    assert np.allclose(part.samples, x[4750:5250], atol=half_step + 1e-12)
    inner = db.waves(session.id, mdc.ECG_II, start=T0 + 1.0, end=T0 + 2.0)
    assert inner.t0 == T0 + 1.0 and np.allclose(inner.samples, x[500:1000], atol=half_step + 1e-12)
    summary = db.vitals_summary(session.id)
    assert summary["wave_seconds"] == {str(mdc.ECG_II): 12.5}
    assert summary["wave_chunks"] == {str(mdc.ECG_II): 2}


def test_gaps_are_marked_never_padded(db, svc, session):
    fs = 125.0
    rec = db.vitals_recorder(session.id)
    try:
        rec.submit([WaveBlock(mdc.PLETH, "Pleth", T0, fs, np.full(250, 0.5), "1")])
        # 3 s of lost frames, then the driver says: gap
        rec.submit([WaveBlock(mdc.PLETH, "Pleth", T0 + 5.0, fs, np.full(125, 0.25), "1", gap=True)])
        # a time jump without the flag is a gap too
        rec.submit([WaveBlock(mdc.PLETH, "Pleth", T0 + 10.0, fs, np.full(62, 0.75), "1")])
    finally:
        rec.close()
    w = db.waves(session.id, mdc.PLETH)
    assert w.samples.size == 250 + 125 + 62  # nothing padded into the gaps
    assert list(w.gaps) == [250, 375]
    assert list(w.segment_t0) == [T0, T0 + 5.0, T0 + 10.0]
    times = w.times()
    assert times[249] == pytest.approx(T0 + 249 / fs) and times[250] == T0 + 5.0
    assert times[-1] == pytest.approx(T0 + 10.0 + 61 / fs)


def test_device_alarms_and_link_events_are_kept(db, svc, session):
    from sqlalchemy import select

    from console.record.models import VitalEvent

    rec = db.vitals_recorder(session.id)
    try:
        rec.submit([DeviceAlarm("masimo.spo2_low", "SpO2 low", AlarmPriority.HIGH, True, mdc=mdc.SPO2,
                                host_time=T0, source="rad97"),
                    LinkEvent(LinkState.LOST, "port vanished", host_time=T0 + 1, source="rad97"),
                    "not a sample"])
    finally:
        status = rec.close()
    assert status.events_written == 2 and status.rejected == 1
    with db.engine.connect() as conn:
        rows = conn.execute(select(VitalEvent.kind, VitalEvent.code, VitalEvent.priority, VitalEvent.text)
                            .order_by(VitalEvent.host_time)).all()
    assert [tuple(r) for r in rows] == [("alarm", "masimo.spo2_low", 3, "SpO2 low"),
                                        ("link", "lost", 0, "port vanished")]


def test_submit_after_close_is_ignored_and_close_is_idempotent(db, session):
    rec = db.vitals_recorder(session.id)
    rec.close()
    rec.submit([numeric(mdc.HEART_RATE, 60, T0)])
    assert rec.close().numerics_written == 0


def test_database_close_stops_its_recorders(db_url, session):
    from console.record import open_database

    db2 = open_database(db_url)
    rec = db2.vitals_recorder(session.id)
    rec.submit([numeric(mdc.HEART_RATE, 60, T0)])
    db2.close()
    assert not rec.alive and rec.status().numerics_written == 1

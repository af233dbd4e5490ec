"""The Qt-free live buffers: sweep rings (wrap-around, gaps, alignment) and the latest-numerics store."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from devices import mdc
from devices.model import DeviceAlarm, AlarmPriority, LinkEvent, LinkState, Numeric, State, WaveBlock
from console.live.buffers import EPISODIC_REPEAT_WINDOW, LiveData, NumericStore, WaveRing

FS = 10.0  # 10 samples/s and a 2 s sweep: capacity 20, small enough to reason about by hand


def ring(seconds: float = 2.0) -> WaveRing:
    return WaveRing(FS, seconds)


def test_capacity_is_one_sweep() -> None:
    assert WaveRing(500.0, 8.0).capacity == 4000
    assert WaveRing(62.5, 8.0).capacity == 500


@pytest.mark.parametrize("fs, seconds", [(0.0, 8.0), (-1.0, 8.0), (100.0, 0.0)])
def test_rejects_nonsense_rates(fs: float, seconds: float) -> None:
    with pytest.raises(ValueError):
        WaveRing(fs, seconds)


def test_contiguous_blocks_come_back_in_order() -> None:
    r = ring()
    r.write(np.arange(0, 5, dtype=float), t0=100.0)
    r.write(np.arange(5, 12, dtype=float), t0=100.5)
    assert r.written == 12
    assert r.end_time == pytest.approx(101.2)
    assert r.gaps == 0
    np.testing.assert_array_equal(r.latest(12), np.arange(12, dtype=float))


def test_wrap_around_keeps_the_newest_sweep() -> None:
    r = ring()
    t = 0.0
    for start in range(0, 50, 7):  # 49 samples through a 20-slot ring, in blocks crossing the end
        block = np.arange(start, start + 7, dtype=float)
        r.write(block, t0=t)
        t += 7 / FS
    np.testing.assert_array_equal(r.latest(), np.arange(36, 56, dtype=float))
    assert not np.isnan(r.latest()).any()


def test_block_longer_than_the_sweep_keeps_its_tail() -> None:
    r = ring()
    r.write(np.arange(45, dtype=float), t0=0.0)
    np.testing.assert_array_equal(r.latest(), np.arange(25, 45, dtype=float))
    # and the next block continues right after it
    r.write(np.array([45.0, 46.0]), t0=4.5)
    np.testing.assert_array_equal(r.latest(3), [44.0, 45.0, 46.0])


def test_cursor_follows_time_so_channels_sweep_in_step() -> None:
    r = ring()
    out = np.empty(r.capacity)
    r.write(np.ones(3), t0=12.3)  # round(12.3 * 10) % 20 = 3 -> samples at 3, 4, 5
    view = r.snapshot(out)
    assert view.cursor == 6
    assert view.written == 3
    np.testing.assert_array_equal(out[3:6], 1.0)
    assert np.isnan(out[:3]).all() and np.isnan(out[6:]).all()
    other = WaveRing(2 * FS, 2.0)  # twice the rate, same sweep: cursor at the same fraction of the sweep
    other.write(np.ones(6), t0=12.3)
    assert other.snapshot(np.empty(other.capacity)).cursor / other.capacity == view.cursor / r.capacity


def test_missing_time_is_blanked_not_padded() -> None:
    r = ring()
    r.write(np.full(5, 1.0), t0=0.0)
    r.write(np.full(5, 2.0), t0=0.8)  # expected at 0.5: 3 samples (0.3 s) never arrived
    shown = r.latest(13)
    np.testing.assert_array_equal(shown[:5], 1.0)
    assert np.isnan(shown[5:8]).all()
    np.testing.assert_array_equal(shown[8:], 2.0)
    assert r.gaps == 1
    assert r.written == 10  # only real samples are counted


def test_flagged_gap_without_missing_time_breaks_the_line_once() -> None:
    r = ring()
    r.write(np.full(5, 1.0), t0=0.0)
    r.write(np.full(5, 2.0), t0=0.5, gap=True)
    shown = r.latest(11)
    assert np.isnan(shown[5])
    assert np.isfinite(np.delete(shown, 5)).all()
    assert r.gaps == 1


def test_small_time_jitter_is_not_a_gap() -> None:
    r = ring()
    r.write(np.full(5, 1.0), t0=0.0)
    r.write(np.full(5, 2.0), t0=0.53)  # 30 ms late: host-stamped blocks wobble like this
    assert r.gaps == 0
    assert np.isfinite(r.latest(10)).all()


def test_gap_longer_than_the_sweep_clears_it() -> None:
    r = ring()
    r.write(np.full(20, 1.0), t0=0.0)
    r.write(np.full(4, 2.0), t0=60.0)
    shown = r.latest()
    np.testing.assert_array_equal(shown[-4:], 2.0)
    assert np.isnan(shown[:-4]).all()
    assert r.gaps == 1


def test_time_running_backwards_breaks_the_line_and_keeps_sweeping() -> None:
    r = ring()
    r.write(np.full(5, 1.0), t0=100.0)
    r.write(np.full(5, 2.0), t0=10.0)  # device restarted its clock
    shown = r.latest(11)
    assert np.isnan(shown[5])
    np.testing.assert_array_equal(shown[6:], 2.0)


def test_empty_block_changes_nothing() -> None:
    r = ring()
    r.write(np.empty(0), t0=5.0)
    assert r.written == 0 and r.end_time is None


def test_writes_reuse_the_preallocated_array() -> None:
    r = ring()
    out = np.empty(r.capacity)
    before = r.snapshot(out)
    storage = r._data
    for k in range(50):
        r.write(np.full(3, float(k)), t0=k * 0.3)
    assert r._data is storage
    assert r.snapshot(out).written == before.written + 150


def test_concurrent_writer_and_reader_see_whole_blocks() -> None:
    r = WaveRing(100.0, 1.0)
    out = np.empty(r.capacity)
    stop = threading.Event()
    torn: list[np.ndarray] = []

    def writer() -> None:
        for k in range(2000):
            r.write(np.full(10, float(k)), t0=k * 0.1)
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not stop.is_set():
        view = r.snapshot(out)
        # the 10 samples just behind the cursor always come from one block
        newest = np.take(out, range(view.cursor - 10, view.cursor), mode="wrap")
        if np.isfinite(newest).all() and len(set(newest.tolist())) != 1:
            torn.append(newest.copy())
    thread.join()
    assert not torn
    assert r.written == 20000


# --- numerics ---------------------------------------------------------------------------------------------

def num(code: int, value: float | None, t: float, state: State = State.NONE) -> Numeric:
    return Numeric(code, mdc.label_of(code), value, mdc.PARAMETERS[code].unit, state, None, t, "sim")


def test_store_keeps_the_latest_value_and_counts_versions() -> None:
    store = NumericStore()
    assert store.get(mdc.HEART_RATE) is None
    store.update(num(mdc.HEART_RATE, 70.0, 1.0))
    store.update(num(mdc.HEART_RATE, 72.0, 2.0))
    record = store.get(mdc.HEART_RATE)
    assert record is not None
    assert (record.value, record.time, record.measured_at, record.source) == (72.0, 2.0, 2.0, "sim")
    assert store.version == 2


def test_continuous_parameters_are_measured_when_reported() -> None:
    store = NumericStore()
    store.update(num(mdc.HEART_RATE, 70.0, 1.0))
    store.update(num(mdc.HEART_RATE, 70.0, 2.0))  # same value again is a new measurement of HR
    assert store.get(mdc.HEART_RATE).measured_at == 2.0  # type: ignore[union-attr]


def test_unmapped_codes_are_kept_under_their_label() -> None:
    store = NumericStore()
    store.update(Numeric(0, "XYZ", 3.0, "1", host_time=5.0))
    assert store.get("XYZ").value == 3.0  # type: ignore[union-attr]


def test_nibp_keeps_its_result_and_time_while_measuring() -> None:
    store = NumericStore()
    store.update(num(mdc.NIBP_SYS, 124.0, 100.0))
    store.update(num(mdc.NIBP_SYS, None, 400.0, State.MEASURING))
    record = store.get(mdc.NIBP_SYS)
    assert record is not None
    assert record.value == 124.0 and record.state & State.MEASURING
    assert record.measured_at == 100.0 and record.time == 400.0
    store.update(num(mdc.NIBP_SYS, 131.0, 430.0))
    assert (store.get(mdc.NIBP_SYS).value, store.get(mdc.NIBP_SYS).measured_at) == (131.0, 430.0)  # type: ignore


def test_repeated_nibp_reports_keep_the_measurement_time() -> None:
    store = NumericStore()
    store.update(num(mdc.NIBP_SYS, 124.0, 100.0))
    store.update(num(mdc.NIBP_SYS, 124.0, 101.0))  # IntelliVue repeats the last result every poll
    assert store.get(mdc.NIBP_SYS).measured_at == 100.0  # type: ignore[union-attr]
    later = 101.0 + EPISODIC_REPEAT_WINDOW + 200.0
    store.update(num(mdc.NIBP_SYS, 124.0, later))  # same value after a long silence: a new measurement
    assert store.get(mdc.NIBP_SYS).measured_at == later  # type: ignore[union-attr]


def test_live_data_routes_every_kind_of_sample() -> None:
    live = LiveData(sweep_seconds=2.0)
    event = LinkEvent(LinkState.ASSOCIATED, "hello", 1.0, "sim")
    alarm = DeviceAlarm("x.spo2_low", "SpO2 low", AlarmPriority.HIGH, True, source="sim")
    block = WaveBlock(mdc.PLETH, "Pleth", 1.0, 125.0, np.ones(32), "1")
    events = live.ingest([event, block, num(mdc.SPO2, 97.0, 1.0), alarm])
    assert events == [event]
    pleth = live.wave(mdc.PLETH)
    assert pleth is not None and pleth.capacity == 250 and pleth.written == 32
    assert live.latest_vitals() == {mdc.SPO2: (97.0, State.NONE, 1.0)}
    assert live.device_alarms() == [alarm]
    live.ingest([DeviceAlarm("x.spo2_low", "SpO2 low", AlarmPriority.HIGH, False, source="sim")])
    assert live.device_alarms() == []


def test_a_changed_sample_rate_gets_a_fresh_ring() -> None:
    live = LiveData(sweep_seconds=2.0)
    live.ingest([WaveBlock(mdc.ECG_II, "ECG II", 0.0, 250.0, np.ones(50), "mV")])
    first = live.wave(mdc.ECG_II)
    live.ingest([WaveBlock(mdc.ECG_II, "ECG II", 0.2, 500.0, np.ones(100), "mV")])
    second = live.wave(mdc.ECG_II)
    assert second is not first and second is not None and second.fs == 500.0 and second.written == 100

"""Trend data of one session for the review window, loaded as numpy arrays (no Qt).

One query per parameter (``Database.numerics(session, mdc)``), never per sample; waves are not touched here
(the review window loads them lazily for the moment the auditor looks at, see :func:`load_wave_window`).
Unusable values (invalid, questionable, unavailable) become NaN so the plot shows a break instead of a wrong
value; NIBP readings in progress (``MEASURING``, which repeat the previous result) are dropped, so each
measurement appears once, at the time it completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from console.record import models as m
from devices import mdc
from devices.model import UNUSABLE, State

#: the trend rows of the review window: key, MDC codes tried in order, label, unit, fixed y range
TREND_PARAMETERS: tuple[tuple[str, tuple[int, ...], str, str, tuple[float, float]], ...] = (
    ("HR", (mdc.HEART_RATE, mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE), "HR", "/min", (30.0, 170.0)),
    ("SPO2", (mdc.SPO2,), "SpO2", "%", (75.0, 101.0)),
    ("RR", (mdc.RESP_RATE, mdc.AWAY_RESP_RATE), "RR", "/min", (0.0, 40.0)),
    ("ETCO2", (mdc.ETCO2,), "EtCO2", "mmHg", (0.0, 70.0)),
)
NIBP_RANGE = (40.0, 230.0)
#: the waveforms offered in the wave viewer (code, label, theme colour key)
WAVE_CHANNELS: tuple[tuple[int, str, str], ...] = (
    (mdc.ECG_II, "ECG II", "ECG"),
    (mdc.PLETH, "Pleth", "PLETH"),
    (mdc.RESP_WAVE, "Resp", "RESP"),
    (mdc.CO2_WAVE, "CO2", "CO2"),
)
_BAD = int((UNUSABLE).value)
_MEASURING = int(State.MEASURING.value)


@dataclass(frozen=True, slots=True)
class Series:
    """Times (POSIX s) and values of one parameter; NaN where the value was unusable."""

    t: np.ndarray
    y: np.ndarray
    code: int = 0


@dataclass(frozen=True, slots=True)
class NibpReadings:
    """Completed NIBP measurements: time, systolic and diastolic (NaN when the diastolic is missing)."""

    t: np.ndarray
    sys: np.ndarray
    dia: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(slots=True)
class TrendData:
    """Everything the trend view draws for one session."""

    start: float
    end: float
    series: dict[str, Series] = field(default_factory=dict)
    nibp: NibpReadings = field(default_factory=lambda: NibpReadings(np.empty(0), np.empty(0), np.empty(0)))


def _empty() -> Series:
    return Series(np.empty(0), np.empty(0))


def _series(db: Any, session_id: int, code: int, drop_measuring: bool = False) -> Series:
    n = db.numerics(session_id, code)
    if len(n) == 0:
        return Series(np.empty(0), np.empty(0), code)
    y = n.value.astype(np.float64, copy=True)
    y[(n.state & _BAD) != 0] = np.nan
    t = n.host_time
    if drop_measuring:
        keep = ((n.state & _MEASURING) == 0) & np.isfinite(y)
        t, y = t[keep], y[keep]
    return Series(t, y, code)


def load_nibp(db: Any, session_id: int) -> NibpReadings:
    """Completed NIBP readings, each systolic paired with the diastolic stored within 2 s of it."""
    s = _series(db, session_id, mdc.NIBP_SYS, drop_measuring=True)
    d = _series(db, session_id, mdc.NIBP_DIA, drop_measuring=True)
    dia = np.full(s.t.shape, np.nan)
    if d.t.size and s.t.size:
        idx = np.clip(np.searchsorted(d.t, s.t), 0, d.t.size - 1)
        prev = np.clip(idx - 1, 0, d.t.size - 1)
        best = np.where(np.abs(d.t[prev] - s.t) < np.abs(d.t[idx] - s.t), prev, idx)
        near = np.abs(d.t[best] - s.t) <= 2.0
        dia[near] = d.y[best[near]]
    return NibpReadings(s.t, s.y, dia)


def load_trends(db: Any, session_id: int, start: float, end: float | None) -> TrendData:
    """The trend arrays of a session (one numerics query per parameter tried)."""
    data = TrendData(start, end if end is not None else start)
    last = start
    for key, codes, *_ in TREND_PARAMETERS:
        ser = _empty()
        for code in codes:
            ser = _series(db, session_id, code)
            if ser.t.size:
                break
        data.series[key] = ser
        if ser.t.size:
            last = max(last, float(ser.t[-1]))
    data.nibp = load_nibp(db, session_id)
    if len(data.nibp):
        last = max(last, float(data.nibp.t[-1]))
    if end is None or end < last:
        data.end = last
    if data.end <= data.start:
        data.end = data.start + 60.0
    return data


def device_alarms(db: Any, session_id: int) -> list[tuple[float, str]]:
    """Alarm onsets the monitor itself reported during the session (``vital_events``), read-only."""
    t = m.VitalEvent.__table__
    q = (
        select(t.c.host_time, t.c.text, t.c.code)
        .where(t.c.session_id == session_id, t.c.kind == "alarm", t.c.active.is_(True))
        .order_by(t.c.host_time)
    )
    with db.engine.connect() as conn:
        return [(float(r[0]), r[1] or r[2]) for r in conn.execute(q)]


@dataclass(frozen=True, slots=True)
class WaveWindow:
    """The samples of each wave channel within [start, end): per code, (times, values)."""

    start: float
    end: float
    channels: dict[int, tuple[np.ndarray, np.ndarray]]


def load_wave_window(
    db: Any, session_id: int, start: float, end: float, codes: tuple[int, ...] | None = None
) -> WaveWindow:
    """Full-resolution samples of the wave channels for just this window (one small query per channel)."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for code in codes or tuple(c for c, *_ in WAVE_CHANNELS):
        w = db.waves(session_id, code, start, end)
        if w.samples.size:
            out[code] = (w.times(), w.samples)
    return WaveWindow(start, end, out)

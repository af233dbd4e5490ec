"""The vital-sign trend chart of the PDF report, drawn with reportlab graphics (no matplotlib).

Three panels share one time axis (local clock): HR with the NIBP readings (systolic ``v`` and diastolic
``^`` marks joined by a bar, as on an anaesthesia chart), SpO2, and respiratory rate with EtCO2. Numbered
dashed lines mark the events; the report lists the numbers under the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from console.exports._common import SessionData, Trend, fmt_local
from devices import mdc

HR_COLOUR = colors.HexColor("#1b7f3a")
NIBP_COLOUR = colors.HexColor("#c0392b")
SPO2_COLOUR = colors.HexColor("#1f5fa8")
RR_COLOUR = colors.HexColor("#b8860b")
ETCO2_COLOUR = colors.HexColor("#6c3483")
EVENT_COLOUR = colors.HexColor("#555555")
GRID = colors.HexColor("#dddddd")
#: the most points one line gets (a 2-hour session at 1 Hz is thinned to this by taking every n-th second)
MAX_POINTS = 720


@dataclass(frozen=True, slots=True)
class Marker:
    """An event line on the chart: its number in the key below, time and short text."""

    number: int
    t: float
    text: str


@dataclass(frozen=True, slots=True)
class _Panel:
    title: str
    lo: float
    hi: float
    y: float  # bottom of the panel in the drawing
    h: float


def _nice_step(span_s: float) -> float:
    for minutes in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if span_s / (minutes * 60.0) <= 8:
            return minutes * 60.0
    return 240 * 60.0


def _value_ticks(lo: float, hi: float, most: int) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) from ``lo`` to ``hi``."""
    span = hi - lo
    for step in (1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if span / step <= most:
            break
    first = math.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + 1e-9, step)]


def _thin(tr: Trend) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, math.ceil(tr.t.size / MAX_POINTS))
    return tr.t[::step], tr.value[::step]


def _range(values: Sequence[np.ndarray], lo: float, hi: float, pad: float) -> tuple[float, float]:
    """The panel's value range: at least [lo, hi], widened to the data (rounded to 10s)."""
    vals = np.concatenate([v for v in values if v.size]) if any(v.size for v in values) else np.empty(0)
    if vals.size:
        lo = min(lo, math.floor((float(vals.min()) - pad) / 10.0) * 10.0)
        hi = max(hi, math.ceil((float(vals.max()) + pad) / 10.0) * 10.0)
    return lo, hi


def trend_drawing(
    data: SessionData, markers: Sequence[Marker], width: float, height: float, font: str = "Helvetica"
) -> Drawing:
    """The trend chart of a session, ``width`` x ``height`` points."""
    d = Drawing(width, height)
    left, right, bottom, top = 34.0, 8.0, 26.0, 30.0
    plot_w = width - left - right
    first, last = data.time_range()
    tr = data.trends
    if first is None or last is None or not tr:
        d.add(
            String(
                width / 2,
                height / 2,
                "No vital signs were recorded in this session.",
                fontName=font,
                fontSize=10,
                textAnchor="middle",
            )
        )
        return d
    t0, t1 = float(first), float(max(last, first + 60.0))

    def x_of(t: float | np.ndarray) -> float | np.ndarray:
        return left + (np.asarray(t) - t0) / (t1 - t0) * plot_w

    gap = 10.0
    avail = height - bottom - top - 2 * gap
    hs = (avail * 0.45, avail * 0.25, avail * 0.30)
    hr = tr.get(mdc.HEART_RATE) or tr.get(mdc.PULSE_RATE_OXIM)
    nibp = data.nibp_readings()
    hr_lo, hr_hi = _range(
        [hr.value if hr else np.empty(0)]
        + [np.array([s for _, s, _, _ in nibp]), np.array([di for _, _, di, _ in nibp])],
        40.0,
        160.0,
        5.0,
    )
    spo2 = tr.get(mdc.SPO2)
    s_lo = min(85.0, math.floor(float(spo2.value.min()) / 5.0) * 5.0) if spo2 and spo2.value.size else 85.0
    rr = tr.get(mdc.RESP_RATE) or tr.get(mdc.AWAY_RESP_RATE)
    et = tr.get(mdc.ETCO2)
    r_lo, r_hi = _range([x.value for x in (rr, et) if x is not None], 0.0, 50.0, 2.0)
    y3 = bottom
    y2 = y3 + hs[2] + gap
    y1 = y2 + hs[1] + gap
    panels = [
        _Panel("HR /min, NIBP mmHg", hr_lo, hr_hi, y1, hs[0]),
        _Panel("SpO2 %", s_lo, 100.0, y2, hs[1]),
        _Panel("RR /min, EtCO2 mmHg", r_lo, r_hi, y3, hs[2]),
    ]

    def y_of(p: _Panel, v: float | np.ndarray) -> float | np.ndarray:
        return p.y + (np.clip(np.asarray(v), p.lo, p.hi) - p.lo) / (p.hi - p.lo) * p.h

    step = _nice_step(t1 - t0)
    first_tick = math.ceil(t0 / step) * step
    ticks = np.arange(first_tick, t1 + 1e-6, step)
    for p in panels:
        d.add(Rect(left, p.y, plot_w, p.h, strokeColor=colors.black, strokeWidth=0.6, fillColor=None))
        for v in _value_ticks(p.lo, p.hi, max(2, int(p.h // 18))):
            yy = float(y_of(p, v))
            if p.lo < v < p.hi:
                d.add(Line(left, yy, left + plot_w, yy, strokeColor=GRID, strokeWidth=0.4))
            d.add(String(left - 3, yy - 2.5, f"{v:g}", fontName=font, fontSize=6.5, textAnchor="end"))
        for t in ticks:
            xx = float(x_of(t))
            d.add(Line(xx, p.y, xx, p.y + p.h, strokeColor=GRID, strokeWidth=0.4))
    for t in ticks:
        d.add(
            String(
                float(x_of(t)),
                bottom - 10,
                fmt_local(float(t), with_date=False),
                fontName=font,
                fontSize=7,
                textAnchor="middle",
            )
        )
    d.add(String(left + plot_w / 2, 3, "local time", fontName=font, fontSize=7, textAnchor="middle"))

    def line(p: _Panel, trend: Trend | None, colour: colors.Color) -> None:
        if trend is None or trend.t.size == 0:
            return
        t, v = _thin(trend)
        # break the line where more than 30 s are missing: gaps are shown, never bridged
        breaks = np.flatnonzero(np.diff(t) > max(30.0, 3 * (t[1] - t[0]) if t.size > 1 else 30.0)) + 1
        for seg_t, seg_v in zip(np.split(t, breaks), np.split(v, breaks)):
            xs, ys = x_of(seg_t), y_of(p, seg_v)
            pts = [float(c) for xy in zip(xs, ys) for c in xy]
            if len(pts) >= 4:
                d.add(PolyLine(pts, strokeColor=colour, strokeWidth=0.9))
            elif len(pts) == 2:
                d.add(Rect(pts[0] - 0.8, pts[1] - 0.8, 1.6, 1.6, fillColor=colour, strokeColor=None))

    line(panels[0], hr, HR_COLOUR)
    for t, s, di, _ in nibp:
        xx = float(x_of(t))
        ys, yd = float(y_of(panels[0], s)), float(y_of(panels[0], di))
        d.add(Line(xx, yd, xx, ys, strokeColor=NIBP_COLOUR, strokeWidth=0.7))
        d.add(Polygon([xx - 3, ys + 4, xx + 3, ys + 4, xx, ys], fillColor=NIBP_COLOUR, strokeColor=None))
        d.add(Polygon([xx - 3, yd - 4, xx + 3, yd - 4, xx, yd], fillColor=NIBP_COLOUR, strokeColor=None))
    line(panels[1], spo2, SPO2_COLOUR)
    line(panels[2], rr, RR_COLOUR)
    line(panels[2], et, ETCO2_COLOUR)

    top_y = panels[0].y + panels[0].h
    # events closer than a label's width share one label ("9-12"), alternating between two rows
    groups: list[list[tuple[float, Marker]]] = []
    for m in sorted((m for m in markers if t0 <= m.t <= t1), key=lambda m: m.t):
        xx = float(x_of(m.t))
        if groups and xx - groups[-1][0][0] < 12:
            groups[-1].append((xx, m))
        else:
            groups.append([(xx, m)])
    last_x = [-1e9, -1e9]
    for group in groups:
        x_first = group[0][0]
        label = str(group[0][1].number) if len(group) == 1 else f"{group[0][1].number}-{group[-1][1].number}"
        width = stringWidth(label, font, 6.5)
        row = 0 if x_first - last_x[0] >= width + 3 else 1 if x_first - last_x[1] >= width + 3 else 0
        last_x[row] = x_first
        for xx, _m in group:
            y_top = top_y + (2 + 8 * row if xx == x_first else 0)
            d.add(Line(xx, bottom, xx, y_top, strokeColor=EVENT_COLOUR, strokeWidth=0.5,
                       strokeDashArray=[2, 2]))
        d.add(String(x_first, top_y + 3 + 8 * row, label, fontName=font, fontSize=6.5, textAnchor="middle",
                     fillColor=EVENT_COLOUR))

    for p in panels:
        tw = stringWidth(p.title, font, 7)
        d.add(Rect(left + 1, p.y + p.h - 10, tw + 4, 9, fillColor=colors.white, strokeColor=None))
        d.add(String(left + 3, p.y + p.h - 8, p.title, fontName=font, fontSize=7, fillColor=colors.black))

    legend = [
        ("HR", HR_COLOUR),
        ("NIBP sys/dia", NIBP_COLOUR),
        ("SpO2", SPO2_COLOUR),
        ("RR", RR_COLOUR),
        ("EtCO2", ETCO2_COLOUR),
        ("event, numbered in the list below", EVENT_COLOUR),
    ]
    lx = left
    for name, colour in legend:
        d.add(Line(lx, height - 5, lx + 12, height - 5, strokeColor=colour, strokeWidth=2))
        d.add(String(lx + 15, height - 8, name, fontName=font, fontSize=7))
        lx += 15 + stringWidth(name, font, 7) + 12
    return d

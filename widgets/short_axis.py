"""A y axis for plots a few tens of pixels high (the review's trend rows and wave strips on a laptop screen).

pyqtgraph's automatic ticks piled three or four values into 30 pixels ("30 20 10" drawn over each other).
:class:`ShortAxis` labels at most two round values within the view (:func:`round_ticks`), and only one, near
the middle (:func:`centre_tick`), when the plot is too short for two texts to stand apart inside it.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics


def round_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """At most two y labels for a short plot: the lowest and highest round values within [lo, hi].

    The step is the largest power of ten (times 1, 2 or 5) that leaves two round values inside (one when
    even the smallest step tried leaves only one); an empty or non-finite range gets no labels.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    base = 10.0 ** math.floor(math.log10(hi - lo))
    first = last = step = 0.0
    for step in (base * 5, base * 2, base, base / 2, base / 5):
        first, last = math.ceil(lo / step) * step, math.floor(hi / step) * step
        if last - first > step / 2:
            break
    if first > last:
        return []
    values = [first] if last - first < step / 2 else [first, last]
    return [(v, f"{round(v, 10):g}") for v in values]


def centre_tick(lo: float, hi: float) -> tuple[float, str] | None:
    """One round value in the middle 40 % of [lo, hi] (the label of a plot too short for
    two), the roundest that lands there; None for an empty or non-finite range."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return None
    span = hi - lo
    base = 10.0 ** math.floor(math.log10(span))
    mid = (lo + hi) / 2
    for step in (base * 5, base * 2, base, base / 2, base / 5, base / 10):
        v = round(mid / step) * step
        if lo + 0.3 * span <= v <= hi - 0.3 * span:
            return v, f"{round(v, 10):g}"
    return mid, f"{mid:.3g}"


class ShortAxis(pg.AxisItem):
    """The y axis of one short plot: :func:`round_ticks` labels, one only when two would touch, none while
    :attr:`labelled` is off (a plot without data)."""

    def __init__(self, *, labelled: bool = False) -> None:
        super().__init__("left")
        self.labelled = labelled

    def set_labelled(self, on: bool) -> None:
        """Label the axis (the strip has data) or not; redrawn either way."""
        self.labelled = on
        self.picture = None  # pyqtgraph's cached axis drawing
        self.update()

    def shown_ticks(self, lo: float, hi: float, pixels: float) -> list[tuple[float, str]]:
        """The labels drawn for the view range [lo, hi] over ``pixels`` of height: the two of
        :func:`round_ticks` when both fit apart and inside the axis, else one round value near the middle."""
        if not self.labelled or not (hi > lo) or pixels <= 0:
            return []
        font = self.style["tickFont"] or self.font()
        text_h = QFontMetrics(font).height()
        # pyqtgraph draws no label whose text leaves the axis' bounds: with a grid those are the plot's own
        # edges, without one it allows 15 px beyond them (AxisItem.boundingRect)
        slack = 0.0 if self.grid is not False else 15.0

        def at(v: float) -> float:
            return (v - lo) / (hi - lo) * pixels

        def inside(v: float) -> bool:
            return text_h / 2 - slack <= at(v) <= pixels - text_h / 2 + slack

        ticks = [t for t in round_ticks(lo, hi) if inside(t[0])]
        if len(ticks) == 2 and at(ticks[1][0]) - at(ticks[0][0]) >= text_h + 2:
            return ticks
        middle = centre_tick(lo, hi)
        return [middle] if middle is not None and inside(middle[0]) else []

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802
        ticks = self.shown_ticks(minVal, maxVal, size)
        return [(max(maxVal - minVal, 1e-9), [v for v, _ in ticks])] if ticks else []

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [f"{round(v * scale, 10):g}" for v in values]

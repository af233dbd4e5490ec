"""What every benchmark module returns, and small helpers to measure and print it.

A benchmark module is ``benchmarks/bench_<name>.py`` exposing::

    def run(quick: bool) -> list[Row]:
        ...

``quick=True`` must finish in well under a minute (CI smoke run); the full run may take a few minutes. Build rows
with :func:`row`, which also records whether a target was met. ``python -m benchmarks`` runs every module in its
own child process (so one module's Qt application, threads or crash cannot disturb another), prints one table and
writes ``docs/benchmarks.md``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One measured figure.

    ``bench`` names the benchmark (its module name without ``bench_``, e.g. ``"monitor"``); ``metric`` says what
    was measured in a few words; ``unit`` is free text (``"ms"``, ``"%"``, ``"x real time"``, ``"rows/s"``);
    ``target`` is the goal as text (``"<= 1.5"``) and ``ok`` whether it was met (``None`` without a target).
    """

    bench: str
    metric: str
    value: float
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


def row(bench: str, metric: str, value: float, unit: str = "", *, at_most: float | None = None,
        at_least: float | None = None, note: str = "") -> Row:
    """A :class:`Row`, judging ``value`` against ``at_most`` / ``at_least`` when given."""
    target, ok = "", None
    if at_most is not None:
        target, ok = f"<= {at_most:g}", value <= at_most
    if at_least is not None:
        target = f"{target}, >= {at_least:g}" if target else f">= {at_least:g}"
        ok = (ok is not False) and value >= at_least
    if isinstance(value, float) and math.isnan(value):
        ok = False if target else None
    return Row(bench, metric, float(value), unit, target, ok, note)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def format_value(value: float) -> str:
    """Three significant figures, no exponent for everyday magnitudes."""
    if math.isnan(value):
        return "n/a"
    if value == 0 or 0.01 <= abs(value) < 1e6:
        digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 0
        return f"{value:,.{digits}f}"
    return f"{value:.3g}"


def table(rows: Iterable[Row], markdown: bool = False) -> str:
    """The rows as an aligned text table, or a Markdown table."""
    header = ("benchmark", "metric", "value", "unit", "target", "met", "note")
    lines = [(r.bench, r.metric, format_value(r.value), r.unit, r.target,
              "" if r.ok is None else ("yes" if r.ok else "NO"), r.note) for r in rows]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{'>' if i == 2 else '<'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line).rstrip() for line in lines]
    return "\n".join(out)

"""One NIBP reading (systolic, diastolic, mean) judged against the blood-pressure rules as ONE condition.

A cuff measurement is one event that yields three numbers. Judging each number on its own made one reading of
186/112 raise two high alarms that each needed an acknowledgement, and told the clinician only half of what
was measured. Here the reading is judged as a whole: :func:`assess` says which rules it breaks (with the
numbers), and :func:`reading_text` / :func:`limit_text` say it in the words a clinician writes, e.g.
``"186/112 (137)"`` and ``"≥ 180/110"``. The engine keeps the one alarm per device that this describes.

Pure functions, no state and no Qt: the rules, limits and baseline are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.alarms.limits import RULES, AlarmLimits, AlarmRule, Condition
from devices import mdc

#: the parts of one reading, in the order clinicians write them (sys/dia (mean))
PARTS: tuple[int, ...] = (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)
#: short part names used in banner text when one part alone broke a limit
PART_NAMES: dict[int, str] = {mdc.NIBP_SYS: "sys", mdc.NIBP_DIA: "dia", mdc.NIBP_MEAN: "mean"}
#: keys of the parts in an alarm's ``values`` (the record): "sbp"/"dbp" as the baseline keys are named
VALUE_KEYS: dict[int, str] = {mdc.NIBP_SYS: "sbp", mdc.NIBP_DIA: "dbp", mdc.NIBP_MEAN: "map"}
#: the rules that watch any part of a NIBP reading, in table order (most urgent first within a part)
NIBP_RULES: tuple[AlarmRule, ...] = tuple(r for r in RULES if r.parameters & set(PARTS))

# evidence of one rule in one reading
VIOLATING, NEUTRAL, CLEAR = "violating", "neutral", "clear"


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule broken by one part of a reading: ``x`` is the value, or for rise rules the rise."""

    rule: AlarmRule
    code: int
    value: float
    x: float
    limit: float
    baseline: float | None


def assess(values: Mapping[int, float], limits: AlarmLimits,
           baseline: Mapping[str, float]) -> tuple[list[Breach], dict[tuple[str, int], str]]:
    """The rules ``values`` (part code -> mmHg) breaks, most urgent first, and the evidence of each rule on
    each part it watches (keyed ``(rule id, part code)``).

    A rule whose part is missing from the reading gives no evidence (absent from the dict): an unmeasured
    diastolic neither confirms nor clears a diastolic alarm. A rise rule without a session baseline no longer
    applies and counts as clear, so it cannot hold an alarm open after the baseline was reset.
    """
    breaches: list[Breach] = []
    evidence: dict[tuple[str, int], str] = {}
    for rule, code in ((r, c) for r in NIBP_RULES for c in PARTS if c in r.parameters):
        if code not in values:
            continue
        value = values[code]
        limit = limits.threshold(rule.id)
        base: float | None = None
        if rule.baseline is not None:
            base = baseline.get(rule.baseline)
            if base is None:
                evidence[rule.id, code] = CLEAR
                continue
            x = value - base
        else:
            x = value
        if rule.violates(x, limit):
            evidence[rule.id, code] = VIOLATING
            breaches.append(Breach(rule, code, value, x, limit, base))
        else:
            evidence[rule.id, code] = CLEAR if rule.clear(x, limit) else NEUTRAL
    breaches.sort(key=lambda b: -int(b.rule.priority))  # stable: table order within one priority
    return breaches, evidence


def _num(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}"


def reading_text(values: Mapping[int, float]) -> str:
    """``"186/112 (137)"`` in whole mmHg as a monitor shows a cuff result (a computed mean of 136.7 is 137; the
    record keeps the exact values); a part the monitor did not send is ``-``, a missing mean is left out."""

    def whole(code: int) -> str:
        v = values.get(code)
        return "-" if v is None else f"{v:.0f}"

    text = f"{whole(mdc.NIBP_SYS)}/{whole(mdc.NIBP_DIA)}"
    return text + (f" ({whole(mdc.NIBP_MEAN)})" if mdc.NIBP_MEAN in values else "")


def limit_text(breaches: list[Breach]) -> str:
    """Which parts broke which limits: ``"≥ 180/110"`` when systolic and diastolic broke the same kind of limit,
    else each named, e.g. ``"sys ≥ 180; dia rise ≥ 25 over 84"``. A part is told once, by its most urgent rule
    (a systolic past 180 is also a rise over baseline; saying so adds words, not information)."""
    shown: dict[int, Breach] = {}
    for b in breaches:  # most urgent first
        shown.setdefault(b.code, b)
    groups: dict[tuple[Condition, str], list[Breach]] = {}
    for b in sorted(shown.values(), key=lambda b: (-int(b.rule.priority), PARTS.index(b.code))):
        groups.setdefault((b.rule.condition, b.rule.operator), []).append(b)
    words: list[str] = []
    for (condition, op), group in groups.items():
        rise = "rise " if condition is Condition.RISE else ""
        codes = [b.code for b in group]
        if codes == [mdc.NIBP_SYS, mdc.NIBP_DIA]:
            limits = "/".join(_num(b.limit) for b in group)
            over = (" over " + "/".join(_num(b.baseline) for b in group if b.baseline is not None)) if rise else ""
            words.append(f"{rise}{op} {limits}{over}")
            continue
        for b in group:
            over = f" over {_num(b.baseline)}" if b.baseline is not None else ""
            words.append(f"{PART_NAMES[b.code]} {rise}{op} {_num(b.limit)}{over}")
    return "; ".join(words)


def record_values(values: Mapping[int, float], breaches: list[Breach],
                  baseline: Mapping[str, float]) -> dict[str, float]:
    """What the record keeps of a reading: each part (``sbp``, ``dbp``, ``map``), the session baseline, and the
    threshold of every rule the reading broke (``limit_sbp_high``: 180.0), so the entry alone says what
    happened."""
    out = {VALUE_KEYS[code]: float(values[code]) for code in PARTS if code in values}
    out.update({f"baseline_{name}": float(v) for name, v in baseline.items()})
    out.update({f"limit_{b.rule.id}": float(b.limit) for b in breaches})
    return out

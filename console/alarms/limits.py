"""The physiological alarm rules (one table) and the site-configurable limits from a protocol's JSON.

:data:`RULES` is the one place a physiological alarm rule is defined: the parameter(s) it watches (MDC codes),
the condition (above or below a limit, or a rise over the session baseline), the default threshold, the sane
range a template may set, the priority, the delay, the hysteresis and the message. The engine iterates it, the
protocol loader fills a template's missing limits from it, and a protocol file overrides a threshold by the
rule's id (``"alarm_limits": {"sbp_high": 170}``). Adding a rule is one entry here (docs/extending.md).

A clinic sets its own stop/hold limits (CLINICAL.md: no guideline fixes them), stores them in a protocol
template with a version string, and that version is written into every alarm record so an auditor can see
which rule applied at the time. :meth:`AlarmLimits.from_dict` accepts exactly the documented keys and reports
every problem at once in plain words, so a technician fixing a template sees the whole list, not one error per
try.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devices import mdc
from devices.model import AlarmPriority


class LimitsError(ValueError):
    """The limits dictionary is unusable; ``problems`` lists every reason in plain words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid alarm limits: " + "; ".join(self.problems))


class Condition(enum.Enum):
    """When a rule's condition holds, given a value ``x`` and the threshold."""

    ABOVE = "above"  # x beyond the threshold upwards
    BELOW = "below"  # x beyond the threshold downwards
    RISE = "rise"  # x minus the session baseline at or above the threshold


#: message templates; {label} {value} {unit} {op} {limit} always, {rise} {baseline} for rise rules
LIMIT_MESSAGE = "{label} {value} {op} {limit} {unit}"
RISE_MESSAGE = "{label} {value} {unit}: +{rise} over baseline {baseline} (limit +{limit})"


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """One physiological alarm rule: what it watches, when it holds and clears, and how it is told.

    ``delay_s`` is the alarm condition delay for continuous values; ``None`` means the template's
    ``persistence_s``. A NIBP result is one validated measurement and alarms at once whatever the delay.
    ``hysteresis`` is how far back inside the threshold a value must be for the condition to clear.
    ``below`` names a rule whose threshold this one's must stay under, with the reason, checked in templates.
    """

    id: str
    parameters: frozenset[int]
    condition: Condition
    default: float
    sane: tuple[float, float]
    unit: str
    priority: AlarmPriority
    hysteresis: float
    inclusive: bool = False  # >= / <= rather than > / <
    baseline: str | None = None  # rise rules: "sbp" or "dbp", the session baseline they compare against
    delay_s: float | None = None
    message: str = LIMIT_MESSAGE
    below: tuple[str, str] | None = None

    @property
    def above(self) -> bool:
        """True when the alarm is for values going up (high and rise rules)."""
        return self.condition is not Condition.BELOW

    @property
    def operator(self) -> str:
        """The comparison as shown in messages: ``≥``, ``>``, ``≤`` or ``<``."""
        if self.above:
            return "≥" if self.inclusive else ">"
        return "≤" if self.inclusive else "<"

    def violates(self, x: float, limit: float) -> bool:
        """True when ``x`` (a value, or for rise rules the rise over baseline) is beyond ``limit``."""
        if self.above:
            return x >= limit if self.inclusive else x > limit
        return x <= limit if self.inclusive else x < limit

    def clear(self, x: float, limit: float) -> bool:
        """True when ``x`` is back inside ``limit`` by at least the hysteresis."""
        return x <= limit - self.hysteresis if self.above else x >= limit + self.hysteresis


_SYS = frozenset({mdc.NIBP_SYS, mdc.ABP_SYS})
_DIA = frozenset({mdc.NIBP_DIA, mdc.ABP_DIA})
_HR = frozenset({mdc.HEART_RATE, mdc.PULSE_RATE_OXIM, mdc.PULSE_RATE})
_RR = frozenset({mdc.RESP_RATE, mdc.AWAY_RESP_RATE})
_SPO2 = frozenset({mdc.SPO2})
_ETCO2 = frozenset({mdc.ETCO2})
_HIGH, _MEDIUM = AlarmPriority.HIGH, AlarmPriority.MEDIUM

#: The physiological rules (defaults: CLINICAL.md). The sane ranges catch typos in a template (a "spo2_low" of
#: 920), not clinical judgement. Order is the order of a template's keys.
RULES: tuple[AlarmRule, ...] = (
    AlarmRule("sbp_high", _SYS, Condition.ABOVE, 180.0, (60, 300), "mmHg", _HIGH, 5, inclusive=True),
    AlarmRule("dbp_high", _DIA, Condition.ABOVE, 110.0, (30, 200), "mmHg", _HIGH, 5, inclusive=True,
              below=("sbp_high", "the diastolic limit must be below the systolic one")),
    AlarmRule("sbp_rise", _SYS, Condition.RISE, 40.0, (1, 150), "mmHg", _MEDIUM, 5, inclusive=True,
              baseline="sbp", message=RISE_MESSAGE),
    AlarmRule("dbp_rise", _DIA, Condition.RISE, 25.0, (1, 100), "mmHg", _MEDIUM, 5, inclusive=True,
              baseline="dbp", message=RISE_MESSAGE),
    AlarmRule("spo2_low", _SPO2, Condition.BELOW, 92.0, (50, 100), "%", _MEDIUM, 2),
    AlarmRule("spo2_critical", _SPO2, Condition.BELOW, 88.0, (50, 100), "%", _HIGH, 2,
              below=("spo2_low", "the critical SpO2 limit is the lower, more urgent one")),
    AlarmRule("hr_high", _HR, Condition.ABOVE, 120.0, (30, 300), "/min", _MEDIUM, 5),
    AlarmRule("hr_low", _HR, Condition.BELOW, 45.0, (10, 200), "/min", _MEDIUM, 5,
              below=("hr_high", "the low heart-rate limit must be below the high one")),
    AlarmRule("rr_low", _RR, Condition.BELOW, 8.0, (1, 60), "/min", _MEDIUM, 2),
    AlarmRule("etco2_low", _ETCO2, Condition.BELOW, 20.0, (1, 150), "mmHg", _MEDIUM, 3,
              below=("etco2_high", "the low EtCO2 limit must be below the high one")),
    AlarmRule("etco2_high", _ETCO2, Condition.ABOVE, 60.0, (1, 150), "mmHg", _MEDIUM, 3),
)
RULES_BY_ID: dict[str, AlarmRule] = {r.id: r for r in RULES}

#: settings that are not rules: key -> (default, unit, lowest sane, highest sane)
SETTINGS: dict[str, tuple[float, str, float, float]] = {
    "persistence_s": (10.0, "s", 0, 300),  # alarm condition delay for continuous values
    "stale_s": (10.0, "s", 1, 600),  # silence after which a device's data counts as stale
}

#: The keys a template's limits dict holds, in documentation order: every rule's id, then the settings.
LIMIT_KEYS: tuple[str, ...] = tuple(r.id for r in RULES) + tuple(SETTINGS)


def default_limits() -> dict[str, float]:
    """Every key with its default value: what a template that overrides nothing gets."""
    return {**{r.id: r.default for r in RULES}, **{k: v[0] for k, v in SETTINGS.items()}}


def _ranges() -> dict[str, tuple[str, float, float]]:
    ranges = {r.id: (r.unit, float(r.sane[0]), float(r.sane[1])) for r in RULES}
    ranges.update({k: (unit, lo, hi) for k, (_, unit, lo, hi) in SETTINGS.items()})
    return ranges


class AlarmLimits:
    """The thresholds the engine evaluates (one per rule), the two timing settings, and the protocol version
    recorded with every alarm. Immutable. ``limits.threshold("spo2_low")`` or ``limits.spo2_low`` reads one.

    ``AlarmLimits()`` holds every rule's default; keyword arguments override single values without checks
    (tests); templates go through :meth:`from_dict`, which checks everything.
    """

    __slots__ = ("_values", "protocol_version")
    _values: dict[str, float]
    #: the version tag of the template the limits come from, written into every alarm record
    protocol_version: str

    def __init__(self, protocol_version: str = "", **values: float) -> None:
        unknown = sorted(set(values) - set(LIMIT_KEYS))
        if unknown:
            raise TypeError(f"unknown alarm limit(s): {', '.join(unknown)}")
        merged = default_limits()
        merged.update({k: float(v) for k, v in values.items()})
        object.__setattr__(self, "_values", merged)
        object.__setattr__(self, "protocol_version", protocol_version)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("AlarmLimits is immutable; build a new one")

    def __getattr__(self, name: str) -> float:
        # only reached for names that are not slots: the rule ids and settings
        try:
            return float(object.__getattribute__(self, "_values")[name])
        except KeyError:
            raise AttributeError(f"AlarmLimits has no limit {name!r}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AlarmLimits):
            return NotImplemented
        return self.to_dict() == other.to_dict() and self.protocol_version == other.protocol_version

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.to_dict().items())), self.protocol_version))

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, float]]]:
        # copy, deepcopy and pickle rebuild through __init__ (the slots cannot be set after construction)
        return (_rebuild, (self.protocol_version, self.to_dict()))

    def __repr__(self) -> str:
        return f"AlarmLimits({self.to_dict()!r}, protocol_version={self.protocol_version!r})"

    def threshold(self, rule_id: str) -> float:
        """The threshold of rule ``rule_id`` (a KeyError names an unknown rule)."""
        values: dict[str, float] = object.__getattribute__(self, "_values")
        return values[rule_id]

    @property
    def persistence_s(self) -> float:
        """Alarm condition delay for continuous values (seconds)."""
        return self.threshold("persistence_s")

    @property
    def stale_s(self) -> float:
        """Silence after which a device's data counts as stale (seconds)."""
        return self.threshold("stale_s")

    def delay_for(self, rule: AlarmRule) -> float:
        """The condition delay of ``rule`` for continuous values."""
        return self.persistence_s if rule.delay_s is None else rule.delay_s

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], protocol_version: str = "") -> AlarmLimits:
        """Build limits from a template's dict, which must hold exactly the documented keys.

        Raises :class:`LimitsError` listing every missing, unknown, non-numeric, out-of-range or inconsistent
        entry. ``protocol_version`` is the version string of the template the limits come from. A template
        file may leave keys out: the protocol loader fills them with :func:`default_limits` first.
        """
        if not isinstance(data, Mapping):
            raise LimitsError([f"expected a dictionary of limits, got {type(data).__name__}"])
        ranges = _ranges()
        problems: list[str] = []
        missing = [k for k in LIMIT_KEYS if k not in data]
        if missing:
            problems.append("missing: " + ", ".join(missing))
        unknown = sorted(str(k) for k in data if k not in ranges)
        if unknown:
            problems.append("unknown key(s): " + ", ".join(unknown) + " (expected exactly: "
                            + ", ".join(LIMIT_KEYS) + ")")
        values: dict[str, float] = {}
        for key in LIMIT_KEYS:
            unit, lo, hi = ranges[key]
            if key not in data:
                continue
            raw = data[key]
            # bool is an int subclass; "true" as a limit is always a template mistake
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                problems.append(f"{key} must be a number, got {raw!r}")
                continue
            value = float(raw)
            if not math.isfinite(value):
                problems.append(f"{key} must be a finite number, got {raw!r}")
            elif not lo <= value <= hi:
                problems.append(f"{key} = {raw:g} {unit} is outside the sane range {lo:g}..{hi:g} {unit}")
            else:
                values[key] = value
        if not isinstance(protocol_version, str):
            problems.append(f"protocol version must be a string, got {protocol_version!r}")
        for rule in RULES:
            if rule.below is None:
                continue
            high_key, why = rule.below
            if rule.id in values and high_key in values and values[rule.id] >= values[high_key]:
                problems.append(f"{rule.id} ({values[rule.id]:g}) must be below {high_key} "
                                f"({values[high_key]:g}): {why}")
        if problems:
            raise LimitsError(problems)
        return cls(protocol_version, **values)

    def to_dict(self) -> dict[str, float]:
        """The limits as the template's dict (exactly the documented keys, no protocol version)."""
        return {k: self.threshold(k) for k in LIMIT_KEYS}


def _rebuild(protocol_version: str, values: dict[str, float]) -> AlarmLimits:
    return AlarmLimits(protocol_version, **values)

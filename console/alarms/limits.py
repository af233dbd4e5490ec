"""Site-configurable alarm limits, validated from the protocol template's JSON.

A clinic sets its own stop/hold limits (CLINICAL.md: no guideline fixes them), stores them in a protocol
template with a version string, and that version is written into every alarm record so an auditor can see
which rule applied at the time. :meth:`AlarmLimits.from_dict` accepts exactly the documented keys and reports
every problem at once in plain words, so a technician fixing a template sees the whole list, not one error per
try.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


class LimitsError(ValueError):
    """The limits dictionary is unusable; ``problems`` lists every reason in plain words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid alarm limits: " + "; ".join(self.problems))


#: key -> (unit shown in messages, lowest sane value, highest sane value).
#: The sane ranges catch typos (a "spo2_low" of 920, a "persistence_s" of -1), not clinical judgement.
_FIELDS: dict[str, tuple[str, float, float]] = {
    "sbp_high": ("mmHg", 60, 300),
    "dbp_high": ("mmHg", 30, 200),
    "sbp_rise": ("mmHg", 1, 150),
    "dbp_rise": ("mmHg", 1, 100),
    "spo2_low": ("%", 50, 100),
    "spo2_critical": ("%", 50, 100),
    "hr_high": ("/min", 30, 300),
    "hr_low": ("/min", 10, 200),
    "rr_low": ("/min", 1, 60),
    "etco2_low": ("mmHg", 1, 150),
    "etco2_high": ("mmHg", 1, 150),
    "persistence_s": ("s", 0, 300),
    "stale_s": ("s", 1, 600),
}


@dataclass(frozen=True, slots=True)
class AlarmLimits:
    """The limits the engine evaluates, plus the protocol version recorded with every alarm.

    Thresholds (CLINICAL.md defaults): SBP >= ``sbp_high`` or DBP >= ``dbp_high`` (high priority); a rise over
    the session baseline of >= ``sbp_rise`` / ``dbp_rise`` (medium); SpO2 < ``spo2_low`` (medium) and
    < ``spo2_critical`` (high); HR > ``hr_high`` or < ``hr_low`` (medium); RR < ``rr_low`` (medium); EtCO2 <
    ``etco2_low`` or > ``etco2_high`` (medium). ``persistence_s`` is the alarm condition delay for continuous
    values; ``stale_s`` the silence after which a device's data counts as stale.
    """

    sbp_high: float = 180.0
    dbp_high: float = 110.0
    sbp_rise: float = 40.0
    dbp_rise: float = 25.0
    spo2_low: float = 92.0
    spo2_critical: float = 88.0
    hr_high: float = 120.0
    hr_low: float = 45.0
    rr_low: float = 8.0
    etco2_low: float = 20.0
    etco2_high: float = 60.0
    persistence_s: float = 10.0
    stale_s: float = 10.0
    protocol_version: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], protocol_version: str = "") -> AlarmLimits:
        """Build limits from a template's dict, which must hold exactly the documented keys.

        Raises :class:`LimitsError` listing every missing, unknown, non-numeric, out-of-range or inconsistent
        entry. ``protocol_version`` is the version string of the template the limits come from.
        """
        if not isinstance(data, Mapping):
            raise LimitsError([f"expected a dictionary of limits, got {type(data).__name__}"])
        problems: list[str] = []
        missing = [k for k in _FIELDS if k not in data]
        if missing:
            problems.append("missing: " + ", ".join(missing))
        unknown = sorted(str(k) for k in data if k not in _FIELDS)
        if unknown:
            problems.append("unknown key(s): " + ", ".join(unknown) + " (expected exactly: "
                            + ", ".join(_FIELDS) + ")")
        values: dict[str, float] = {}
        for key, (unit, lo, hi) in _FIELDS.items():
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

        def pair(low_key: str, high_key: str, what: str) -> None:
            if low_key in values and high_key in values and values[low_key] >= values[high_key]:
                problems.append(f"{low_key} ({values[low_key]:g}) must be below {high_key} "
                                f"({values[high_key]:g}): {what}")

        pair("spo2_critical", "spo2_low", "the critical SpO2 limit is the lower, more urgent one")
        pair("hr_low", "hr_high", "the low heart-rate limit must be below the high one")
        pair("etco2_low", "etco2_high", "the low EtCO2 limit must be below the high one")
        pair("dbp_high", "sbp_high", "the diastolic limit must be below the systolic one")
        if problems:
            raise LimitsError(problems)
        return cls(**values, protocol_version=protocol_version)

    def to_dict(self) -> dict[str, float]:
        """The limits as the template's dict (exactly the documented keys, no protocol version)."""
        d = asdict(self)
        d.pop("protocol_version")
        return d


#: The keys a template's limits dict must hold, in documentation order.
LIMIT_KEYS: tuple[str, ...] = tuple(_FIELDS)

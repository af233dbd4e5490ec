"""Protocol templates: route, dose rules, schedule, hold limits and alarm limits, with site overrides.

A template is a JSON file (``resources/protocols/*.json``, format ``chairside-protocol/1``, described in
``resources/README.md``). A site file (format ``chairside-site/1``) can override any number of any template;
the effective template then carries a version tag such as ``iv-ketamine-0.5@1+site-3`` that the session records,
so an auditor sees which rule applied at the time.

The ``alarm_limits`` section overrides thresholds of the alarm rule table
(:data:`console.alarms.limits.RULES`) by rule id; a key it leaves out takes the rule's default, and the
effective template always holds every key in :data:`ALARM_LIMIT_KEYS`, so a new rule needs no edit of any
template.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.alarms.limits import LIMIT_KEYS, default_limits
from console.clinical._common import (ClinicalDataError, is_int, is_number, load_json, require,
                                      resource_dir)

PROTOCOL_FORMAT = "chairside-protocol/1"
SITE_FORMAT = "chairside-site/1"

#: The alarm-limit keys of an effective template: one per alarm rule, then the timing settings.
ALARM_LIMIT_KEYS: tuple[str, ...] = LIMIT_KEYS
DOSE_MODES = ("infusion", "bolus", "devices")
#: schedule time points other than minutes after the start
AT_TOKENS = ("baseline", "end", "discharge")
#: plausible adult weights; outside this the number is much more likely a typing error than a patient
WEIGHT_RANGE_KG = (20.0, 300.0)


@dataclass(frozen=True, slots=True)
class DosePlan:
    """What to give: computed from the template and the patient's weight."""

    dose_mg: float
    mg_per_kg: float | None = None
    weight_kg: float | None = None
    duration_min: float | None = None
    concentration_mg_per_ml: float | None = None
    volume_ml: float | None = None
    rate_ml_h: float | None = None
    devices: int | None = None
    device_mg: float | None = None
    device_interval_min: float | None = None

    def summary(self) -> str:
        """One line for the screen: ``"35.0 mg (0.5 mg/kg x 70 kg) over 40 min at 52.5 mL/h"``."""
        if self.devices is not None:
            return (f"{self.dose_mg:g} mg = {self.devices} devices of {self.device_mg:g} mg, "
                    f"one every {self.device_interval_min:g} min")
        text = f"{self.dose_mg:.1f} mg"
        if self.mg_per_kg is not None and self.weight_kg is not None:
            text += f" ({self.mg_per_kg:g} mg/kg x {self.weight_kg:g} kg)"
        if self.volume_ml is not None:
            text += f" = {self.volume_ml:.1f} mL at {self.concentration_mg_per_ml:g} mg/mL"
        if self.duration_min is not None and self.rate_ml_h is not None:
            text += f" over {self.duration_min:g} min at {self.rate_ml_h:.1f} mL/h"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class HoldCheck:
    """Result of the pre-dose blood-pressure check."""

    hold: bool
    sbp_max: float
    dbp_max: float
    message: str


@dataclass(frozen=True, slots=True)
class Protocol:
    """An effective protocol template (built-in, possibly with a site's overrides applied)."""

    id: str
    version: int
    title: str
    drug: str
    route: str
    dose: dict[str, Any]
    schedule: dict[str, Any]
    hold_limits: dict[str, Any]
    alarm_limits: dict[str, float]
    discharge: dict[str, float] = field(default_factory=dict)
    site_version: int | None = None
    site_name: str | None = None
    source: str = ""

    @property
    def effective_version(self) -> str:
        """``"1"``, or ``"1+site-3"`` when a site file changed it."""
        return str(self.version) if self.site_version is None else f"{self.version}+site-{self.site_version}"

    @property
    def version_tag(self) -> str:
        """``"iv-ketamine-0.5@1+site-3"``: what a session records as the rule that applied."""
        return f"{self.id}@{self.effective_version}"

    @property
    def mode(self) -> str:
        return self.dose["mode"]

    @property
    def uses_devices(self) -> bool:
        """True for nasal-spray protocols dosed in devices (esketamine)."""
        return self.mode == "devices"

    def to_dict(self) -> dict[str, Any]:
        """The effective template as stored with a session."""
        return {
            "format": PROTOCOL_FORMAT, "id": self.id, "version": self.version, "title": self.title,
            "drug": self.drug, "route": self.route, "dose": copy.deepcopy(self.dose),
            "schedule": copy.deepcopy(self.schedule), "hold_limits": copy.deepcopy(self.hold_limits),
            "alarm_limits": dict(self.alarm_limits), "discharge": dict(self.discharge),
            "effective_version": self.effective_version, "version_tag": self.version_tag,
        }

    # -- dose ------------------------------------------------------------------------------------------------
    def plan(self, weight_kg: float | None = None, *, mg_per_kg: float | None = None,
             concentration_mg_per_ml: float | None = None, duration_min: float | None = None) -> DosePlan:
        """The dose for this patient; ``ValueError`` with a plain message for a missing or implausible value."""
        d = self.dose
        if self.mode == "devices":
            return DosePlan(float(d["dose_mg"]), devices=device_count(d["dose_mg"], d["device_mg"]),
                            device_mg=float(d["device_mg"]), device_interval_min=float(d["device_interval_min"]))
        weight = check_weight(weight_kg)
        rate = float(d["mg_per_kg"]) if mg_per_kg is None else _positive(mg_per_kg, "dose (mg/kg)")
        lo, hi = d.get("min_mg_per_kg", rate), d.get("max_mg_per_kg", rate)
        if not lo - 1e-9 <= rate <= hi + 1e-9:
            raise ValueError(f"{rate:g} mg/kg is outside this protocol's range {lo:g} to {hi:g} mg/kg")
        dose = dose_mg(weight, rate)
        conc = (d.get("concentration_mg_per_ml") if concentration_mg_per_ml is None
                else _positive(concentration_mg_per_ml, "concentration (mg/mL)"))
        volume = round(dose / conc, 2) if conc else None
        if self.mode == "bolus":
            return DosePlan(dose, rate, weight, concentration_mg_per_ml=conc, volume_ml=volume)
        minutes = float(d["duration_min"]) if duration_min is None else _positive(duration_min, "duration (min)")
        pump = pump_rate_ml_h(dose, conc, minutes) if conc else None
        return DosePlan(dose, rate, weight, minutes, conc, volume, pump)

    # -- hold limits -----------------------------------------------------------------------------------------
    def hold_limits_for(self, age_years: float | None) -> tuple[float, float]:
        """(systolic max, diastolic max) of the pre-dose BP for a patient of this age (``None`` = unknown)."""
        sbp, dbp = self.hold_limits["sbp_max"], self.hold_limits["dbp_max"]
        if age_years is not None:
            for rule in self.hold_limits.get("age_rules", []):
                if age_years >= rule["min_age"]:
                    sbp, dbp = rule["sbp_max"], rule["dbp_max"]
        return float(sbp), float(dbp)

    def check_predose_bp(self, sbp: float | None, dbp: float | None,
                         age_years: float | None = None) -> HoldCheck:
        """Is the pre-dose BP above the hold limit? A hold needs an override reason before dosing."""
        smax, dmax = self.hold_limits_for(age_years)
        limit = f"{smax:g}/{dmax:g}"
        if sbp is None or dbp is None:
            return HoldCheck(True, smax, dmax, f"No pre-dose blood pressure: take one before dosing "
                                                f"(hold limit {limit})")
        if sbp > smax or dbp > dmax:
            return HoldCheck(True, smax, dmax, f"Pre-dose BP {sbp:g}/{dbp:g} is above the hold limit {limit}: "
                                                "record a reason to proceed")
        return HoldCheck(False, smax, dmax, f"Pre-dose BP {sbp:g}/{dbp:g} is within the hold limit {limit}")


# -- dose arithmetic ---------------------------------------------------------------------------------------------
def _positive(value: Any, what: str) -> float:
    if not is_number(value) or value <= 0 or math.isinf(value):
        raise ValueError(f"{what} must be a number above zero (got {value!r})")
    return float(value)


def check_weight(weight_kg: Any) -> float:
    """The weight as a float, or ``ValueError`` for a missing or implausible one."""
    if weight_kg is None or weight_kg == "":
        raise ValueError("weight (kg) is needed to calculate the dose")
    w = _positive(weight_kg, "weight (kg)")
    lo, hi = WEIGHT_RANGE_KG
    if not lo <= w <= hi:
        raise ValueError(f"weight {w:g} kg is outside {lo:g} to {hi:g} kg: check the number")
    return w


def dose_mg(weight_kg: float, mg_per_kg: float) -> float:
    """mg/kg x weight, rounded to 0.1 mg (what a pump or syringe can be set to)."""
    return round(_positive(mg_per_kg, "dose (mg/kg)") * _positive(weight_kg, "weight (kg)"), 1)


def pump_rate_ml_h(dose: float, concentration_mg_per_ml: float, duration_min: float) -> float:
    """Pump rate in mL/h to give ``dose`` mg at ``concentration`` mg/mL over ``duration_min`` minutes."""
    volume = _positive(dose, "dose (mg)") / _positive(concentration_mg_per_ml, "concentration (mg/mL)")
    return round(volume / (_positive(duration_min, "duration (min)") / 60.0), 1)


def device_count(dose: float, device_mg: float = 28.0) -> int:
    """Number of nasal devices for a dose; ``ValueError`` when the dose is not a whole number of devices."""
    n = _positive(dose, "dose (mg)") / _positive(device_mg, "device strength (mg)")
    if abs(n - round(n)) > 1e-9:
        raise ValueError(f"{dose:g} mg is not a whole number of {device_mg:g} mg devices")
    return int(round(n))


# -- parsing -----------------------------------------------------------------------------------------------------
def _number(d: Mapping[str, Any], key: str, where: str, *, optional: bool = False, positive: bool = True) -> None:
    if key not in d and optional:
        return
    v = d.get(key)
    require(is_number(v), where, f"'{key}' must be a number")
    if positive:
        require(v > 0, where, f"'{key}' must be above zero")


def _check_at(at: Any, where: str) -> None:
    require(isinstance(at, list) and len(at) > 0, where, "'at' must be a non-empty list")
    for a in at:
        require(a in AT_TOKENS or (is_number(a) and a > 0), where,
                f"time point {a!r} must be minutes after the start or one of {', '.join(AT_TOKENS)}")


def parse_protocol(data: Any, where: str = "protocol") -> Protocol:
    """Build and validate a :class:`Protocol`; ``ClinicalDataError`` names ``where`` and the faulty field."""
    require(isinstance(data, dict), where, "the file must hold one JSON object")
    require(data.get("format") == PROTOCOL_FORMAT, where,
            f"'format' must be {PROTOCOL_FORMAT!r} (found {data.get('format')!r})")
    for key in ("id", "title", "drug", "route"):
        require(isinstance(data.get(key), str) and data[key].strip() != "", where, f"'{key}' must be non-empty text")
    require(is_int(data.get("version")) and data["version"] >= 1, where, "'version' must be a whole number >= 1")

    dose = data.get("dose")
    w = f"{where} dose"
    require(isinstance(dose, dict), w, "must be an object")
    require(dose.get("mode") in DOSE_MODES, w, f"'mode' must be one of {', '.join(DOSE_MODES)}")
    if dose["mode"] == "devices":
        for key in ("dose_mg", "device_mg", "device_interval_min"):
            _number(dose, key, w)
        try:
            device_count(dose["dose_mg"], dose["device_mg"])
        except ValueError as exc:
            raise ClinicalDataError(f"{w}: {exc}") from None
    else:
        _number(dose, "mg_per_kg", w)
        _number(dose, "min_mg_per_kg", w, optional=True)
        _number(dose, "max_mg_per_kg", w, optional=True)
        _number(dose, "concentration_mg_per_ml", w, optional=dose["mode"] == "bolus")
        if dose["mode"] == "infusion":
            _number(dose, "duration_min", w)
        lo, hi = dose.get("min_mg_per_kg", dose["mg_per_kg"]), dose.get("max_mg_per_kg", dose["mg_per_kg"])
        require(lo <= dose["mg_per_kg"] <= hi, w, "'mg_per_kg' must lie between 'min_mg_per_kg' and 'max_mg_per_kg'")

    sched = data.get("schedule")
    w = f"{where} schedule"
    require(isinstance(sched, dict), w, "must be an object")
    _number(sched, "grace_min", w, positive=False)
    _number(sched, "early_min", w, positive=False)
    bp = sched.get("bp")
    require(isinstance(bp, dict), w, "'bp' must be an object")
    _check_at(bp.get("at"), f"{w} bp")
    _number(bp, "every_min", f"{w} bp", optional=True)
    _number(bp, "after_end_min", f"{w} bp", optional=True, positive=False)
    obs = sched.get("observations", [])
    require(isinstance(obs, list), w, "'observations' must be a list")
    for n, o in enumerate(obs, start=1):
        require(isinstance(o, dict) and isinstance(o.get("scale"), str), f"{w} observation {n}",
                "needs a 'scale' id")
        _check_at(o.get("at"), f"{w} observation {n}")
    mon = sched.get("monitoring")
    require(isinstance(mon, dict) and mon.get("from") in ("start", "end"), w,
            "'monitoring' needs 'from' ('start' or 'end') and 'min'")
    _number(mon, "min", f"{w} monitoring", positive=False)

    hold = data.get("hold_limits")
    w = f"{where} hold_limits"
    require(isinstance(hold, dict), w, "must be an object")
    _number(hold, "sbp_max", w)
    _number(hold, "dbp_max", w)
    rules = hold.get("age_rules", [])
    require(isinstance(rules, list), w, "'age_rules' must be a list")
    for n, r in enumerate(rules, start=1):
        require(isinstance(r, dict), f"{w} age rule {n}", "must be an object")
        for key in ("min_age", "sbp_max", "dbp_max"):
            _number(r, key, f"{w} age rule {n}")

    overrides = data.get("alarm_limits", {})
    w = f"{where} alarm_limits"
    require(isinstance(overrides, dict), w, "must be an object")
    extra = [k for k in overrides if k not in ALARM_LIMIT_KEYS]
    require(not extra, w, f"unknown keys: {', '.join(extra)}")
    alarms = {**default_limits(), **overrides}  # a rule the template does not mention keeps its default
    for k in ALARM_LIMIT_KEYS:
        _number(alarms, k, w)
    require(alarms["spo2_critical"] <= alarms["spo2_low"], w, "'spo2_critical' must not be above 'spo2_low'")
    require(alarms["hr_low"] < alarms["hr_high"], w, "'hr_low' must be below 'hr_high'")
    require(alarms["etco2_low"] < alarms["etco2_high"], w, "'etco2_low' must be below 'etco2_high'")

    disch = data.get("discharge", {})
    require(isinstance(disch, dict), f"{where} discharge", "must be an object")
    for k in disch:
        _number(disch, k, f"{where} discharge")

    return Protocol(data["id"], data["version"], data["title"].strip(), data["drug"], data["route"],
                    copy.deepcopy(dose), copy.deepcopy(sched), copy.deepcopy(hold), dict(alarms), dict(disch),
                    source=where)


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate one template file."""
    return parse_protocol(load_json(path), str(path))


def _merge_numbers(base: dict[str, Any], over: Mapping[str, Any], where: str) -> None:
    """Overlay ``over`` onto ``base``: every leaf must replace an existing number with a number."""
    require(isinstance(over, Mapping), where, "must be an object")
    for key, value in over.items():
        w = f"{where}.{key}"
        require(key in base, w, "is not a setting of this template")
        if isinstance(base[key], dict):
            _merge_numbers(base[key], value, w)
        elif isinstance(base[key], list) and all(isinstance(x, dict) for x in base[key]):
            # lists of objects (age rules) are overridden by position: {"0": {"sbp_max": 160}}
            require(isinstance(value, Mapping), w, "override list entries by position, e.g. {\"0\": {...}}")
            for idx, sub in value.items():
                require(str(idx).isdigit() and int(idx) < len(base[key]), f"{w}[{idx}]", "no such entry")
                _merge_numbers(base[key][int(idx)], sub, f"{w}[{idx}]")
        else:
            require(is_number(base[key]), w, "only numbers can be overridden by a site")
            require(is_number(value), w, f"must be a number (got {value!r})")
            base[key] = value


def apply_site(protocol: Protocol, overrides: Mapping[str, Any], site_version: int,
               site_name: str | None = None, where: str = "site") -> Protocol:
    """The protocol with a site's numeric overrides applied, re-validated, tagged ``+site-N``."""
    raw = protocol.to_dict()
    for key in ("effective_version", "version_tag"):
        raw.pop(key)
    _merge_numbers(raw, overrides, f"{where} {protocol.id}")
    p = parse_protocol(raw, f"{where} {protocol.id}")
    return Protocol(p.id, p.version, p.title, p.drug, p.route, p.dose, p.schedule, p.hold_limits,
                    p.alarm_limits, p.discharge, site_version, site_name, where)


class ProtocolLibrary:
    """Protocol templates available at a site: built-in templates with the site file's overrides applied."""

    def __init__(self, protocols: Iterable[Protocol] = ()) -> None:
        self._protocols: dict[str, Protocol] = {p.id: p for p in protocols}

    @classmethod
    def builtin(cls) -> ProtocolLibrary:
        return cls(load_protocol_file(p) for p in sorted(resource_dir("protocols").glob("*.json")))

    @classmethod
    def for_site(cls, site_file: str | Path | None = None, extra_dir: str | Path | None = None) -> ProtocolLibrary:
        """Built-in templates, plus templates in ``extra_dir``, with ``site_file`` overrides applied."""
        lib = cls.builtin()
        if extra_dir is not None:
            for p in sorted(Path(extra_dir).glob("*.json")):
                lib.add(load_protocol_file(p))
        if site_file is not None:
            lib.apply_site_file(site_file)
        return lib

    def add(self, protocol: Protocol) -> None:
        self._protocols[protocol.id] = protocol

    def apply_site_file(self, path: str | Path) -> None:
        """Apply a ``chairside-site/1`` file: ``{"version": 3, "overrides": {"<id>" or "*": {...}}}``."""
        data = load_json(path)
        where = str(path)
        require(isinstance(data, dict) and data.get("format") == SITE_FORMAT, where,
                f"'format' must be {SITE_FORMAT!r}")
        require(is_int(data.get("version")) and data["version"] >= 1, where, "'version' must be a whole number >= 1")
        overrides = data.get("overrides", {})
        require(isinstance(overrides, dict), where, "'overrides' must map a template id (or '*') to settings")
        unknown = [k for k in overrides if k != "*" and k not in self._protocols]
        require(not unknown, where, f"overrides for unknown templates: {', '.join(unknown)}")
        name = data.get("site")
        for pid, proto in list(self._protocols.items()):
            merged: dict[str, Any] = {}
            for key in ("*", pid):
                if key in overrides:
                    _deep_update(merged, overrides[key])
            if merged:
                self._protocols[pid] = apply_site(proto, merged, data["version"], name, where)

    def get(self, protocol_id: str) -> Protocol:
        try:
            return self._protocols[protocol_id]
        except KeyError:
            raise KeyError(f"no protocol {protocol_id!r} (available: {', '.join(sorted(self._protocols))})") from None

    def ids(self) -> list[str]:
        return sorted(self._protocols)

    def __iter__(self):
        return iter(sorted(self._protocols.values(), key=lambda p: p.title))

    def __contains__(self, pid: object) -> bool:
        return pid in self._protocols


def _deep_update(dst: dict[str, Any], src: Any) -> None:
    if not isinstance(src, Mapping):
        raise ClinicalDataError(f"site overrides must be objects (got {src!r})")
    for k, v in src.items():
        if isinstance(v, Mapping) and isinstance(dst.get(k), dict):
            _deep_update(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v) if isinstance(v, Mapping) else v

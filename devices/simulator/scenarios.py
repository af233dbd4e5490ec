"""The simulator's scenarios: a patient baseline, the infusion response, and timed events.

Every time here is *simulated seconds since the simulator started* ("elapsed"). Event times are fixed module
constants so tests, demos and documentation can refer to them:

* ``stable``: a healthy adult (125/78 mmHg, HR 72, SpO2 98 %, RR 14, EtCO2 37 mmHg, 36.8 Cel). An infusion
  raises BP by up to +12/+9 mmHg and HR by +7 /min (CLINICAL.md: mean about +7/+6, large series +16/+11).
* ``hypertensive``: a patient with known hypertension (142/90, HR 76); an infusion raises BP by up to +44/+24
  mmHg, so the peak reaches about 186/114 (>= 180/110, the usual alert limits), HR +10 /min.
* ``desaturation``: stable physiology, but SpO2 falls from :data:`DESAT_START` (180 s) over 45 s to 85 %,
  stays there for 2 min, and recovers over 60 s (back near baseline at 405 s). HR rises by 6 /min meanwhile.
  Happens once.
* ``artifact``: stable physiology; every :data:`ARTIFACT_EVERY` (600 s) a patient movement from 60 s to 90 s
  (motion artifact on ECG and pleth; HR, SpO2 and PR flagged ``ARTIFACT | QUESTIONABLE``) and the SpO2 probe
  off from 150 s to 180 s (flat pleth; SpO2 and PR ``None`` with ``SENSOR_OFF | INVALID``).
* ``disconnect``: stable physiology; every :data:`DISCONNECT_EVERY` (600 s) the device is silent from 120 s
  to 150 s (``Simulator.responding`` is false, no samples at all; the first wave block afterwards has
  ``gap=True``).
* ``noise``: stable physiology; ``Simulator.noise`` is true so protocol emulators put garbage bytes between
  frames.

No scenario starts an infusion by itself; pass ``auto_infusion=True`` (or ``auto_infusion_at=...``) to the
:class:`~devices.simulator.Simulator` for a demo that shows the BP rise without anyone pressing a button.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: desaturation scenario: when SpO2 starts to fall, how long the fall, the nadir plateau and the recovery take
DESAT_START = 180.0
DESAT_FALL = 45.0
DESAT_HOLD = 120.0
DESAT_RECOVER = 60.0
DESAT_NADIR = 85.0

#: artifact scenario: motion and probe-off windows within each repeating cycle
ARTIFACT_EVERY = 600.0
MOTION_SPAN = (60.0, 90.0)
SENSOR_OFF_SPAN = (150.0, 180.0)

#: disconnect scenario: silent window within each repeating cycle
DISCONNECT_EVERY = 600.0
SILENT_SPAN = (120.0, 150.0)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Resting values of the simulated patient before any infusion."""

    hr: float = 72.0  # /min
    sbp: float = 125.0  # mm[Hg]
    dbp: float = 78.0  # mm[Hg]
    spo2: float = 98.0  # %
    rr: float = 14.0  # /min
    etco2: float = 37.0  # mm[Hg]
    temp: float = 36.8  # Cel

    def __post_init__(self) -> None:
        checks = {
            "hr": (20.0, 250.0), "sbp": (50.0, 260.0), "dbp": (20.0, 180.0), "spo2": (50.0, 100.0),
            "rr": (3.0, 60.0), "etco2": (5.0, 90.0), "temp": (30.0, 43.0),
        }
        for name, (low, high) in checks.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise ValueError(f"baseline {name} must be a number from {low:g} to {high:g}, not {value!r}")
        if self.dbp >= self.sbp:
            raise ValueError(f"baseline diastolic BP ({self.dbp:g}) must be below systolic ({self.sbp:g})")


@dataclass(frozen=True, slots=True)
class Windows:
    """Time spans (start, end) in elapsed seconds, optionally repeating every ``every`` seconds.

    A span is half-open: active for ``start <= t < end`` (shifted by whole periods when repeating).
    """

    spans: tuple[tuple[float, float], ...] = ()
    every: float | None = None

    def active(self, t: np.ndarray | float) -> np.ndarray:
        """Boolean mask: which times fall inside a span."""
        t = np.asarray(t, dtype=float)
        local = np.mod(t, self.every) if self.every else t
        mask = np.zeros(t.shape, dtype=bool)
        for start, end in self.spans:
            mask |= (local >= start) & (local < end)
        return mask

    def occurrences(self, a: float, b: float) -> list[tuple[float, float]]:
        """Every concrete span that intersects ``[a, b)``, in time order."""
        if not self.spans or b <= a:
            return []
        if not self.every:
            return [(s, e) for s, e in sorted(self.spans) if s < b and e > a]
        found: list[tuple[float, float]] = []
        first = math.floor((a - max(e for _, e in self.spans)) / self.every)
        last = math.floor(b / self.every)
        for n in range(first, last + 1):
            for s, e in self.spans:
                s_n, e_n = s + n * self.every, e + n * self.every
                if s_n < b and e_n > a:
                    found.append((s_n, e_n))
        found.sort()
        return found

    def overlaps(self, a: float, b: float) -> bool:
        """True when any span intersects ``[a, b)``."""
        return bool(self.occurrences(a, b))


@dataclass(frozen=True, slots=True)
class Desaturation:
    """One SpO2 dip: smooth fall to ``nadir``, a plateau, smooth recovery (times in elapsed seconds)."""

    start: float = DESAT_START
    fall: float = DESAT_FALL
    hold: float = DESAT_HOLD
    recover: float = DESAT_RECOVER
    nadir: float = DESAT_NADIR
    hr_rise: float = 6.0

    @property
    def end(self) -> float:
        return self.start + self.fall + self.hold + self.recover

    def depth(self, t: np.ndarray) -> np.ndarray:
        """0 outside the dip, 1 on the plateau, smooth (cubic) ramps in between."""
        t = np.asarray(t, dtype=float)
        down = _smoothstep((t - self.start) / self.fall)
        up = _smoothstep((t - (self.start + self.fall + self.hold)) / self.recover)
        return down * (1.0 - up)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    smooth: np.ndarray = x * x * (3.0 - 2.0 * x)
    return smooth


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything that distinguishes one scenario from another."""

    name: str
    description: str
    baseline: Baseline = field(default_factory=Baseline)
    #: peak rise of (systolic, diastolic) BP during an infusion, mm[Hg]
    bp_rise: tuple[float, float] = (12.0, 9.0)
    #: peak rise of HR during an infusion, /min
    hr_rise: float = 7.0
    desaturation: Desaturation | None = None
    motion: Windows = field(default_factory=Windows)
    sensor_off: Windows = field(default_factory=Windows)
    silent: Windows = field(default_factory=Windows)
    #: emulators add garbage bytes between frames
    noise: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("stable", "healthy adult; an infusion raises BP by up to +12/+9 mmHg and HR by +7 /min"),
        Scenario(
            "hypertensive",
            "known hypertension (142/90); an infusion raises BP to about 186/114 at its peak",
            baseline=Baseline(hr=76.0, sbp=142.0, dbp=90.0),
            bp_rise=(44.0, 24.0),
            hr_rise=10.0,
        ),
        Scenario(
            "desaturation",
            f"SpO2 falls to {DESAT_NADIR:g} % at {DESAT_START:g} s for {DESAT_HOLD / 60:g} min, "
            "then recovers",
            desaturation=Desaturation(),
        ),
        Scenario(
            "artifact",
            f"every {ARTIFACT_EVERY / 60:g} min: motion artifact {MOTION_SPAN[0]:g}-{MOTION_SPAN[1]:g} s, "
            f"SpO2 sensor off {SENSOR_OFF_SPAN[0]:g}-{SENSOR_OFF_SPAN[1]:g} s",
            motion=Windows((MOTION_SPAN,), ARTIFACT_EVERY),
            sensor_off=Windows((SENSOR_OFF_SPAN,), ARTIFACT_EVERY),
        ),
        Scenario(
            "disconnect",
            f"every {DISCONNECT_EVERY / 60:g} min the device is silent from {SILENT_SPAN[0]:g} s "
            f"to {SILENT_SPAN[1]:g} s",
            silent=Windows((SILENT_SPAN,), DISCONNECT_EVERY),
        ),
        Scenario("noise", "stable physiology; emulators put garbage bytes between frames", noise=True),
    )
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; unknown names raise ``ValueError`` listing the known ones."""
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        known = ", ".join(SCENARIOS)
        raise ValueError(f"unknown simulator scenario {name!r}; choose one of: {known}") from None

"""The slow physiological model: trends of HR, BP, SpO2, RR, EtCO2 and temperature over simulated time.

The model is a closed-form function of elapsed time (vectorised over numpy arrays), so any moment can be
evaluated in any order: the waveform generator, the numerics and :meth:`Simulator.true_state` all read the
same trends. Beat-to-beat and breath-to-breath detail lives in :mod:`devices.simulator.rhythm`.

Ketamine infusion response (CLINICAL.md): BP and HR rise while the drug runs, peak 30-40 min after the start,
and return to baseline within 60-90 min after the stop. Modelled as an effect ``e(t)`` between 0 and 1:

* during the infusion a smooth (cubic) rise reaching 1 at :data:`PEAK_AFTER` (35 min, or 7/8 of a shorter
  planned infusion), then a slight decline (acute tolerance, at most 8 %) until the infusion ends;
* after the end (planned or stopped early) an exponential decay with :data:`DECAY_TAU` (18 min), so about
  4 % remains after 60 min and under 1 % after 90 min.

The effect scales the scenario's peak rises (``bp_rise``, ``hr_rise``). Overlapping infusions add up, capped
at 1.5 times the single peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devices.simulator.scenarios import Baseline, Scenario

PEAK_AFTER = 35.0 * 60.0
DECAY_TAU = 18.0 * 60.0
TOLERANCE = 0.08
TOLERANCE_TAU = 600.0

#: slow, deterministic drift: (field, amplitude, period in s); phases come from the seed
_DRIFTS: tuple[tuple[str, float, float], ...] = (
    ("hr", 1.2, 217.0),
    ("hr", 0.6, 61.0),
    ("sbp", 1.0, 420.0),
    ("dbp", 0.7, 389.0),
    ("spo2", 0.35, 173.0),
    ("rr", 0.7, 137.0),
    ("etco2", 0.8, 251.0),
    ("temp", 0.08, 1800.0),
)

STATE_KEYS = ("hr", "sbp", "dbp", "map", "spo2", "rr", "etco2", "temp")


@dataclass(slots=True)
class Infusion:
    """One infusion in elapsed seconds. ``stopped_at`` is set when it was stopped before the planned end."""

    start: float
    planned_duration: float
    stopped_at: float | None = None

    @property
    def end(self) -> float:
        planned = self.start + self.planned_duration
        return planned if self.stopped_at is None else min(planned, self.stopped_at)

    @property
    def peak_after(self) -> float:
        return min(PEAK_AFTER, 0.875 * self.planned_duration)

    def running(self, t: float) -> bool:
        return self.start <= t < self.end

    def effect(self, t: np.ndarray) -> np.ndarray:
        """The normalised haemodynamic effect (0..1) of this infusion at elapsed times ``t``."""
        t = np.asarray(t, dtype=float)
        tau = t - self.start
        during = self._during(tau)
        end_tau = self.end - self.start
        at_end = float(self._during(np.asarray(end_tau)))
        after = at_end * np.exp(-np.maximum(tau - end_tau, 0.0) / DECAY_TAU)
        return np.where(tau < 0.0, 0.0, np.where(tau < end_tau, during, after))

    def _during(self, tau: np.ndarray) -> np.ndarray:
        tp = self.peak_after
        x = np.clip(tau / tp, 0.0, 1.0)
        rise = x * x * (3.0 - 2.0 * x)
        decline = TOLERANCE * (1.0 - np.exp(-np.maximum(tau - tp, 0.0) / TOLERANCE_TAU))
        return rise - decline


class Physiology:
    """Trends of one simulated patient under one scenario.

    ``drift=False`` removes the slow random-phase drift (the values are then exactly the baseline plus the
    infusion and scenario effects), which tests use to check a set value is reproduced.
    """

    def __init__(self, scenario: Scenario, seed: int, baseline: Baseline | None = None,
                 drift: bool = True) -> None:
        self.scenario = scenario
        self.baseline = baseline or scenario.baseline
        self.drift = drift
        rng = np.random.default_rng([seed, 0x5EED, 1])
        self._phases = rng.uniform(0.0, 2.0 * math.pi, size=len(_DRIFTS))
        self.infusions: list[Infusion] = []

    def infusion_effect(self, t: np.ndarray | float) -> np.ndarray:
        """Summed normalised effect of every infusion at ``t`` (0 with none, capped at 1.5)."""
        t = np.asarray(t, dtype=float)
        total = np.zeros(t.shape)
        for infusion in self.infusions:
            total = total + infusion.effect(t)
        return np.minimum(total, 1.5)

    def state_at(self, t: np.ndarray | float) -> dict[str, np.ndarray]:
        """Underlying values at elapsed times ``t``: hr, sbp, dbp, map, spo2, rr, etco2, temp (arrays)."""
        t = np.asarray(t, dtype=float)
        b = self.baseline
        sc = self.scenario
        effect = self.infusion_effect(t)
        state = {
            "hr": b.hr + sc.hr_rise * effect,
            "sbp": b.sbp + sc.bp_rise[0] * effect,
            "dbp": b.dbp + sc.bp_rise[1] * effect,
            "spo2": np.full(t.shape, b.spo2),
            "rr": np.full(t.shape, b.rr),
            "etco2": np.full(t.shape, b.etco2),
            "temp": np.full(t.shape, b.temp),
        }
        if self.drift:
            for (key, amplitude, period), phase in zip(_DRIFTS, self._phases, strict=True):
                state[key] = state[key] + amplitude * np.sin(2.0 * math.pi * t / period + phase)
        if sc.desaturation is not None:
            depth = sc.desaturation.depth(t)
            state["spo2"] = state["spo2"] + (sc.desaturation.nadir - b.spo2) * depth
            state["hr"] = state["hr"] + sc.desaturation.hr_rise * depth
        state["spo2"] = np.minimum(state["spo2"], 100.0)
        state["map"] = state["dbp"] + (state["sbp"] - state["dbp"]) / 3.0
        return {key: state[key] for key in STATE_KEYS}

    def scalar_state(self, t: float) -> dict[str, float]:
        """:meth:`state_at` for one time, as plain floats."""
        return {key: float(value) for key, value in self.state_at(float(t)).items()}

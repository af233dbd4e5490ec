"""Waveform synthesis: ECG lead II, pleth, impedance respiration and capnogram, vectorised with numpy.

Each function maps an array of elapsed times to samples, given the beat or breath timing from
:mod:`devices.simulator.rhythm`. They are pure: the same times and timing give the same samples, which is
what makes the simulator's output independent of how it is advanced.

Rates and block length: 500/s ECG, 125/s pleth, 62.5/s respiration and CO2. Blocks are :data:`BLOCK_SECONDS`
(256 ms) long because that is the shortest span holding a whole number of samples at every rate
(128 / 32 / 16 / 16 samples).
"""

from __future__ import annotations

import numpy as np

from devices import mdc

ECG_FS = 500.0
PLETH_FS = 125.0
RESP_FS = 62.5
CO2_FS = 62.5
BLOCK_SECONDS = 0.256

#: (mdc code, sample rate, UCUM unit, samples per block) of every simulated wave, in emission order
CHANNELS: tuple[tuple[int, float, str, int], ...] = (
    (mdc.ECG_II, ECG_FS, "mV", 128),
    (mdc.PLETH, PLETH_FS, "1", 32),
    (mdc.RESP_WAVE, RESP_FS, "1", 16),
    (mdc.CO2_WAVE, CO2_FS, "mm[Hg]", 16),
)

#: R peak to the foot of the pleth pulse (pulse transit time), seconds
PLETH_DELAY = 0.20

# P, Q, R, S waves: (centre relative to the R peak in s, width in s, amplitude in mV)
_PQRS = (
    (-0.165, 0.022, 0.12),
    (-0.030, 0.008, -0.10),
    (0.0, 0.009, 1.15),
    (0.030, 0.010, -0.28),
)
_T_CENTRE = 0.31  # scaled by sqrt(RR): the QT interval shortens as HR rises (Bazett)
_T_WIDTH = 0.055
_T_AMP = 0.28

# beats that can reach a sample: two before (T waves at high rates), the current, the next (its P wave)
_NEIGHBOURS = np.array([-2, -1, 0, 1])


def _near_beats(t: np.ndarray, beat_times: np.ndarray) -> np.ndarray:
    """Indices (4, n) of the beats around each time; the caller guarantees enough beats on both sides."""
    j = np.searchsorted(beat_times, t, side="right") - 1
    near: np.ndarray = j[np.newaxis, :] + _NEIGHBOURS[:, np.newaxis]
    return near


def ecg(t: np.ndarray, beat_times: np.ndarray, beat_intervals: np.ndarray, resp_phase: np.ndarray,
        noise: np.ndarray) -> np.ndarray:
    """ECG lead II in mV: P-QRS-T complexes at the R-peak times, respiratory baseline wander, noise.

    ``noise`` is standard-normal, one per sample.
    """
    idx = _near_beats(t, beat_times)
    dt = t[np.newaxis, :] - beat_times[idx]
    out = np.zeros(t.shape)
    for centre, width, amp in _PQRS:
        out += (amp * np.exp(-0.5 * ((dt - centre) / width) ** 2)).sum(axis=0)
    scale = np.sqrt(beat_intervals[idx])
    out += (_T_AMP * np.exp(-0.5 * ((dt - _T_CENTRE * scale) / (_T_WIDTH * scale)) ** 2)).sum(axis=0)
    out += 0.04 * np.sin(2.0 * np.pi * resp_phase) + 0.008 * noise
    return out


def pleth(t: np.ndarray, beat_times: np.ndarray, beat_amplitudes: np.ndarray,
          noise: np.ndarray) -> np.ndarray:
    """Plethysmogram (dimensionless, pulse height about 1): a steep systolic upstroke starting
    :data:`PLETH_DELAY` after each R peak, a slower fall, and a dicrotic wave."""
    idx = _near_beats(t - PLETH_DELAY, beat_times)
    x = t[np.newaxis, :] - PLETH_DELAY - beat_times[idx]
    peak = 0.14
    width = np.where(x < peak, 0.055, 0.12)
    systolic = np.exp(-0.5 * ((x - peak) / width) ** 2)
    dicrotic = 0.32 * np.exp(-0.5 * ((x - 0.38) / 0.075) ** 2)
    out = (beat_amplitudes[idx] * (systolic + dicrotic)).sum(axis=0)
    ecg: np.ndarray = out + 0.004 * noise
    return ecg


def resp(phase: np.ndarray, amplitude: np.ndarray, noise: np.ndarray, inspiration: float) -> np.ndarray:
    """Impedance respiration (dimensionless, centred on 0): rises through inspiration, falls through
    expiration. ``phase`` is 0..1 within each breath, ``amplitude`` that breath's tidal amplitude."""
    rising = 0.5 - 0.5 * np.cos(np.pi * np.minimum(phase / inspiration, 1.0))
    falling = 0.5 + 0.5 * np.cos(np.pi * np.clip((phase - inspiration) / (1.0 - inspiration), 0.0, 1.0))
    shape = np.where(phase < inspiration, rising, falling)
    return amplitude * (shape - 0.5) + 0.004 * noise


def co2(t: np.ndarray, breath_start: np.ndarray, breath_duration: np.ndarray, breath_etco2: np.ndarray,
        j: np.ndarray, noise: np.ndarray, inspiration: float) -> np.ndarray:
    """Capnogram in mm[Hg]: near zero while inspiring, a fast expiratory upstroke, an alveolar plateau with a
    slight upslope ending at that breath's EtCO2, and a fast fall when the next inspiration begins.

    ``j`` is the index of the breath containing each time (``j >= 1``: the previous breath's end value starts
    the inspiratory downstroke).
    """
    x = t - breath_start[j]
    d = breath_duration[j]
    ti = inspiration * d
    et = breath_etco2[j]
    inspiring = breath_etco2[j - 1] * np.exp(-x / 0.06)
    xe = np.maximum(x - ti, 0.0)
    te = d - ti
    expiring = et * (0.93 + 0.07 * np.minimum(xe / te, 1.0)) * (1.0 - np.exp(-xe / 0.09))
    out = np.where(x < ti, inspiring, expiring) + 0.12 * noise
    clipped: np.ndarray = np.maximum(out, 0.0)
    return clipped


def motion_artifact(t: np.ndarray, phases: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """A movement: swings of about a second plus broadband noise, amplitude about 1 (caller scales it)."""
    swing = (0.6 * np.sin(2.0 * np.pi * 0.7 * t + phases[0])
             + 0.4 * np.sin(2.0 * np.pi * 1.9 * t + phases[1])
             + 0.3 * np.sin(2.0 * np.pi * 3.3 * t + phases[2]))
    resp: np.ndarray = swing + 0.25 * noise
    return resp

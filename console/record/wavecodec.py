"""Compression of one-second waveform chunks.

Samples are quantised to integers ``q = round((x - offset) / scale)`` (lossless to within ``scale / 2``; raw
integer samples from a device use ``scale = 1`` and are exact), delta coded (neighbouring samples differ
little), split into byte planes (all low bytes, then all high bytes: the high bytes of small deltas are
nearly all 0x00/0xFF and compress to almost nothing) and deflate-compressed (raw, no zlib header).
Non-finite samples (NaN) are kept
as a reserved integer and come back as NaN.

Codecs: 1 = int16 deltas, 2 = int32 deltas (when a delta does not fit 16 bits), 3 = float64 raw + zlib (when
quantisation cannot represent the values, e.g. huge ranges).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from devices import mdc

CODEC_I16 = 1
CODEC_I32 = 2
CODEC_F64 = 3
_Q_LIMIT = 2**29  # |q| stays below this, so every delta (even to/from _NAN_Q) fits int32
_NAN_Q = -(2**30)  # reserved quantised value for NaN
_ZLEVEL = 6
_WBITS = -15  # raw deflate: no zlib header and checksum (6 bytes a chunk; the database has its own checks)


def _compress(b: bytes) -> bytes:
    c = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, _WBITS)
    return c.compress(b) + c.flush()


def _decompress(b: bytes) -> bytes:
    return zlib.decompress(b, _WBITS)

#: quantisation step per unit (UCUM): a resolution finer than any bedside monitor delivers
STEP_BY_UNIT: dict[str, float] = {
    # 2.5 µV: half the 5 µV resolution that diagnostic ECG standards (AHA, IEC 60601-2-51) ask for, so the
    # rounding error (±1.25 µV) is far below what a monitor shows; a finer step only stores amplifier noise.
    "mV": 0.0025,
    "uV": 1.0,
    "mm[Hg]": 0.01,
    "kPa": 0.001,
    "%": 0.01,
    "Cel": 0.01,
}
#: channels whose unit says nothing about resolution (unitless pleth and resp): 1/1000 of full scale of 1
STEP_BY_MDC: dict[int, float] = {mdc.PLETH: 0.0005, mdc.RESP_WAVE: 0.0005}
DEFAULT_STEP = 0.0005


def step_for(code: int, unit: str) -> float:
    """The quantisation step of a channel (see the tables above)."""
    return STEP_BY_MDC.get(code) or STEP_BY_UNIT.get(unit) or DEFAULT_STEP


@dataclass(frozen=True, slots=True)
class Encoded:
    codec: int
    scale: float
    offset: float
    data: bytes


def _shuffle(a: np.ndarray) -> bytes:
    return a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.tobytes()


def _unshuffle(b: bytes, dtype: np.dtype, n: int) -> np.ndarray:
    planes = np.frombuffer(b, dtype=np.uint8).reshape(dtype.itemsize, n)
    return np.ascontiguousarray(planes.T).view(dtype).reshape(n)


def encode(samples: np.ndarray, step: float) -> Encoded:
    """Compress one chunk; integer-valued input is stored exactly with ``scale = 1``."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[0]
    finite = np.isfinite(x)
    if n and finite.all() and np.all(x == np.round(x)) and np.abs(x).max() < _Q_LIMIT:
        scale, offset = 1.0, 0.0
    else:
        scale = float(step)
        # a whole-number offset near the middle keeps |q| small; whole numbers cost SQLite 0-2 bytes, not 8
        offset = float(np.round(np.nanmedian(x[finite]))) if finite.any() else 0.0
    with np.errstate(invalid="ignore"):
        qf = np.round((x - offset) / scale)
    if finite.any() and np.abs(qf[finite]).max() >= _Q_LIMIT:
        return Encoded(CODEC_F64, 1.0, 0.0, _compress(_shuffle(x.astype("<f8"))))
    q = np.where(finite, qf, _NAN_Q).astype(np.int64)
    d = np.diff(q, prepend=0)
    if n == 0 or (d.min() >= -32768 and d.max() <= 32767):
        return Encoded(CODEC_I16, scale, offset, _compress(_shuffle(d.astype("<i2"))))
    return Encoded(CODEC_I32, scale, offset, _compress(_shuffle(d.astype("<i4"))))


def decode(codec: int, scale: float, offset: float, data: bytes, n: int) -> np.ndarray:
    """The samples of one chunk as float64 (NaN where the device gave no value)."""
    raw = _decompress(data)
    if codec == CODEC_F64:
        return _unshuffle(raw, np.dtype("<f8"), n).astype(np.float64)
    if codec not in (CODEC_I16, CODEC_I32):
        raise ValueError(f"unknown wave codec {codec}")
    dtype = np.dtype("<i2") if codec == CODEC_I16 else np.dtype("<i4")
    q = np.cumsum(_unshuffle(raw, dtype, n).astype(np.int64))
    out = offset + scale * q.astype(np.float64)
    out[q == _NAN_Q] = np.nan
    return out

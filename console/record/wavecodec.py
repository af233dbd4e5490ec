"""Compression of waveform chunks and of numeric blocks.

Samples are quantised to integers ``q = round((x - offset) / scale)`` (lossless to within ``scale / 2``; raw
integer samples from a device use ``scale = 1`` and are exact), delta coded (neighbouring samples differ
little), split into byte planes (all low bytes, then all high bytes: the high bytes of small deltas are
nearly all 0x00/0xFF and compress to almost nothing) and LZMA-compressed (raw LZMA2, no container; records
written before migration 0008 used deflate, still read).
Non-finite samples (NaN) are kept
as a reserved integer and come back as NaN.

Codecs: 4 = int16 deltas, 5 = int32 deltas (when a delta does not fit 16 bits), both LZMA; 1 and 2 are the
same with deflate (older records); 3 = float64 raw + deflate (when quantisation cannot represent the values,
e.g. huge ranges). Why LZMA for ten-second chunks: the four simulator waves take 2.25 MB an hour against
2.53 MB with deflate (level 9: 2.51), for about 3 s more CPU an hour to encode and 0.5 ms to decode a 10-s
ECG chunk (measured on the simulator's ``stable`` scenario).

Numeric blocks (:func:`encode_numerics`, codec 16) keep every field bit-exact: host time, value, device time
(float64, NaN for "none") and state (int64), each XOR-ed with its predecessor (a repeated value becomes zero,
neighbouring times share their high bytes), byte-shuffled and deflated together.
"""

from __future__ import annotations

import lzma
import zlib
from dataclasses import dataclass

import numpy as np

from devices import mdc

CODEC_I16 = 1
CODEC_I32 = 2
CODEC_F64 = 3
CODEC_I16_LZMA = 4
CODEC_I32_LZMA = 5
#: raw LZMA2 with a 64 KiB dictionary: a 10-s chunk is at most 20 kB before compression, so a larger
#: dictionary gains nothing and would cost megabytes of memory per encoder
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 16}]
_Q_LIMIT = 2**29  # |q| stays below this, so every delta (even to/from _NAN_Q) fits int32
_NAN_Q = -(2**30)  # reserved quantised value for NaN
_ZLEVEL = 6
_WBITS = -15  # raw deflate: no zlib header and checksum (6 bytes a chunk; the database has its own checks)


def _compress(b: bytes) -> bytes:
    c = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, _WBITS)
    return c.compress(b) + c.flush()


def _decompress(b: bytes) -> bytes:
    return zlib.decompress(b, _WBITS)


def _lzma(b: bytes) -> bytes:
    return lzma.compress(b, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)


def _unlzma(b: bytes) -> bytes:
    return lzma.decompress(b, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)

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


def encode(samples: np.ndarray, step: float, *, deflate: bool = False) -> Encoded:
    """Compress one chunk; integer-valued input is stored exactly with ``scale = 1``. ``deflate`` gives the
    codecs of records written before migration 0008 (to make such records in tests)."""
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
    pack = _compress if deflate else _lzma
    if n == 0 or (d.min() >= -32768 and d.max() <= 32767):
        codec = CODEC_I16 if deflate else CODEC_I16_LZMA
        return Encoded(codec, scale, offset, pack(_shuffle(d.astype("<i2"))))
    codec = CODEC_I32 if deflate else CODEC_I32_LZMA
    return Encoded(codec, scale, offset, pack(_shuffle(d.astype("<i4"))))


def decode(codec: int, scale: float, offset: float, data: bytes, n: int) -> np.ndarray:
    """The samples of one chunk as float64 (NaN where the device gave no value)."""
    if codec not in (CODEC_I16, CODEC_I32, CODEC_F64, CODEC_I16_LZMA, CODEC_I32_LZMA):
        raise ValueError(f"unknown wave codec {codec}")
    raw = _unlzma(data) if codec in (CODEC_I16_LZMA, CODEC_I32_LZMA) else _decompress(data)
    if codec == CODEC_F64:
        return _unshuffle(raw, np.dtype("<f8"), n).astype(np.float64)
    dtype = np.dtype("<i2") if codec in (CODEC_I16, CODEC_I16_LZMA) else np.dtype("<i4")
    q = np.cumsum(_unshuffle(raw, dtype, n).astype(np.int64))
    out = offset + scale * q.astype(np.float64)
    out[q == _NAN_Q] = np.nan
    return out


CODEC_NUMERICS_XOR = 16


def _xor_planes(a: np.ndarray) -> bytes:
    """``a`` (8-byte items) XOR-ed with its predecessor, byte-shuffled."""
    u = np.ascontiguousarray(a).view("<u8")
    x = u.copy()
    x[1:] ^= u[:-1]
    return _shuffle(x)


def _unxor(b: bytes, n: int) -> np.ndarray:
    x = _unshuffle(b, np.dtype("<u8"), n)
    return np.bitwise_xor.accumulate(x) if n else x


def encode_numerics(host_time: np.ndarray, value: np.ndarray, state: np.ndarray,
                    device_time: np.ndarray) -> bytes:
    """One block of one parameter's values, every field exact (NaN stands for a missing value or device
    time). Decoded by :func:`decode_numerics` with the same count."""
    arrays = (np.asarray(host_time, dtype="<f8"), np.asarray(value, dtype="<f8"),
              np.asarray(device_time, dtype="<f8"), np.asarray(state, dtype="<i8"))
    return _compress(b"".join(_xor_planes(a) for a in arrays))


def decode_numerics(codec: int, data: bytes, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(host_time, value, state, device_time) of a block written by :func:`encode_numerics`."""
    if codec != CODEC_NUMERICS_XOR:
        raise ValueError(f"unknown numerics codec {codec}")
    raw = _decompress(data)
    if len(raw) != 32 * n:
        raise ValueError(f"numerics block holds {len(raw)} bytes, {32 * n} expected")
    size = 8 * n
    host, value, device, state = (_unxor(raw[i * size:(i + 1) * size], n) for i in range(4))
    return host.view("<f8"), value.view("<f8"), state.view("<i8"), device.view("<f8")

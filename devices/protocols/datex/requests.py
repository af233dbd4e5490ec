"""Transmission requests of the S/5 Computer Interface (host to monitor), built and parsed.

* Physiological data (main type 0, subrecord type 0), ``struct dri_phdb_req``: ``u8 phdb_rcrd_type``
  (1 displayed, 2 10-s trend, 3 60-s trend), ``s16 tx_ival`` (seconds; 0 cancels, -1 asks once; displayed
  values accept ≥ 5 by the guide), ``u32 phdb_class_bf`` (0x0E adds ext1-3; basic is always sent),
  ``s16 reserved``: a 49-byte record.
* Waveforms (main type 1, subrecord type 0), ``struct wf_req``: ``s16 req_type`` (0 start, 1 stop),
  ``s16 res``, ``u8 type[8]`` ending 0xFF when shorter, 20 reserved bytes: a 72-byte record.

The guide's examples (M1017617 appendix A) are reproduced byte for byte by the tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .framing import encode_frame
from .records import (
    CLASS_ALL_EXT,
    EOL_SUBR_LIST,
    MT_PHDB,
    MT_WAVE,
    PH_DISPL,
    SR_REQUEST,
    WAVE_TYPES,
    DatexFormatError,
    RecordHeader,
    build_record,
    parse_header,
    wave_samples_per_second,
)

_PHDB_REQ = struct.Struct("<BhIh")
_WAVE_REQ_HEAD = struct.Struct("<hh")
WAVE_REQ_SIZE = 32
MAX_REQUEST_WAVES = 8
#: the serial interface's total waveform budget (M1017617 ch. 4)
MAX_SAMPLES_PER_SECOND = 600
WF_REQ_CONT_START = 0
WF_REQ_CONT_STOP = 1


@dataclass(frozen=True, slots=True)
class PhdbRequest:
    """A physiological-data transmission request."""

    record_type: int
    interval: int
    classes: int


@dataclass(frozen=True, slots=True)
class WaveRequest:
    """A waveform transmission request: start the listed types, or stop all."""

    start: bool
    types: tuple[int, ...] = ()


def phdb_request_record(record_type: int = PH_DISPL, interval: int = 5,
                        classes: int = CLASS_ALL_EXT) -> bytes:
    """The record asking for physiological data of ``record_type`` every ``interval`` s (0 cancels, -1
    once)."""
    body = _PHDB_REQ.pack(record_type, interval, classes, 0)
    return build_record(MT_PHDB, [(SR_REQUEST, body)])


def phdb_request_frame(record_type: int = PH_DISPL, interval: int = 5, classes: int = CLASS_ALL_EXT) -> bytes:
    """:func:`phdb_request_record`, framed for the wire."""
    return encode_frame(phdb_request_record(record_type, interval, classes))


def phdb_cancel_frame(record_type: int = PH_DISPL) -> bytes:
    """The framed request that stops automatic transmission of ``record_type`` (interval 0, no classes)."""
    return phdb_request_frame(record_type, 0, 0)


def check_wave_selection(types: tuple[int, ...] | list[int]) -> None:
    """Raise ``ValueError`` (plain words) unless ``types`` is a request the serial interface can honour."""
    if len(types) > MAX_REQUEST_WAVES:
        raise ValueError(f"at most {MAX_REQUEST_WAVES} waveforms per request, not {len(types)}")
    unknown = [t for t in types if t not in WAVE_TYPES]
    if unknown:
        raise ValueError(f"unknown Datex waveform type(s) {unknown}")
    if len(set(types)) != len(types):
        raise ValueError(f"waveform types repeated in {list(types)}")
    total = wave_samples_per_second(types)
    if total > MAX_SAMPLES_PER_SECOND:
        names = ", ".join(f"{WAVE_TYPES[t].label} {WAVE_TYPES[t].fs:g}/s" for t in types)
        raise ValueError(f"waveforms {names} need {total:g} samples/s; the S/5 serial interface carries at "
                         f"most {MAX_SAMPLES_PER_SECOND} (the monitor would silently drop the excess)")


def wave_request_record(types: tuple[int, ...] | list[int]) -> bytes:
    """The record starting continuous transmission of waveform ``types``.

    Raises ``ValueError`` for a selection :func:`check_wave_selection` refuses.
    """
    check_wave_selection(types)
    slots = bytes(types) + (bytes((EOL_SUBR_LIST,)) if len(types) < MAX_REQUEST_WAVES else b"")
    body = _WAVE_REQ_HEAD.pack(WF_REQ_CONT_START, 0) + slots.ljust(MAX_REQUEST_WAVES, b"\x00")
    return build_record(MT_WAVE, [(SR_REQUEST, body.ljust(WAVE_REQ_SIZE, b"\x00"))])


def wave_request_frame(types: tuple[int, ...] | list[int]) -> bytes:
    """:func:`wave_request_record`, framed for the wire."""
    return encode_frame(wave_request_record(types))


def wave_stop_record() -> bytes:
    """The record stopping all waveform transmission (type list empty, as in the guide's example)."""
    body = _WAVE_REQ_HEAD.pack(WF_REQ_CONT_STOP, 0) + bytes((EOL_SUBR_LIST,))
    return build_record(MT_WAVE, [(SR_REQUEST, body.ljust(WAVE_REQ_SIZE, b"\x00"))])


def wave_stop_frame() -> bytes:
    """:func:`wave_stop_record`, framed for the wire."""
    return encode_frame(wave_stop_record())


def parse_request(record: bytes, header: RecordHeader | None = None) -> list[PhdbRequest | WaveRequest]:
    """The requests in a record the host sent (the emulator's view); other subrecords are ignored.

    Raises :class:`DatexFormatError` when a request subrecord is too short.
    """
    header = header or parse_header(record)
    found: list[PhdbRequest | WaveRequest] = []
    for sr_type, start, end in header.subrecords:
        if sr_type != SR_REQUEST:
            continue
        if header.maintype == MT_PHDB:
            if end - start < _PHDB_REQ.size:
                raise DatexFormatError(f"physiological request of {end - start} bytes, expected "
                                       f"{_PHDB_REQ.size}")
            rtype, interval, classes, _ = _PHDB_REQ.unpack_from(record, start)
            found.append(PhdbRequest(rtype, interval, classes))
        elif header.maintype == MT_WAVE:
            if end - start < _WAVE_REQ_HEAD.size + MAX_REQUEST_WAVES:
                raise DatexFormatError(f"waveform request of {end - start} bytes is too short")
            req_type, _ = _WAVE_REQ_HEAD.unpack_from(record, start)
            if req_type == WF_REQ_CONT_STOP:
                found.append(WaveRequest(False))
                continue
            types: list[int] = []
            for t in record[start + 4:start + 4 + MAX_REQUEST_WAVES]:
                if t == EOL_SUBR_LIST:
                    break
                types.append(t)
            found.append(WaveRequest(True, tuple(types)))
    return found

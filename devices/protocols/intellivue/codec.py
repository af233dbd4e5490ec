"""Decoding (and, for the emulator, encoding) of IntelliVue Data Export messages.

Everything here is pure: bytes in, plain Python/numpy values out. Layouts are big-endian and follow the
Philips "Data Export Interface Programming Guide": SPpdu, ROapdus (invoke, result, error, linked result),
event reports, action results, extended poll replies, attribute lists, FLOAT values and BCD clocks.
Malformed input raises :class:`DecodeError` (a ``ValueError``) with a plain message; the driver catches it,
counts the frame as bad and carries on.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass, field

# --- session layer (first byte of the user data) ----------------------------------------------------------
SESSION_DATA = 0xE1  # a Data Export command (SPpdu)
SESSION_CONNECT = 0x0D  # association request
SESSION_ACCEPT = 0x0E
SESSION_REFUSE = 0x0C
SESSION_FINISH = 0x09  # release request
SESSION_DISCONNECT = 0x0A  # release response
SESSION_ABORT = 0x19

# --- remote operation types and commands -----------------------------------------------------------------
RO_INVOKE = 1
RO_RESULT = 2
RO_ERROR = 3
RO_LINKED_RESULT = 5
CMD_EVENT_REPORT = 0
CMD_CONFIRMED_EVENT_REPORT = 1
CMD_GET = 3
CMD_SET = 4
CMD_CONFIRMED_SET = 5
CMD_CONFIRMED_ACTION = 7

# --- nomenclature (object partition unless noted) ---------------------------------------------------------
NOM_PART_OBJ = 1
NOM_MOC_VMO_METRIC_NU = 0x0006
NOM_MOC_VMO_METRIC_SA_RT = 0x0009
NOM_MOC_VMS_MDS = 0x0021
NOM_MOC_VMO_AL_MON = 0x0036
NOM_ACT_POLL_MDIB_DATA = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT = 0xF13B
NOM_NOTI_MDS_CREAT = 0x0D06
NOM_ATTR_GRP_VMO_STATIC = 0x0810

ATTR_HANDLE = 0x0921
ATTR_LABEL = 0x0924
ATTR_LABEL_STRING = 0x0927
ATTR_MODEL = 0x0928
ATTR_TYPE = 0x092F
ATTR_NU_CMPD_VAL_OBS = 0x094B
ATTR_NU_VAL_OBS = 0x0950
ATTR_SA_CMPD_VAL_OBS = 0x0967
ATTR_SA_SPECN = 0x096D
ATTR_SA_VAL_OBS = 0x096E
ATTR_SCALE_SPECN_I16 = 0x096F
ATTR_TIME_ABS = 0x0987
ATTR_TIME_PD_SAMP = 0x098D
ATTR_TIME_REL = 0x098F
ATTR_UNIT_CODE = 0x0996
ATTR_TIME_PD_POLL = 0xF13E
ATTR_POLL_RTSA_PRIO_LIST = 0xF23A
ATTR_POLL_PROFILE_SUPPORT = 0x0001
ATTR_POLL_PROFILE_EXT = 0xF001

#: sample array spec flag: samples carry flag bits above the significant bits
SA_EXT_VAL_RANGE = 0x1000

#: relative time resolution: 1/8 ms
TICKS_PER_SECOND = 8000

#: Philips unit codes (dimension partition) → UCUM
UNITS: dict[int, str] = {
    0x0200: "1",
    0x0220: "%",
    0x0512: "mm",
    0x0592: "mL/m2",
    0x0652: "mL",
    0x0800: "g/L",
    0x0812: "mg/L",
    0x0814: "ng/L",
    0x0840: "g/dL",
    0x0852: "mg/dL",
    0x0875: "pg/mL",
    0x0880: "s",
    0x0892: "ms",
    0x09C0: "Hz",
    0x0AA0: "/min",
    0x0AE0: "/min",
    0x0B20: "L/min/m2",
    0x0C00: "L/min",
    0x0C72: "mL/kg",
    0x0F03: "kPa",
    0x0F20: "mm[Hg]",
    0x0F72: "mbar",
    0x0FD4: "nW",
    0x1020: "dyn.s/cm5",
    0x10B2: "mV",
    0x10B3: "uV",
    0x10C0: "Ohm",
    0x1140: "[degF]",
    0x1272: "mmol/L",
    0x17A0: "Cel",
    0x1920: "dB",
}


class DecodeError(ValueError):
    """A message that does not parse; the text says what was wrong."""


def unit_to_ucum(code: int) -> str:
    """UCUM unit for a Philips unit code; unknown codes become a UCUM annotation such as ``{unit 0x1234}``."""
    unit = UNITS.get(code)
    return unit if unit is not None else f"{{unit {code:#06x}}}"


# --- FLOAT ------------------------------------------------------------------------------------------------
_SPECIAL_MANTISSAS = {0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002}  # NaN, NRes, +INF, -INF
_POW10 = {e: 10.0 ** e for e in range(-128, 128)}


def decode_float(raw: int) -> float | None:
    """Decode a 32-bit IntelliVue FLOAT (signed 8-bit exponent, signed 24-bit mantissa, base 10).

    NaN, NRes and the infinities mean "no value" and give ``None``. The result is rounded to the precision the
    exponent implies, so ``0xFD007D00`` is exactly ``32.0`` and not ``32.000000000000004``.
    """
    mantissa = raw & 0xFFFFFF
    if mantissa in _SPECIAL_MANTISSAS:
        return None
    if mantissa & 0x800000:
        mantissa -= 0x1000000
    exponent = raw >> 24
    if exponent & 0x80:
        exponent -= 0x100
    if exponent >= 0:
        return float(mantissa * 10 ** exponent)
    return round(mantissa * _POW10[exponent], -exponent)


def encode_float(value: float | None, decimals: int = 0) -> int:
    """Encode ``value`` as a FLOAT with ``decimals`` digits after the point (``None`` → NaN)."""
    if value is None or math.isnan(value):
        return 0x007FFFFF
    mantissa = int(round(value * 10 ** decimals))  # noqa: RUF046 (numpy 1.x)
    while not -0x7FFFFD <= mantissa <= 0x7FFFFD and decimals > -127:
        mantissa = int(mantissa / 10)  # lose precision rather than overflow the 24-bit mantissa
        decimals -= 1
    return ((-decimals) & 0xFF) << 24 | (mantissa & 0xFFFFFF)


# --- times ------------------------------------------------------------------------------------------------
def _bcd(byte: int) -> int:
    hi, lo = byte >> 4, byte & 0x0F
    if hi > 9 or lo > 9:
        raise DecodeError(f"not a BCD byte: {byte:#04x}")
    return hi * 10 + lo


def decode_abs_time(raw: bytes, tz: dt.tzinfo | None = None) -> float | None:
    """POSIX time of an 8-byte BCD AbsoluteTime (century, year, month, day, hour, minute, second, 1/100 s).

    The monitor clock carries no zone: ``tz`` says which one it runs in (``None`` = this computer's local
    zone). All ``FF`` (the monitor's "not supported") and impossible dates give ``None``.
    """
    if len(raw) < 8 or raw[:8] == b"\xff" * 8:
        return None
    try:
        century, year, month, day, hour, minute, second, hundredths = (_bcd(b) for b in raw[:8])
        stamp = dt.datetime(century * 100 + year, month, day, hour, minute, second, hundredths * 10000)
    except (DecodeError, ValueError):
        return None
    if tz is None:
        return stamp.timestamp()  # naive → local zone
    return stamp.replace(tzinfo=tz).timestamp()


def encode_abs_time(posix: float, tz: dt.tzinfo | None = None) -> bytes:
    """8-byte BCD AbsoluteTime of a POSIX time, in zone ``tz`` (``None`` = local zone)."""
    stamp = dt.datetime.fromtimestamp(posix, tz) if tz is not None else dt.datetime.fromtimestamp(posix)
    parts = (stamp.year // 100, stamp.year % 100, stamp.month, stamp.day, stamp.hour, stamp.minute,
             stamp.second, stamp.microsecond // 10000)
    return bytes((v // 10) << 4 | (v % 10) for v in parts)


def rel_delta(later: int, earlier: int) -> int:
    """Signed difference of two 32-bit relative times in ticks, allowing for wrap-around (~6.2 days)."""
    d = (later - earlier) & 0xFFFFFFFF
    return d - 0x100000000 if d & 0x80000000 else d


# --- attribute lists --------------------------------------------------------------------------------------
def parse_attributes(data: bytes, offset: int) -> tuple[dict[int, bytes], int]:
    """Parse an AttributeList at ``offset``: ``u16 count, u16 length``, then ``u16 id, u16 len, value`` items.

    Returns ``({id: value bytes}, offset after the list)``.
    """
    if offset + 4 > len(data):
        raise DecodeError("attribute list header runs past the end of the message")
    count, length = struct.unpack_from(">HH", data, offset)
    pos = offset + 4
    end = pos + length
    if end > len(data):
        raise DecodeError(f"attribute list of {length} bytes runs past the end of the message")
    attrs: dict[int, bytes] = {}
    unpack = struct.unpack_from
    for _ in range(count):
        if pos + 4 > end:
            raise DecodeError("attribute list shorter than its count")
        attr_id, attr_len = unpack(">HH", data, pos)
        pos += 4
        if pos + attr_len > end:
            raise DecodeError(f"attribute {attr_id:#06x} runs past the end of its list")
        attrs[attr_id] = data[pos:pos + attr_len]
        pos += attr_len
    return attrs, end


def encode_attributes(attrs: list[tuple[int, bytes]]) -> bytes:
    """An AttributeList from ``(id, value)`` pairs."""
    body = b"".join(struct.pack(">HH", a, len(v)) + v for a, v in attrs)
    return struct.pack(">HH", len(attrs), len(body)) + body


def decode_string(value: bytes) -> str:
    """A Philips String (``u16 length`` + UTF-16BE), trimmed of padding NULs and blanks."""
    if len(value) < 2:
        return ""
    (length,) = struct.unpack_from(">H", value)
    text = value[2:2 + length]
    if len(text) % 2:
        text = text[:-1]
    return text.decode("utf-16-be", errors="replace").split("\x00", 1)[0].strip()


def encode_string(text: str) -> bytes:
    """A Philips String: UTF-16BE with a terminating NUL, padded to even length."""
    raw = text.encode("utf-16-be") + b"\x00\x00"
    return struct.pack(">H", len(raw)) + raw


def decode_model(value: bytes) -> tuple[str, str]:
    """SystemModel: two variable-length byte strings (manufacturer, model number)."""
    out: list[str] = []
    pos = 0
    for _ in range(2):
        if pos + 2 > len(value):
            break
        (n,) = struct.unpack_from(">H", value, pos)
        out.append(value[pos + 2:pos + 2 + n].split(b"\x00", 1)[0].decode("latin-1").strip())
        pos += 2 + n
    while len(out) < 2:
        out.append("")
    return out[0], out[1]


def encode_model(manufacturer: str, model: str) -> bytes:
    """SystemModel of two NUL-terminated, even-length strings."""
    out = b""
    for text in (manufacturer, model):
        raw = text.encode("latin-1") + b"\x00"
        if len(raw) % 2:
            raw += b"\x00"
        out += struct.pack(">H", len(raw)) + raw
    return out


# --- observed values --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NuValue:
    """One NuObsValue: physio id, measurement state, unit code and decoded FLOAT."""

    physio_id: int
    state: int
    unit_code: int
    value: float | None


def decode_nu_value(value: bytes, offset: int = 0) -> NuValue:
    """One 10-byte NuObsValue at ``offset``."""
    if offset + 10 > len(value):
        raise DecodeError("numeric observed value shorter than 10 bytes")
    physio, state, unit, raw = struct.unpack_from(">HHHI", value, offset)
    return NuValue(physio, state, unit, decode_float(raw))


def decode_nu_compound(value: bytes) -> list[NuValue]:
    """NuObsValueCmp: ``u16 count, u16 length`` then ``count`` NuObsValues."""
    if len(value) < 4:
        raise DecodeError("compound numeric value shorter than its header")
    count, _length = struct.unpack_from(">HH", value)
    if 4 + 10 * count > len(value):
        raise DecodeError("compound numeric value shorter than its count")
    return [decode_nu_value(value, 4 + 10 * i) for i in range(count)]


@dataclass(frozen=True, slots=True)
class SaValue:
    """One SaObsValue: physio id, state and the raw sample bytes (big-endian u16 samples)."""

    physio_id: int
    state: int
    data: bytes


def decode_sa_value(value: bytes, offset: int = 0) -> tuple[SaValue, int]:
    """SaObsValue at ``offset``: ``u16 physio, u16 state, u16 length, bytes``; returns it and the end."""
    if offset + 6 > len(value):
        raise DecodeError("sample array value shorter than its header")
    physio, state, length = struct.unpack_from(">HHH", value, offset)
    end = offset + 6 + length
    if end > len(value):
        raise DecodeError("sample array value shorter than its length")
    return SaValue(physio, state, value[offset + 6:end]), end


def decode_sa_compound(value: bytes) -> list[SaValue]:
    """SaObsValueCmp: ``u16 count, u16 length`` then ``count`` SaObsValues."""
    if len(value) < 4:
        raise DecodeError("compound sample array shorter than its header")
    (count,) = struct.unpack_from(">H", value)
    out: list[SaValue] = []
    pos = 4
    for _ in range(count):
        item, pos = decode_sa_value(value, pos)
        out.append(item)
    return out


@dataclass(frozen=True, slots=True)
class SaSpec:
    """SaSpec: samples per array, sample size in bits, significant bits and flags."""

    array_size: int
    sample_size: int
    significant_bits: int
    flags: int


def decode_sa_spec(value: bytes) -> SaSpec:
    if len(value) < 6:
        raise DecodeError("sample array spec shorter than 6 bytes")
    size, sample_size, bits, flags = struct.unpack_from(">HBBH", value)
    return SaSpec(size, sample_size, bits, flags)


@dataclass(frozen=True, slots=True)
class ScaleRange:
    """ScaleRangeSpec16: physical ``low..high`` maps to raw ``low_scaled..high_scaled``."""

    low: float
    high: float
    low_scaled: int
    high_scaled: int

    @property
    def usable(self) -> bool:
        return self.high_scaled != self.low_scaled


def decode_scale(value: bytes) -> ScaleRange | None:
    """ScaleRangeSpec16, or ``None`` when its bounds are special values."""
    if len(value) < 12:
        raise DecodeError("scale and range shorter than 12 bytes")
    lo_raw, hi_raw, lo_s, hi_s = struct.unpack_from(">IIHH", value)
    lo, hi = decode_float(lo_raw), decode_float(hi_raw)
    if lo is None or hi is None:
        return None
    return ScaleRange(lo, hi, lo_s, hi_s)


def decode_u16(value: bytes) -> int:
    if len(value) < 2:
        raise DecodeError("u16 attribute shorter than 2 bytes")
    number: int = struct.unpack_from(">H", value)[0]
    return number


def decode_u32(value: bytes) -> int:
    if len(value) < 4:
        raise DecodeError("u32 attribute shorter than 4 bytes")
    number: int = struct.unpack_from(">I", value)[0]
    return number


# --- messages ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class RemoteOperation:
    """The remote-operation envelope of a Data Export command."""

    ro_type: int
    invoke_id: int
    command: int  # command type; for errors, the error value
    body: bytes  # what follows the ROIV/RORS/ROER/ROLRS header
    linked_state: int = 0  # 1 first, 2 middle, 3 last (linked results only)
    linked_count: int = 0


def parse_remote_operation(user_data: bytes) -> RemoteOperation:
    """Parse ``SPpdu | ROapdus | ROxx`` of a Data Export command (user data starting with ``E1 00``)."""
    if len(user_data) < 8:
        raise DecodeError("data export command shorter than its headers")
    ro_type, _ro_len = struct.unpack_from(">HH", user_data, 4)
    pos = 8
    linked_state = linked_count = 0
    if ro_type == RO_LINKED_RESULT:
        if len(user_data) < pos + 2:
            raise DecodeError("linked result shorter than its header")
        linked_state, linked_count = user_data[pos], user_data[pos + 1]
        pos += 2
    elif ro_type not in (RO_INVOKE, RO_RESULT, RO_ERROR):
        raise DecodeError(f"unknown remote operation type {ro_type}")
    if len(user_data) < pos + 6:
        raise DecodeError("remote operation shorter than its header")
    invoke_id, command, length = struct.unpack_from(">HHH", user_data, pos)
    pos += 6
    body = user_data[pos:pos + length]
    return RemoteOperation(ro_type, invoke_id, command, body, linked_state, linked_count)


@dataclass(slots=True)
class EventReport:
    """An EventReportArgument (from an ROIV): the MDS Create arrives as one."""

    obj_class: int
    context: int
    handle: int
    event_time: int
    event_type: int
    info: bytes


def parse_event_report(body: bytes) -> EventReport:
    if len(body) < 14:
        raise DecodeError("event report shorter than its header")
    cls, ctx, handle, ev_time, ev_type, length = struct.unpack_from(">HHHIHH", body)
    return EventReport(cls, ctx, handle, ev_time, ev_type, body[14:14 + length])


@dataclass(slots=True)
class MdsInfo:
    """What the MDS Create event says about the monitor."""

    manufacturer: str = ""
    model: str = ""
    abs_time: bytes = b""  # raw BCD clock
    rel_time: int | None = None
    attributes: dict[int, bytes] = field(default_factory=dict)


def parse_mds_create(info: bytes) -> MdsInfo:
    """MdsCreateInfo: ManagedObjectId then the MDS attribute list."""
    if len(info) < 6:
        raise DecodeError("MDS create info shorter than its object id")
    attrs, _ = parse_attributes(info, 6)
    mds = MdsInfo(attributes=attrs)
    if ATTR_MODEL in attrs:
        mds.manufacturer, mds.model = decode_model(attrs[ATTR_MODEL])
    if ATTR_TIME_ABS in attrs:
        mds.abs_time = bytes(attrs[ATTR_TIME_ABS][:8])
    if ATTR_TIME_REL in attrs and len(attrs[ATTR_TIME_REL]) >= 4:
        mds.rel_time = decode_u32(attrs[ATTR_TIME_REL])
    return mds


@dataclass(slots=True)
class ActionResult:
    obj_class: int
    context: int
    handle: int
    action_type: int
    data: bytes


def parse_action_result(body: bytes) -> ActionResult:
    if len(body) < 10:
        raise DecodeError("action result shorter than its header")
    cls, ctx, handle, action, length = struct.unpack_from(">HHHHH", body)
    return ActionResult(cls, ctx, handle, action, body[10:10 + length])


@dataclass(slots=True)
class ObservationPoll:
    context: int
    handle: int
    attributes: dict[int, bytes]


@dataclass(slots=True)
class PollReply:
    """A PollMdibDataReplyExt (or, with ``sequence_no`` 0 and no times, a single-poll reply)."""

    poll_number: int
    sequence_no: int
    rel_time: int
    abs_time: bytes
    partition: int
    code: int
    attr_group: int
    observations: list[ObservationPoll]


def parse_poll_reply(data: bytes, extended: bool = True) -> PollReply:
    """Parse an extended (``0xF13B``) or single (``0x0C16``) poll reply body."""
    unpack = struct.unpack_from
    if extended:
        if len(data) < 22:
            raise DecodeError("extended poll reply shorter than its header")
        poll_number, seq, rel = unpack(">HHI", data)
        abs_time = data[8:16]
        partition, code, group = unpack(">HHH", data, 16)
        pos = 22
    else:
        if len(data) < 18:
            raise DecodeError("poll reply shorter than its header")
        poll_number, rel = unpack(">HI", data)
        seq = 0
        abs_time = data[6:14]
        partition, code, group = unpack(">HHH", data, 14)
        pos = 20
    if pos + 4 > len(data):
        raise DecodeError("poll info list header missing")
    n_contexts, _length = unpack(">HH", data, pos)
    pos += 4
    observations: list[ObservationPoll] = []
    size = len(data)
    for _ in range(n_contexts):
        if pos + 6 > size:
            raise DecodeError("single context poll header runs past the end")
        context, n_obs, _len = unpack(">HHH", data, pos)
        pos += 6
        for _ in range(n_obs):
            if pos + 2 > size:
                raise DecodeError("observation poll runs past the end")
            (handle,) = unpack(">H", data, pos)
            attrs, pos = parse_attributes(data, pos + 2)
            observations.append(ObservationPoll(context, handle, attrs))
    return PollReply(poll_number, seq, rel, bytes(abs_time), partition, code, group, observations)


# --- association user data --------------------------------------------------------------------------------
def read_li(data: bytes, pos: int) -> tuple[int, int]:
    """A session-layer length indicator at ``pos`` (one byte, or ``FF hi lo``): ``(length, next pos)``."""
    if pos >= len(data):
        raise DecodeError("length indicator missing")
    if data[pos] == 0xFF:
        if pos + 3 > len(data):
            raise DecodeError("long length indicator truncated")
        return struct.unpack_from(">H", data, pos + 1)[0], pos + 3
    return data[pos], pos + 1


def encode_li(length: int) -> bytes:
    """A session-layer length indicator."""
    return bytes([length]) if length <= 254 else b"\xff" + struct.pack(">H", length)


def encode_asn_length(length: int) -> bytes:
    """An ASN.1 BER length (``0x82 hi lo`` above 127, as the guide's example shows)."""
    if length <= 127:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    return b"\x82" + struct.pack(">H", length)


@dataclass(slots=True)
class UserInfo:
    """The MDSEUserInfoStd of an association request or response, with the poll profile unpacked."""

    protocol_version: int = 0
    nomenclature_version: int = 0
    functional_units: int = 0
    system_type: int = 0
    startup_mode: int = 0
    min_poll_period: int | None = None  # ticks of 1/8 ms
    max_mtu_rx: int | None = None
    max_mtu_tx: int | None = None
    profile_options: int | None = None
    ext_options: int | None = None


# The user data follows this fixed tail of the presentation header (guide, "Association Response Message").
_USER_DATA_MARKERS = (b"\xbe\x80\x28\x80\x02\x01\x02\x81", b"\xbe\x80\x28\x80\x81")


def find_user_info(message: bytes) -> int | None:
    """Offset of the ASN length that starts the MDSEUserInfoStd in an association request/response."""
    for marker in _USER_DATA_MARKERS:
        at = message.find(marker)
        if at >= 0:
            return at + len(marker)
    # a request's presentation header ends with the OID form "... 01 01 02 01 02 81"
    at = message.find(b"\x01\x02\x01\x02\x81")
    return at + 5 if at >= 0 else None


def parse_user_info(message: bytes) -> UserInfo:
    """The negotiated (or requested) options in an association request or response message."""
    pos = find_user_info(message)
    if pos is None or pos >= len(message):
        raise DecodeError("association message without user information")
    first = message[pos]
    if first & 0x80:
        nbytes = first & 0x7F
        pos += 1 + nbytes
    else:
        pos += 1
    if pos + 24 > len(message):
        raise DecodeError("association user information truncated")
    info = UserInfo(*struct.unpack_from(">IIIII", message, pos))
    _option_list, pos = parse_attributes(message, pos + 20)
    profiles, _ = parse_attributes(message, pos)
    profile = profiles.get(ATTR_POLL_PROFILE_SUPPORT)
    if profile is not None and len(profile) >= 24:
        _rev, info.min_poll_period, info.max_mtu_rx, info.max_mtu_tx, _bw, info.profile_options = (
            struct.unpack_from(">IIIIII", profile))
        if len(profile) >= 28:
            packages, _ = parse_attributes(profile, 24)
            ext = packages.get(ATTR_POLL_PROFILE_EXT)
            if ext is not None and len(ext) >= 4:
                info.ext_options = decode_u32(ext)
    return info

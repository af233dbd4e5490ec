"""Masimo "ASCII 1" line format: parsing one line into fields, and the meaning of the EXC and ALARM bits.

Pure functions, no state: :mod:`devices.protocols.masimo.driver` turns parsed lines into samples, and
:mod:`devices.protocols.masimo.emulator` formats lines the same way the monitor does.

A line looks like (the field set varies by model and firmware, so fields are read as ``KEY=VALUE`` tokens,
never by position)::

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+--
    ALARM=0000 EXC=000800

(one line on the wire, wrapped here).

Dashes mean "no value". ``EXC`` (exceptions) and ``ALARM`` are hexadecimal bit fields.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from devices import mdc
from devices.model import AlarmPriority, State

# The line's clock: MM/DD/YY HH:MM:SS. Searched (not matched at the start) so that line noise in front of a
# line costs only the noise, not the line.
DATE_RE = re.compile(rb"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")
KEY_RE = re.compile(r"^[A-Z][A-Z0-9]*$")
NUMBER_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)%?$")
DASHES_RE = re.compile(r"^[+-]?-+(?:\.-+)?%?$")
HEX_RE = re.compile(r"^[0-9A-Fa-f]{1,8}$")

#: fields holding hexadecimal bit fields rather than measurements
BIT_FIELDS = frozenset({"ALARM", "EXC", "EXC1"})
#: fields that identify the device rather than measure anything
IDENTITY_FIELDS = frozenset({"SN"})
#: the fields every model sends: a line without any of them is not an ASCII 1 line
CORE_FIELDS = ("SPO2", "BPM", "PI")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one measurement field maps onto the sample model."""

    mdc: int
    unit: str
    text: str  # plain-words name for the technician's table


#: measurement fields; a field not listed here is still decoded (mdc 0, unit "") and kept under its key
FIELDS: dict[str, FieldSpec] = {
    "SPO2": FieldSpec(mdc.SPO2, "%", "oxygen saturation"),
    "BPM": FieldSpec(mdc.PULSE_RATE_OXIM, "/min", "pulse rate"),
    "PI": FieldSpec(mdc.PERF_INDEX, "%", "perfusion index"),
    # No MDC code in devices/mdc.py for the Rainbow parameters: kept under their Masimo key with mdc 0.
    "SPCO": FieldSpec(0, "%", "carboxyhaemoglobin saturation"),
    "SPMET": FieldSpec(0, "%", "methaemoglobin saturation"),
    "SPHB": FieldSpec(0, "g/dL", "total haemoglobin"),
    "SPOC": FieldSpec(0, "mL/dL", "oxygen content"),
    "PVI": FieldSpec(0, "%", "pleth variability index"),
    "DESAT": FieldSpec(0, "", "desaturation index"),
    "PIDELTA": FieldSpec(0, "%", "perfusion index change"),
    "RESVD": FieldSpec(0, "", "reserved"),
}

#: the fields the EXC exception bits qualify (the SET oximetry core)
EXC_QUALIFIED = frozenset({"SPO2", "BPM", "PI"})


@dataclass(frozen=True, slots=True)
class Bit:
    """One bit of the EXC or ALARM field: what it does to the values and which alarm it raises."""

    mask: int
    code: str
    text: str
    state: State = State.NONE
    priority: AlarmPriority = AlarmPriority.LOW
    technical: bool = True
    mdc: int = 0


SENSOR_GONE = State.SENSOR_OFF | State.UNAVAILABLE

#: EXC bits. 0x800 "SET processing active" is the normal state and raises nothing.
EXC_BITS: tuple[Bit, ...] = (
    Bit(0x0001, "masimo.no_sensor", "SpO2: no sensor connected", SENSOR_GONE, AlarmPriority.MEDIUM),
    Bit(0x0002, "masimo.defective_sensor", "SpO2: defective sensor, replace it", State.INVALID,
        AlarmPriority.MEDIUM),
    Bit(0x0004, "masimo.low_perfusion", "SpO2: low perfusion", State.LOW_PERFUSION, AlarmPriority.LOW),
    Bit(0x0008, "masimo.pulse_search", "SpO2: searching for pulse", State.SEARCHING, AlarmPriority.LOW),
    Bit(0x0010, "masimo.interference", "SpO2: interference detected", State.QUESTIONABLE, AlarmPriority.LOW),
    Bit(0x0020, "masimo.sensor_off", "SpO2: sensor off the patient", SENSOR_GONE, AlarmPriority.MEDIUM),
    Bit(0x0040, "masimo.ambient_light", "SpO2: too much ambient light", State.QUESTIONABLE,
        AlarmPriority.LOW),
    Bit(0x0080, "masimo.unrecognised_sensor", "SpO2: sensor not recognised", State.INVALID,
        AlarmPriority.MEDIUM),
    Bit(0x0400, "masimo.low_signal_iq", "SpO2: low signal quality (SIQ)", State.QUESTIONABLE,
        AlarmPriority.LOW),
    Bit(0x1000, "masimo.no_cable", "SpO2: no patient cable connected", SENSOR_GONE, AlarmPriority.MEDIUM),
)
EXC_SET_ACTIVE = 0x0800

ALARM_ACTIVE = 0x0010
ALARM_SILENCED = 0x0020

#: ALARM bits that name a condition. "alarm active" (0x10) and "silenced" (0x20) qualify them.
ALARM_BITS: tuple[Bit, ...] = (
    Bit(0x0001, "masimo.spo2_high", "SpO2 above the monitor's high limit", priority=AlarmPriority.MEDIUM,
        technical=False, mdc=mdc.SPO2),
    Bit(0x0002, "masimo.spo2_low", "SpO2 below the monitor's low limit", priority=AlarmPriority.HIGH,
        technical=False, mdc=mdc.SPO2),
    Bit(0x0004, "masimo.pr_high", "Pulse rate above the monitor's high limit", priority=AlarmPriority.MEDIUM,
        technical=False, mdc=mdc.PULSE_RATE_OXIM),
    Bit(0x0008, "masimo.pr_low", "Pulse rate below the monitor's low limit", priority=AlarmPriority.MEDIUM,
        technical=False, mdc=mdc.PULSE_RATE_OXIM),
    Bit(0x0040, "masimo.low_battery", "Oximeter battery low", priority=AlarmPriority.LOW, technical=True),
)
ALARM_ACTIVE_UNNAMED = Bit(ALARM_ACTIVE, "masimo.alarm_active", "Oximeter alarm active",
                           priority=AlarmPriority.MEDIUM, technical=False)
#: every alarm this format can raise, by code
BITS_BY_CODE: dict[str, Bit] = {bit.code: bit for bit in (*EXC_BITS, *ALARM_BITS, ALARM_ACTIVE_UNNAMED)}


class LineError(ValueError):
    """The line is not a well-formed ASCII 1 line; the message says which part."""


@dataclass(slots=True)
class ParsedLine:
    """One decoded line. ``values`` keeps every measurement field in line order (``None`` for dashes)."""

    device_time: float | None
    values: dict[str, float | None] = field(default_factory=dict)
    exc: int = 0
    exc1: int = 0
    alarm: int = 0
    serial: str = ""
    skipped_prefix: int = 0  # bytes of noise in front of the line's clock
    unknown: dict[str, str] = field(default_factory=dict)  # unparsable fields the driver does not know


def parse_device_time(match: re.Match[bytes]) -> float:
    """POSIX time of a line's ``MM/DD/YY HH:MM:SS``.

    The oximeter's clock has no time zone: it is the local wall-clock time the monitor was set to. It is read
    as naive local time of this computer (the monitor sits in the same room), so a host in another zone than
    the monitor's setting shifts device times by the difference. Two-digit years are 2000-2099.
    """
    month, day, year, hour, minute, second = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        raise LineError(f"impossible date/time {match.group(0).decode()}")
    try:
        return time.mktime((2000 + year, month, day, hour, minute, second, 0, 0, -1))
    except (OverflowError, ValueError) as exc:  # pragma: no cover - platform limits
        raise LineError(f"impossible date/time {match.group(0).decode()}") from exc


def format_device_time(posix: float) -> str:
    """The line's clock for ``posix`` in this computer's local time (inverse of :func:`parse_device_time`)."""
    return time.strftime("%m/%d/%y %H:%M:%S", time.localtime(posix))


def parse_value(key: str, text: str) -> float | None:
    """``"098%"`` → 98.0, ``"+05"`` → 5.0, ``"--.-%"`` → None; raises :class:`LineError` otherwise."""
    if DASHES_RE.match(text):
        return None
    m = NUMBER_RE.match(text)
    if m is None:
        raise LineError(f"{key}={text!r} is neither a number nor dashes")
    return float(m.group(1))


def parse_line(raw: bytes) -> ParsedLine:
    """Parse one line (without its line ending). Raises :class:`LineError` for anything not ASCII 1.

    A line is accepted only when every token after the clock is a well-formed ``KEY=VALUE``, at least one of
    SPO2/BPM/PI is present and the closing EXC field is complete; with no checksum in the format, a half-good
    line is rejected rather than guessed at.
    """
    # overlapping search: in "…15:33:2" + "11/25/26 15:33:23 …" the cut clock would otherwise swallow the
    # first digit of the next line's clock
    matches = [m for start in range(len(raw)) if (m := DATE_RE.match(raw, start))]
    if not matches:
        raise LineError("no MM/DD/YY HH:MM:SS clock in the line")
    # A line cut short runs into the next one (ASCII 1 has no start marker): when the text from the first
    # clock is not a whole line, the whole line may start at a later clock, so try each in turn.
    first_error: LineError | None = None
    for match in matches:
        try:
            return _parse_from(raw, match)
        except LineError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _parse_from(raw: bytes, match: re.Match[bytes]) -> ParsedLine:
    """Parse ``raw`` as one line starting at the clock ``match``."""
    try:
        rest = raw[match.end():].decode("ascii")
    except UnicodeDecodeError as exc:
        raise LineError(f"non-ASCII byte at column {match.end() + exc.start}") from exc
    result = ParsedLine(device_time=parse_device_time(match), skipped_prefix=match.start())
    seen_core = False
    seen: set[str] = set()
    exc_text = alarm_text = ""
    for token in rest.split():
        key, sep, value = token.partition("=")
        if not sep or not KEY_RE.match(key) or not value:
            raise LineError(f"token {token!r} is not KEY=VALUE")
        if key in seen:
            raise LineError(f"field {key} appears twice")
        seen.add(key)
        if key in IDENTITY_FIELDS:
            result.serial = "" if DASHES_RE.match(value) else value
        elif key in BIT_FIELDS:
            if not HEX_RE.match(value):
                raise LineError(f"{key}={value!r} is not hexadecimal")
            setattr(result, key.lower(), int(value, 16))
            if key == "EXC":
                exc_text = value
            elif key == "ALARM":
                alarm_text = value
        elif key in FIELDS:
            result.values[key] = parse_value(key, value)
            seen_core = seen_core or key in CORE_FIELDS
        else:
            # A field of a model or firmware not described yet: keep it when it reads as a value.
            try:
                result.values[key] = parse_value(key, value)
            except LineError:
                result.unknown[key] = value
    if not seen_core:
        raise LineError("none of SPO2, BPM, PI in the line")
    # Every model ends its line with EXC (zero-padded to 6+ digits). Without a checksum this is the only sign
    # that a line was cut short: "SPO2=09" at the end of a cut line would otherwise read as SpO2 9 %.
    if "EXC" not in seen:
        raise LineError("no EXC field: the line is cut short")
    if len(exc_text) < 6 or "ALARM" in seen and len(alarm_text) < 4:
        raise LineError("EXC/ALARM field shorter than the monitor prints it: the line is cut short")
    return result


def exc_state(exc: int) -> State:
    """State flags the EXC bits put on SpO2, pulse rate and PI."""
    state = State.NONE
    for bit in EXC_BITS:
        if exc & bit.mask:
            state |= bit.state
    return state


def active_alarms(exc: int, alarm: int) -> dict[str, tuple[Bit, str]]:
    """Alarm code → (bit, text) of every condition the EXC and ALARM fields report as present."""
    result: dict[str, tuple[Bit, str]] = {}
    for bit in EXC_BITS:
        if exc & bit.mask:
            result[bit.code] = (bit, bit.text)
    suffix = " (audio silenced on the oximeter)" if alarm & ALARM_SILENCED else ""
    named = False
    for bit in ALARM_BITS:
        if alarm & bit.mask:
            named = named or not bit.technical
            result[bit.code] = (bit, bit.text + ("" if bit.technical else suffix))
    if alarm & ALARM_ACTIVE and not named:
        result[ALARM_ACTIVE_UNNAMED.code] = (ALARM_ACTIVE_UNNAMED, ALARM_ACTIVE_UNNAMED.text + suffix)
    return result


def format_value(value: float | None, width: int, decimals: int = 0, percent: bool = False) -> str:
    """A field value the way the monitor prints it: zero-padded, or dashes when there is no value."""
    if value is None:
        text = "-" * width if decimals == 0 else "-" * (width - decimals - 1) + "." + "-" * decimals
    else:
        text = f"{value:0{width}.{decimals}f}"
    return text + ("%" if percent else "")

"""One typed sample model for every driver and the simulator.

Everything a device produces is one of:

* :class:`Numeric`: one value of one parameter (HR, SpO2, NIBP systolic, ...), with its IEEE 11073 MDC code,
  UCUM unit, measurement state and both clocks;
* :class:`WaveBlock`: a contiguous run of waveform samples at a fixed rate, with a gap flag when it does not
  follow on from the previous block of the same channel (gaps are marked, never padded);
* :class:`DeviceAlarm`: an alarm or INOP the monitor itself reports (Masimo ALARM bits, Philips alerts);
* :class:`LinkEvent`: a change in the link (connected, associated, lost, ...), produced by drivers and by the
  acquisition loop, never per sample.

Times are POSIX seconds (UTC) as floats: ``host_time`` is when the bytes arrived here, ``device_time`` what the
device said (``None`` when the protocol carries no clock). Floats keep the hot path cheap; storage converts
to timezone-aware datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class State(enum.Flag):
    """Measurement state flags, a superset of what the supported protocols report.

    ``INVALID``, ``QUESTIONABLE`` and ``UNAVAILABLE`` make a value unusable for display; ``DEMO`` and ``TEST``
    mark data that did not come from a patient and must be shown as such.
    """

    NONE = 0
    INVALID = enum.auto()
    QUESTIONABLE = enum.auto()
    UNAVAILABLE = enum.auto()
    CALIBRATING = enum.auto()
    DEMO = enum.auto()
    TEST = enum.auto()
    MEASURING = enum.auto()  # e.g. NIBP cuff inflating; the value is the last result
    IN_ALARM = enum.auto()
    ALARMS_INHIBITED = enum.auto()
    SENSOR_OFF = enum.auto()
    LEAD_OFF = enum.auto()
    ARTIFACT = enum.auto()
    LOW_PERFUSION = enum.auto()
    SEARCHING = enum.auto()  # pulse search, out of track
    OUT_OF_RANGE = enum.auto()
    NOT_UPDATED = enum.auto()
    STALE = enum.auto()  # older than the device's own freshness limit (e.g. Datex NIBP > 60 s)
    EARLY_INDICATION = enum.auto()


#: States that make a value unusable for display (shown as dashes).
UNUSABLE = State.INVALID | State.QUESTIONABLE | State.UNAVAILABLE
#: States that make a value not *valid* in the exported sense: unusable, or not from a patient.
NOT_VALID = UNUSABLE | State.DEMO | State.TEST


def state_names(state: State) -> list[str]:
    """Lower-case names of the flags set in ``state``, in declaration order (``["invalid", "demo"]``)."""
    return [m.name.lower() for m in State if m.value and m in state and m.name is not None]


def state_from_names(names: list[str]) -> State:
    """Inverse of :func:`state_names`; unknown names raise ``KeyError``."""
    result = State.NONE
    for name in names:
        result |= State[name.upper()]
    return result


@dataclass(frozen=True, slots=True)
class Numeric:
    """One value of one parameter.

    ``value`` is ``None`` when the device says there is no value (dashes, NaN, marker codes).
    ``mdc`` is the IEEE 11073-10101 code (partition × 65536 + term), or 0 for a parameter the driver could not
    map; such values are kept under their ``label``, never dropped.
    """

    mdc: int
    label: str
    value: float | None
    unit: str
    state: State = State.NONE
    device_time: float | None = None
    host_time: float = 0.0
    source: str = ""  # device/profile name, filled by the acquisition loop

    @property
    def usable(self) -> bool:
        """True when the value can be displayed (demo/test data is usable but must be marked)."""
        return self.value is not None and not (self.state & UNUSABLE)

    @property
    def valid(self) -> bool:
        """True for a real, usable patient value: false for unusable, demo and test data."""
        return self.value is not None and not (self.state & NOT_VALID)


@dataclass(frozen=True, slots=True, eq=False)
class WaveBlock:
    """Contiguous waveform samples of one channel.

    ``t0`` is the time of ``samples[0]`` (device clock mapped to POSIX seconds when the device has one, else host
    time); sample ``i`` is at ``t0 + i / fs``. ``gap`` is true when this block does not follow on from the
    previous block of the same channel (lost frames, reconnection, device restart).
    """

    mdc: int
    label: str
    t0: float
    fs: float
    samples: np.ndarray
    unit: str
    gap: bool = False
    state: State = State.NONE
    host_time: float = 0.0
    source: str = ""

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return len(self) / self.fs


class AlarmPriority(enum.IntEnum):
    """IEC 60601-1-8 priorities; higher value = more urgent."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True, slots=True)
class DeviceAlarm:
    """An alarm or technical condition reported by the monitor itself (not evaluated by Chairside)."""

    code: str  # stable identifier, e.g. "masimo.spo2_low", "masimo.sensor_off"
    text: str  # plain words for the clinician
    priority: AlarmPriority
    active: bool
    technical: bool = False
    mdc: int = 0
    host_time: float = 0.0
    source: str = ""


class LinkState(enum.Enum):
    """Life cycle of the link to one device, as the UI and the record see it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"  # port open, no protocol contact yet
    ASSOCIATED = "associated"  # protocol contact established, data flowing
    SILENT = "silent"  # port open but nothing decodable for too long
    LOST = "lost"  # port vanished or association aborted; reconnecting
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """A change in the state of a device link, with the reason in plain words."""

    state: LinkState
    message: str = ""
    host_time: float = 0.0
    source: str = ""


Sample = Numeric | WaveBlock | DeviceAlarm | LinkEvent


@dataclass(slots=True)
class DecodeStats:
    """Counters every driver keeps, shown in the technician's diagnostics panel and by ``chairside decode``."""

    bytes_in: int = 0
    bytes_out: int = 0
    frames_ok: int = 0
    frames_bad: int = 0
    resyncs: int = 0
    last_error: str = ""
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int | str]:
        return {
            "frames_ok": self.frames_ok,
            "frames_bad": self.frames_bad,
            "bytes": self.bytes_in,
            "resyncs": self.resyncs,
        }

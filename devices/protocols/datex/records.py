"""Datex-Ohmeda Record (DRI) layouts: the 40-byte header, subrecord descriptors, displayed values, waveforms.

Facts from the DRI specification (GE document 8005313, 12th ed.) and checked on the CARESCAPE B650 captures:

* Header, little-endian, 1-byte aligned: ``s16 r_len`` (whole record), ``u8 r_nbr`` (per-main-type record
  counter), ``u8 dri_level``, ``u16 plug_id``, ``u32 r_time`` (Unix seconds), ``u8 n_subnet``, ``u8``, ``u16``
  reserved, ``s16 r_maintype``, then 8 descriptors ``s16 offset`` (from byte 40) ``u8 type``; type 0xFF ends
  the list.
* A physiological-database subrecord (displayed values, 10-s/60-s trend) is 278 bytes: ``u32 time``, 270 bytes
  of one class's groups, ``u8 marker``, ``u8 reserved``, ``u16 cl_drilvl_subt`` (bits 8-11 = class).
* A waveform subrecord is ``s16 n``, ``u16 status``, ``u16 label``, then ``n`` × ``s16`` samples.
* Measured values are ``s16``; values ≤ -32001 are markers, not data.

This module only parses and builds bytes; turning them into samples with clocks and continuity is
:mod:`devices.protocols.datex.driver`'s job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from devices import mdc
from devices.model import State

from .framing import HEADER_SIZE

# --- record main types and subrecord types ------------------------------------------------------------------

MT_PHDB = 0  # physiological database and its requests
MT_WAVE = 1  # waveforms and their requests
MT_ALARM = 4  # alarms (CARESCAPE only)

SR_REQUEST = 0  # in both MT_PHDB and MT_WAVE records: a transmission request (host to monitor)
PH_DISPL = 1  # displayed values
PH_10S_TREND = 2
PH_60S_TREND = 3
PH_AUX_INFO = 4
EOL_SUBR_LIST = 0xFF

#: phdb_class_bf request bits: basic is always sent unless denied (bit 0); 0x0E asks for ext1-ext3 too.
CLASS_EXT1 = 0x02
CLASS_EXT2 = 0x04
CLASS_EXT3 = 0x08
CLASS_ALL_EXT = CLASS_EXT1 | CLASS_EXT2 | CLASS_EXT3

CLASS_BASIC, CLASS_EXT1_ID, CLASS_EXT2_ID, CLASS_EXT3_ID = 0, 1, 2, 3

PHDB_SUBRECORD_SIZE = 278
PHDB_DATA_SIZE = 270

# marker values of measured data (8005313 Table 3-9; -32765 discontinuity per PROTOCOLS.md)
DATA_INVALID = -32767
DATA_NOT_UPDATED = -32766
DATA_DISCONTINUITY = -32765
DATA_UNDER_RANGE = -32764
DATA_OVER_RANGE = -32763
DATA_NOT_CALIBRATED = -32762
#: the largest marker value; valid data is ≥ -32000
MARKER_MAX = -32001
#: waveform samples at or below this are control codes, not data
WAVE_CONTROL_MAX = -32000

MARKER_STATES: dict[int, State] = {
    DATA_INVALID: State.INVALID,
    DATA_NOT_UPDATED: State.NOT_UPDATED,
    DATA_DISCONTINUITY: State.QUESTIONABLE,
    DATA_UNDER_RANGE: State.OUT_OF_RANGE,
    DATA_OVER_RANGE: State.OUT_OF_RANGE,
    DATA_NOT_CALIBRATED: State.CALIBRATING,
}


def marker_state(raw: int) -> State:
    """The state a marker value stands for; unknown markers count as invalid."""
    return MARKER_STATES.get(raw, State.INVALID)


class DatexFormatError(ValueError):
    """A record that passed the frame checks but whose inside does not fit the DRI layout."""


# --- header -------------------------------------------------------------------------------------------------

_HEAD = struct.Struct("<hBBHIBBHh")  # 16 bytes up to and including r_maintype
_DESC = struct.Struct("<hB")
N_DESCRIPTORS = 8


@dataclass(frozen=True, slots=True)
class RecordHeader:
    """What a receiver needs of a record header; ``subrecords`` is ``(type, start, end)`` in the record."""

    r_len: int
    r_nbr: int
    dri_level: int
    plug_id: int
    r_time: int
    maintype: int
    subrecords: tuple[tuple[int, int, int], ...]


def parse_header(record: bytes) -> RecordHeader:
    """Parse and check the header of a framed record; raise :class:`DatexFormatError` if it does not fit."""
    if len(record) < HEADER_SIZE:
        raise DatexFormatError(f"record of {len(record)} bytes is shorter than its {HEADER_SIZE}-byte header")
    r_len, r_nbr, level, plug, r_time, _subnet, _res2, _res3, maintype = _HEAD.unpack_from(record, 0)
    starts: list[tuple[int, int]] = []
    for i in range(N_DESCRIPTORS):
        offset, sr_type = _DESC.unpack_from(record, 16 + 3 * i)
        if sr_type == EOL_SUBR_LIST:
            break
        start = HEADER_SIZE + offset
        if offset < 0 or start > len(record):
            raise DatexFormatError(f"subrecord {i} (type {sr_type}) starts at offset {offset}, outside the "
                                   "record")
        starts.append((sr_type, start))
    # a subrecord runs to the next one's start (descriptors ascend in practice; sorted to be sure)
    ordered = sorted({s for _, s in starts}) + [len(record)]
    bounds = {s: ordered[k + 1] for k, s in enumerate(ordered[:-1])}
    subs = tuple((t, s, bounds[s]) for t, s in starts)
    return RecordHeader(r_len, r_nbr, level, plug, r_time, maintype, subs)


def build_record(maintype: int, subrecords: list[tuple[int, bytes]], *, r_nbr: int = 0, dri_level: int = 0,
                 plug_id: int = 0, r_time: int = 0) -> bytes:
    """A record (without framing) with a header describing ``subrecords`` (type, body) laid out in order."""
    if len(subrecords) > N_DESCRIPTORS:
        raise ValueError(f"a record holds at most {N_DESCRIPTORS} subrecords, not {len(subrecords)}")
    body = bytearray()
    descs = bytearray()
    for sr_type, data in subrecords:
        descs += _DESC.pack(len(body), sr_type)
        body += data
    if len(subrecords) < N_DESCRIPTORS:
        descs += _DESC.pack(0, EOL_SUBR_LIST)
    descs += bytes(3 * N_DESCRIPTORS - len(descs))
    r_len = HEADER_SIZE + len(body)
    head = _HEAD.pack(r_len, r_nbr & 0xFF, dri_level, plug_id, r_time & 0xFFFFFFFF, 0, 0, 0, maintype)
    return head + bytes(descs) + bytes(body)


# --- displayed values (physiological database) --------------------------------------------------------------

_S16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class PhdbField:
    """One ``s16`` value of the basic class: where it is, how to scale it, what it is called."""

    key: str  # stable identifier, used by the emulator to fill the same field
    offset: int  # in the 270-byte class data area
    label: str
    unit: str  # UCUM
    scale: float
    mdc: int  # 0 when there is no MDC code in devices/mdc.py
    group_status: int  # offset of the owning group's u32 status word (bit 0: module exists)
    always: bool = True  # report even when the group says its module is absent


# Group offsets in basic_phdb (8005313 §3.5): ecg 0 (16 bytes), p1..p4 16/30/44/58 (14 each), nibp 72 (14),
# t1..t4 86/94/102/110 (8 each), SpO2 118 (14), co2 132 (14), o2 146 (10). Each group starts with a u32 status
# and a u16 label; the values follow at +6.
ECG_GROUP, NIBP_GROUP, SPO2_GROUP, CO2_GROUP, O2_GROUP = 0, 72, 118, 132, 146
P_GROUPS = (16, 30, 44, 58)
T_GROUPS = (86, 94, 102, 110)
NIBP_LABEL = NIBP_GROUP + 4  # NIBP status bits live in the label word (offset 76)
ECG_LABEL = ECG_GROUP + 4
CO2_STATUS = CO2_GROUP
AMBIENT_OFFSET = CO2_GROUP + 12  # 144, 0.1 mmHg
ETCO2_OFFSET = CO2_GROUP + 6  # 138, 0.01 %
P1_LABEL = P_GROUPS[0] + 4

# NIBP label bits (8005313 Table 3-18)
NIBP_AUTO = 1 << 3
NIBP_STAT = 1 << 4
NIBP_MEASURING = 1 << 5
NIBP_CALIBRATING = 1 << 7
NIBP_OLDER_60S = 1 << 8
# ECG status bits (Table 3-10)
ECG_ARTIFACT = 1 << 8
# CO2 status bits (Table 3-25)
CO2_CALIBRATING = 1 << 3
CO2_ZEROING = 1 << 4

#: invasive pressure labels that are arterial (ART, ABP) and so map to the MDC ABP codes
ARTERIAL_LABELS = {1, 8}
P_LABELS = ("", "ART", "CVP", "PA", "RAP", "RVP", "LAP", "ICP", "ABP", "P1", "P2", "P3", "P4", "P5", "P6",
            "SP", "FEM", "UAC", "UVC", "ICP2", "P7", "P8", "FEMV")

MMHG = "mm[Hg]"

BASIC_FIELDS: tuple[PhdbField, ...] = (
    PhdbField("hr", 6, "HR", "/min", 1, mdc.HEART_RATE, ECG_GROUP),
    PhdbField("st1", 8, "ST1", "mm", 0.01, 0, ECG_GROUP, always=False),
    PhdbField("st2", 10, "ST2", "mm", 0.01, 0, ECG_GROUP, always=False),
    PhdbField("st3", 12, "ST3", "mm", 0.01, 0, ECG_GROUP, always=False),
    PhdbField("imp_rr", 14, "RR", "/min", 1, mdc.RESP_RATE, ECG_GROUP),
    # P1 sys/dia/mean: the MDC code depends on the channel label (see decode_basic)
    PhdbField("p1_sys", 22, "P1 sys", MMHG, 0.01, 0, P_GROUPS[0]),
    PhdbField("p1_dia", 24, "P1 dia", MMHG, 0.01, 0, P_GROUPS[0]),
    PhdbField("p1_mean", 26, "P1 mean", MMHG, 0.01, 0, P_GROUPS[0]),
    *(PhdbField(f"p{n}_{part}", g + 6 + 2 * k, f"P{n} {part}", MMHG, 0.01, 0, g, always=False)
      for n, g in ((2, P_GROUPS[1]), (3, P_GROUPS[2]), (4, P_GROUPS[3]))
      for k, part in enumerate(("sys", "dia", "mean"))),
    PhdbField("nibp_sys", 78, "NBP sys", MMHG, 0.01, mdc.NIBP_SYS, NIBP_GROUP),
    PhdbField("nibp_dia", 80, "NBP dia", MMHG, 0.01, mdc.NIBP_DIA, NIBP_GROUP),
    PhdbField("nibp_mean", 82, "NBP mean", MMHG, 0.01, mdc.NIBP_MEAN, NIBP_GROUP),
    # two temperature channels with the same MDC code would overwrite each other downstream: T1 gets MDC_TEMP,
    # the others are kept under their own labels
    PhdbField("t1", 92, "T1", "Cel", 0.01, mdc.TEMP, T_GROUPS[0]),
    PhdbField("t2", 100, "T2", "Cel", 0.01, 0, T_GROUPS[1]),
    PhdbField("t3", 108, "T3", "Cel", 0.01, 0, T_GROUPS[2], always=False),
    PhdbField("t4", 116, "T4", "Cel", 0.01, 0, T_GROUPS[3], always=False),
    PhdbField("spo2", 124, "SpO2", "%", 0.01, mdc.SPO2, SPO2_GROUP),
    PhdbField("pr", 126, "PR", "/min", 1, mdc.PULSE_RATE_OXIM, SPO2_GROUP),
    PhdbField("pleth_amp", 128, "Pleth amplitude", "%", 0.01, 0, SPO2_GROUP),
    PhdbField("etco2_conc", 138, "etCO2 %", "%", 0.01, mdc.ETCO2_CONC, CO2_GROUP),
    PhdbField("fico2", 140, "FiCO2", "%", 0.01, 0, CO2_GROUP),
    PhdbField("co2_rr", 142, "awRR", "/min", 1, mdc.AWAY_RESP_RATE, CO2_GROUP),
    PhdbField("amb_press", 144, "Ambient pressure", MMHG, 0.1, 0, CO2_GROUP),
    PhdbField("eto2", 152, "EtO2", "%", 0.01, 0, O2_GROUP, always=False),
    PhdbField("fio2", 154, "FiO2", "%", 0.01, 0, O2_GROUP, always=False),
)
FIELDS_BY_KEY = {f.key: f for f in BASIC_FIELDS}

_P1_MDC = {"p1_sys": mdc.ABP_SYS, "p1_dia": mdc.ABP_DIA, "p1_mean": mdc.ABP_MEAN}


@dataclass(frozen=True, slots=True)
class PhdbSubrecord:
    """A decoded-enough physiological-database subrecord: its time, class and the raw 270-byte data area."""

    time: int
    cls: int
    data: bytes


def parse_phdb_subrecord(record: bytes, start: int, end: int) -> PhdbSubrecord:
    """Slice one 278-byte physiological-database subrecord out of ``record``."""
    if end - start < PHDB_SUBRECORD_SIZE:
        raise DatexFormatError(f"physiological subrecord of {end - start} bytes, expected "
                               f"{PHDB_SUBRECORD_SIZE}")
    time = _U32.unpack_from(record, start)[0]
    word = _U16.unpack_from(record, start + 276)[0]
    return PhdbSubrecord(time, (word >> 8) & 0x0F, bytes(record[start + 4:start + 4 + PHDB_DATA_SIZE]))


@dataclass(frozen=True, slots=True)
class BasicValue:
    """One value of the basic class as the driver turns it into a :class:`~devices.model.Numeric`."""

    mdc: int
    label: str
    value: float | None
    unit: str
    state: State


def decode_basic(data: bytes, ambient_fallback: float | None = None) -> tuple[list[BasicValue], float | None]:
    """Decode the basic class data area: its values, and the ambient pressure (mmHg) it reports or ``None``.

    EtCO2 comes twice: as reported (``%``, MDC_CONC_AWAY_CO2_ET) and as partial pressure (mmHg,
    MDC_AWAY_CO2_ET = et% × ambient / 100), using this record's ambient pressure, or ``ambient_fallback``
    (the last one known) when this record's is a marker.
    """
    values: list[BasicValue] = []
    raw = struct.unpack_from("<135h", data, 0)  # all s16 words; offset o is raw[o // 2]
    status_cache: dict[int, int] = {}

    def exists(group: int) -> bool:
        if group not in status_cache:
            status_cache[group] = _U32.unpack_from(data, group)[0]
        return bool(status_cache[group] & 1)

    nibp_label = _U16.unpack_from(data, NIBP_LABEL)[0]
    nibp_state = State.NONE
    if nibp_label & NIBP_MEASURING:
        nibp_state |= State.MEASURING
    if nibp_label & NIBP_OLDER_60S:
        nibp_state |= State.STALE
    if nibp_label & NIBP_CALIBRATING:
        nibp_state |= State.CALIBRATING
    ecg_state = State.ARTIFACT if _U32.unpack_from(data, ECG_GROUP)[0] & ECG_ARTIFACT else State.NONE
    co2_status = _U32.unpack_from(data, CO2_STATUS)[0]
    co2_state = State.CALIBRATING if co2_status & (CO2_CALIBRATING | CO2_ZEROING) else State.NONE
    p1_label_index = _U16.unpack_from(data, P1_LABEL)[0]
    p1_arterial = p1_label_index in ARTERIAL_LABELS

    amb_raw = raw[AMBIENT_OFFSET // 2]
    ambient = amb_raw * 0.1 if amb_raw > 0 else None

    for f in BASIC_FIELDS:
        if not f.always and not exists(f.group_status):
            continue
        r = raw[f.offset // 2]
        state = State.NONE
        if f.group_status == NIBP_GROUP:
            state = nibp_state
        elif f.group_status == ECG_GROUP and f.key == "hr":
            state = ecg_state
        elif f.group_status == CO2_GROUP and f.key != "amb_press":
            state = co2_state
        code = f.mdc
        label = f.label
        if f.key in _P1_MDC:
            if p1_arterial:
                code = _P1_MDC[f.key]
            if 0 < p1_label_index < len(P_LABELS):
                label = f"{f.label} ({P_LABELS[p1_label_index]})"
        if r <= MARKER_MAX:
            values.append(BasicValue(code, label, None, f.unit, state | marker_state(r)))
        else:
            values.append(BasicValue(code, label, round(float(r) * f.scale, 4), f.unit, state))
        if f.key == "etco2_conc":
            use = ambient if ambient is not None else ambient_fallback
            if r <= MARKER_MAX:
                values.append(BasicValue(mdc.ETCO2, "etCO2", None, MMHG, co2_state | marker_state(r)))
            elif use is None:
                values.append(BasicValue(mdc.ETCO2, "etCO2", None, MMHG, co2_state | State.UNAVAILABLE))
            else:
                mmhg = round(r * 0.01 * use / 100.0, 2)
                values.append(BasicValue(mdc.ETCO2, "etCO2", mmhg, MMHG, co2_state))
    return values, ambient


def ecg_leads(data: bytes) -> tuple[int, int, int]:
    """Leads shown on ECG channels 1-3 (ECG label bits 8-11, 4-7, 0-3): 0 none, 1 I, 2 II, ... 7 V."""
    word = _U16.unpack_from(data, ECG_LABEL)[0]
    return (word >> 8) & 0x0F, (word >> 4) & 0x0F, word & 0x0F


def build_phdb_subrecord(time: int, cls: int, data: bytes, marker: int = 0) -> bytes:
    """A 278-byte physiological-database subrecord around a 270-byte class data area."""
    if len(data) != PHDB_DATA_SIZE:
        raise ValueError(f"class data must be {PHDB_DATA_SIZE} bytes, not {len(data)}")
    tail = bytes((marker & 0xFF, 0)) + _U16.pack((cls & 0x0F) << 8)
    return _U32.pack(time & 0xFFFFFFFF) + bytes(data) + tail


def build_basic(values: dict[str, float | None], *, nibp_label: int = NIBP_AUTO, ecg_lead: int = 2,
                p1_label: int = 1, present: frozenset[int] = frozenset()) -> bytes:
    """A basic-class data area with ``values`` (keyed by :attr:`PhdbField.key`, in display units).

    Every value field starts as ``DATA_INVALID``; groups listed in ``present`` (group offsets) get the
    "exists and active" status bits.
    """
    data = bytearray(PHDB_DATA_SIZE)
    for f in BASIC_FIELDS:
        _S16.pack_into(data, f.offset, DATA_INVALID)
    for group in present:
        _U32.pack_into(data, group, 0x3)
    _U16.pack_into(data, NIBP_LABEL, nibp_label)
    _U16.pack_into(data, ECG_LABEL, (ecg_lead & 0x0F) << 8)
    _U16.pack_into(data, P1_LABEL, p1_label)
    for key, value in values.items():
        f = FIELDS_BY_KEY[key]
        # int(): round() of a numpy scalar gives a float on numpy 1.x
        scaled = None if value is None else int(round(value / f.scale))  # noqa: RUF046
        raw = DATA_INVALID if scaled is None else max(-32000, min(32767, scaled))
        _S16.pack_into(data, f.offset, raw)
    return bytes(data)


# --- waveforms ----------------------------------------------------------------------------------------------

_WAVE_HEAD = struct.Struct("<hHH")
WAVE_HEADER_SIZE = 6
WF_STATUS_GAP = 0x0001
WF_STATUS_PACER = 0x0004
WF_STATUS_LEAD_OFF = 0x0008


@dataclass(frozen=True, slots=True)
class WaveType:
    """What a waveform subrecord type carries (8005313 Table 5-3)."""

    code: int
    label: str
    fs: float
    scale: float  # raw unit → ``unit``
    unit: str
    mdc: int = 0


ECG1, ECG2, ECG3 = 1, 2, 3
INVP1 = 4
PLETH = 8
CO2 = 9
O2 = 10
AWP = 13
FLOW = 14
RESP = 15
ENT_100 = 32

WAVE_TYPES: dict[int, WaveType] = {w.code: w for w in (
    WaveType(1, "ECG1", 300, 0.001, "mV"),  # µV → mV; MDC code from the lead (see ecg_mdc)
    WaveType(2, "ECG2", 300, 0.001, "mV"),
    WaveType(3, "ECG3", 300, 0.001, "mV"),
    WaveType(4, "P1", 100, 0.01, MMHG),
    WaveType(5, "P2", 100, 0.01, MMHG),
    WaveType(6, "P3", 100, 0.01, MMHG),
    WaveType(7, "P4", 100, 0.01, MMHG),
    WaveType(8, "Pleth", 100, 0.01, "%", mdc.PLETH),
    WaveType(9, "CO2", 25, 0.01, "%"),  # converted to mmHg when the ambient pressure is known
    WaveType(10, "O2", 25, 0.01, "%"),
    WaveType(11, "N2O", 25, 0.01, "%"),
    WaveType(12, "AA", 25, 0.01, "%"),
    WaveType(13, "AWP", 25, 0.1, "cm[H2O]"),
    WaveType(14, "Flow", 25, 0.1, "L/min"),
    WaveType(15, "Resp", 25, 0.01, "Ohm", mdc.RESP_WAVE),
    WaveType(16, "P5", 100, 0.01, MMHG),
    WaveType(17, "P6", 100, 0.01, MMHG),
    WaveType(18, "EEG1", 100, 0.1, "uV"),
    WaveType(19, "EEG2", 100, 0.1, "uV"),
    WaveType(20, "EEG3", 100, 0.1, "uV"),
    WaveType(21, "EEG4", 100, 0.1, "uV"),
    WaveType(23, "Volume", 25, 1.0, "mL"),
    WaveType(24, "Tono pressure", 25, 0.1, "mbar"),
    WaveType(32, "ENT_100", 100, 0.1, "uV"),
    WaveType(35, "EEG BIS", 300, 1.0, "uV"),
    WaveType(36, "P7", 100, 0.01, MMHG),
    WaveType(37, "P8", 100, 0.01, MMHG),
    WaveType(38, "Pleth 2", 100, 0.01, "%"),
)}

#: wave types by name, for configuration ("ECG1", "PLETH", ...)
WAVE_NAMES: dict[str, int] = {
    "ECG1": 1, "ECG2": 2, "ECG3": 3, "INVP1": 4, "INVP2": 5, "INVP3": 6, "INVP4": 7, "PLETH": 8, "CO2": 9,
    "O2": 10, "N2O": 11, "AA": 12, "AWP": 13, "FLOW": 14, "RESP": 15, "INVP5": 16, "INVP6": 17, "EEG1": 18,
    "EEG2": 19, "EEG3": 20, "EEG4": 21, "VOL": 23, "TONO_PRESS": 24, "ENT_100": 32, "EEG_BIS": 35,
    "INVP7": 36, "INVP8": 37, "PLETH_2": 38,
}

#: MDC_ECG_ELEC_POTL_<lead> codes by DRI lead number (8005313 Table 3-13); 0 = not selected
_LEAD_TERMS = {1: (0x0101, "I"), 2: (0x0102, "II"), 3: (0x013D, "III"), 4: (0x013E, "aVR"),
               5: (0x013F, "aVL"), 6: (0x0140, "aVF"), 7: (0x0143, "V")}


def ecg_mdc(lead: int) -> tuple[int, str]:
    """MDC code and lead name for a DRI ECG lead number; ``(0, "")`` when unknown."""
    if lead == 2:
        return mdc.ECG_II, "II"
    term = _LEAD_TERMS.get(lead)
    if term is None:
        return 0, ""
    return mdc.scada(term[0]), term[1]


def wave_samples_per_second(types: list[int] | tuple[int, ...]) -> float:
    """Total samples/s of a waveform request (the S/5 serial limit is 600)."""
    return sum(WAVE_TYPES[t].fs for t in types if t in WAVE_TYPES)


@dataclass(frozen=True, slots=True)
class WaveSubrecord:
    """One waveform subrecord: type, status bits and raw samples (a read-only ``int16`` array view)."""

    wave_type: int
    status: int
    samples: bytes  # n × s16 little-endian, still raw


def parse_wave_subrecord(record: bytes, wave_type: int, start: int, end: int) -> WaveSubrecord:
    """Slice one waveform subrecord out of ``record``, checking its sample count against its extent."""
    if end - start < WAVE_HEADER_SIZE:
        raise DatexFormatError(f"waveform subrecord type {wave_type} of {end - start} bytes has no header")
    n, status, _label = _WAVE_HEAD.unpack_from(record, start)
    first = start + WAVE_HEADER_SIZE
    if n < 0 or first + 2 * n > end:
        raise DatexFormatError(f"waveform subrecord type {wave_type} says {n} samples but has room for "
                               f"{(end - first) // 2}")
    return WaveSubrecord(wave_type, status, bytes(record[first:first + 2 * n]))


def build_wave_subrecord(samples: bytes, status: int = 0, label: int = 0) -> bytes:
    """A waveform subrecord from raw little-endian ``s16`` sample bytes."""
    return _WAVE_HEAD.pack(len(samples) // 2, status, label) + bytes(samples)

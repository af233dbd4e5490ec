"""Monitor side of the S/5 Computer Interface, driven by the simulator. Sans-I/O.

Behaves like a CARESCAPE monitor on the serial port: silent until asked; a displayed-values request starts
records every ``interval`` seconds (0 cancels, -1 sends one), with the basic class and any extended classes
asked for; a waveform request starts one waveform record a second carrying the requested types that fit in the
600 samples/s budget (the rest are ignored, as the monitor does), the first subrecord of each type with the
gap bit set. While the simulator is not ``responding`` nothing is sent, and, like a monitor whose RTS/CTS line
has been held for more than 2 s, waveform transmission stops until the host asks again. With ``noise`` set,
random garbage goes out between frames.

The simulator's samples are mapped onto Datex fields by MDC code; waveforms are resampled by time onto the
Datex rates (ECG 300/s in µV, pleth 100/s and CO2 25/s in 0.01 %, impedance respiration 25/s); a requested
type the simulator has no source for is sent as the "invalid" control code, as a monitor without that module
would.
"""

from __future__ import annotations

import math
import random
from typing import Any, Protocol

import numpy as np

from devices import mdc
from devices.driver import Emulator
from devices.model import UNUSABLE, Numeric, Sample, State, WaveBlock

from .framing import FrameSplitter, encode_frame
from .records import (
    CLASS_BASIC,
    CLASS_EXT1,
    CLASS_EXT1_ID,
    CLASS_EXT2,
    CLASS_EXT2_ID,
    CLASS_EXT3,
    CLASS_EXT3_ID,
    CO2,
    CO2_GROUP,
    DATA_INVALID,
    ECG1,
    ECG_GROUP,
    MT_PHDB,
    MT_WAVE,
    NIBP_AUTO,
    NIBP_GROUP,
    NIBP_MEASURING,
    NIBP_OLDER_60S,
    P_GROUPS,
    PH_DISPL,
    PHDB_DATA_SIZE,
    PLETH,
    RESP,
    SPO2_GROUP,
    T_GROUPS,
    WAVE_TYPES,
    WF_STATUS_GAP,
    WF_STATUS_LEAD_OFF,
    DatexFormatError,
    build_basic,
    build_phdb_subrecord,
    build_record,
    build_wave_subrecord,
    parse_header,
)
from .requests import MAX_SAMPLES_PER_SECOND, PhdbRequest, WaveRequest, parse_request

#: ambient pressure the emulated monitor reports, mmHg
AMBIENT_MMHG = 760.0
#: waveform records cover this many seconds each (1 s fits 600 samples in one record)
WAVE_PERIOD = 1.0
#: the emulated monitor stops waveforms after the link has been held this long (M1017617 ch. 4: 2 s)
WAVE_HOLD_LIMIT = 2.0
#: how long the source waves are kept for resampling
_KEEP_SECONDS = 5.0


class SimulatorLike(Protocol):
    """What the emulator needs of :class:`devices.simulator.Simulator`."""

    responding: bool
    noise: bool

    def advance(self, now: float) -> list[Sample]: ...


# Numeric MDC code → basic-class field key (value converted from the model's unit to the field's)
_NUMERIC_FIELDS: dict[int, str] = {
    mdc.HEART_RATE: "hr",
    mdc.RESP_RATE: "imp_rr",
    mdc.ABP_SYS: "p1_sys",
    mdc.ABP_DIA: "p1_dia",
    mdc.ABP_MEAN: "p1_mean",
    mdc.NIBP_SYS: "nibp_sys",
    mdc.NIBP_DIA: "nibp_dia",
    mdc.NIBP_MEAN: "nibp_mean",
    mdc.TEMP: "t1",
    mdc.TEMP_BODY: "t1",
    mdc.SPO2: "spo2",
    mdc.PULSE_RATE_OXIM: "pr",
    mdc.PULSE_RATE: "pr",
    mdc.ETCO2_CONC: "etco2_conc",
    mdc.AWAY_RESP_RATE: "co2_rr",
}
_FIELD_GROUPS = {"hr": ECG_GROUP, "imp_rr": ECG_GROUP, "p1_sys": P_GROUPS[0], "p1_dia": P_GROUPS[0],
                 "p1_mean": P_GROUPS[0], "nibp_sys": NIBP_GROUP, "nibp_dia": NIBP_GROUP,
                 "nibp_mean": NIBP_GROUP,
                 "t1": T_GROUPS[0], "spo2": SPO2_GROUP, "pr": SPO2_GROUP, "etco2_conc": CO2_GROUP,
                 "co2_rr": CO2_GROUP}
_NIBP_CODES = (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN)

# Datex wave type → (simulator MDC code, factor from the simulator's unit to the Datex raw unit)
_WAVE_SOURCES: dict[int, tuple[int, float]] = {
    ECG1: (mdc.ECG_II, 1000.0),  # mV → µV
    PLETH: (mdc.PLETH, 100.0),  # dimensionless pulse height ≈ 1 → 1.00 % modulation (0.01 % steps)
    RESP: (mdc.RESP_WAVE, 100.0),  # dimensionless → 0.01 Ohm steps
    CO2: (mdc.CO2_WAVE, 100.0 * 100.0 / AMBIENT_MMHG),  # mmHg → 0.01 % of ambient
}


class DatexEmulator(Emulator):
    """An emulated S/5-family monitor answering Computer Interface requests with simulated physiology."""

    def __init__(self, simulator: SimulatorLike, *, dri_level: int = 10, plug_id: int = 0,
                 seed: int = 0x5D) -> None:
        self.simulator = simulator
        self.dri_level = dri_level
        self.plug_id = plug_id
        self._rng = random.Random(seed)
        self._splitter = FrameSplitter()
        self._nbr = {MT_PHDB: 0, MT_WAVE: 0}
        #: requests understood, in arrival order (for diagnostics and tests)
        self.requests: list[PhdbRequest | WaveRequest] = []
        self.display_interval = 0
        self.display_classes = 0
        self._display_once = False
        self._next_display: float | None = None
        #: waveform types being sent (after the 600 samples/s budget)
        self.waves: tuple[int, ...] = ()
        self._wave_cursor: float | None = None  # device time where the next waveform record starts
        self._wave_gap: set[int] = set()
        self._held_since: float | None = None
        self._latest: dict[str, float | None] = {}
        self._nibp_measuring = False
        self._nibp_time: float | None = None
        self._sources: dict[int, list[WaveBlock]] = {}
        self._lead_off: set[int] = set()

    # --- host to monitor ------------------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """Act on the requests in ``data``; anything else (and everything while not responding) is ignored."""
        if not self.simulator.responding:
            return
        for result in self._splitter.feed(data):
            if not result.ok:
                continue
            try:
                requests = parse_request(result.record, parse_header(result.record))
            except DatexFormatError:
                continue
            for request in requests:
                self.requests.append(request)
                if isinstance(request, PhdbRequest):
                    self._phdb_request(request, now)
                else:
                    self._wave_request(request, now)

    def _phdb_request(self, request: PhdbRequest, now: float) -> None:
        if request.record_type != PH_DISPL:
            return  # trends need a patient case on a real monitor; not emulated
        if request.interval == 0:
            self.display_interval = 0
            self._next_display = None
        elif request.interval < 0:
            self._display_once = True
        else:
            self.display_interval = request.interval
            self._next_display = now  # the first record goes out at once
        self.display_classes = request.classes

    def _wave_request(self, request: WaveRequest, now: float) -> None:
        if not request.start:
            self.waves = ()
            self._wave_cursor = None
            return
        accepted: list[int] = []
        budget = float(MAX_SAMPLES_PER_SECOND)
        for t in request.types:
            wave = WAVE_TYPES.get(t)
            if wave is None or t in accepted or wave.fs > budget:
                continue  # like the monitor: ignore what does not fit
            accepted.append(t)
            budget -= wave.fs
        self.waves = tuple(accepted)
        self._wave_gap = set(accepted)
        if self._wave_cursor is None:
            self._wave_cursor = float(math.floor(now))

    # --- monitor to host ------------------------------------------------------------------------------------

    def outgoing(self, now: float) -> bytes:
        """Records due at ``now`` (displayed values, waveforms); garbage between frames when ``noise``."""
        self._absorb(self.simulator.advance(now))
        if not self.simulator.responding:
            if self._held_since is None:
                self._held_since = now
            elif self.waves and now - self._held_since > WAVE_HOLD_LIMIT:
                self.waves = ()  # the monitor gives up on waveforms; the host must ask again
                self._wave_cursor = None
            if self._next_display is not None:
                while self._next_display <= now:
                    self._next_display += self.display_interval
            return b""
        self._held_since = None
        frames: list[bytes] = []
        if self._display_once or (self._next_display is not None and now >= self._next_display):
            frames.append(self._display_frame(now))
            self._display_once = False
            if self._next_display is not None:
                self._next_display += self.display_interval
                if self._next_display <= now:  # fell far behind (host stalled): do not burst
                    self._next_display = now + self.display_interval
        while self.waves and self._wave_cursor is not None and now >= self._wave_cursor + WAVE_PERIOD:
            frames.append(self._wave_frame(self._wave_cursor))
            self._wave_cursor += WAVE_PERIOD
        out = bytearray()
        for frame in frames:
            if self.simulator.noise:
                out += self._garbage()
            out += frame
        return bytes(out)

    def _garbage(self) -> bytes:
        n = self._rng.randint(1, 40)
        return bytes(self._rng.getrandbits(8) for _ in range(n))

    def _next_nbr(self, maintype: int) -> int:
        nbr = self._nbr[maintype]
        self._nbr[maintype] = (nbr + 1) & 0xFF
        return nbr

    def _display_frame(self, now: float) -> bytes:
        t = int(now)
        label = NIBP_AUTO
        if self._nibp_measuring:
            label |= NIBP_MEASURING
        if self._nibp_time is not None and now - self._nibp_time > 60.0:
            label |= NIBP_OLDER_60S
        values = dict(self._latest)
        values["amb_press"] = AMBIENT_MMHG
        present = frozenset(_FIELD_GROUPS[k] for k in self._latest if k in _FIELD_GROUPS)
        basic = build_basic(values, nibp_label=label, ecg_lead=2, present=present)
        subrecords = [(PH_DISPL, build_phdb_subrecord(t, CLASS_BASIC, basic))]
        invalid = DATA_INVALID.to_bytes(2, "little", signed=True) * (PHDB_DATA_SIZE // 2)
        extended = ((CLASS_EXT1, CLASS_EXT1_ID), (CLASS_EXT2, CLASS_EXT2_ID), (CLASS_EXT3, CLASS_EXT3_ID))
        for bit, cls in extended:
            if self.display_classes & bit:
                subrecords.append((PH_DISPL, build_phdb_subrecord(t, cls, invalid)))
        record = build_record(MT_PHDB, subrecords, r_nbr=self._next_nbr(MT_PHDB), dri_level=self.dri_level,
                              plug_id=self.plug_id, r_time=t)
        return encode_frame(record)

    def _wave_frame(self, start: float) -> bytes:
        subrecords = []
        for t in self.waves:
            wave = WAVE_TYPES[t]
            n = round(wave.fs * WAVE_PERIOD)
            status = 0
            if t in self._wave_gap:
                status |= WF_STATUS_GAP
                self._wave_gap.discard(t)
            raw = self._resample(t, start, n, wave.fs)
            source = _WAVE_SOURCES.get(t)
            if source is not None and source[0] in self._lead_off:
                status |= WF_STATUS_LEAD_OFF
            subrecords.append((t, build_wave_subrecord(raw.astype("<i2").tobytes(), status)))
        # the record is sent when its last sample is taken
        record = build_record(MT_WAVE, subrecords, r_nbr=self._next_nbr(MT_WAVE), dri_level=self.dri_level,
                              plug_id=self.plug_id, r_time=round(start + WAVE_PERIOD))
        return encode_frame(record)

    def _resample(self, wave_type: int, start: float, n: int, fs: float) -> np.ndarray:
        source = _WAVE_SOURCES.get(wave_type)
        blocks = self._sources.get(source[0], []) if source is not None else []
        if not blocks:
            return np.full(n, DATA_INVALID, dtype=np.int32)
        times = np.concatenate([b.t0 + np.arange(len(b)) / b.fs for b in blocks])
        values = np.concatenate([np.asarray(b.samples, dtype=np.float64) for b in blocks])
        wanted = start + np.arange(n) / fs
        assert source is not None
        raw = np.rint(np.interp(wanted, times, values) * source[1])
        clipped: np.ndarray = np.clip(raw, -31999, 32767).astype(np.int32)
        return clipped

    # --- simulator samples ----------------------------------------------------------------------------------

    def _absorb(self, samples: list[Sample]) -> None:
        for sample in samples:
            if isinstance(sample, Numeric):
                self._numeric(sample)
            elif isinstance(sample, WaveBlock):
                blocks = self._sources.setdefault(sample.mdc, [])
                blocks.append(sample)
                if sample.state & State.LEAD_OFF:
                    self._lead_off.add(sample.mdc)
                else:
                    self._lead_off.discard(sample.mdc)
                newest = sample.t0 + sample.duration
                while blocks and blocks[0].t0 + blocks[0].duration < newest - _KEEP_SECONDS:
                    blocks.pop(0)

    def _numeric(self, n: Numeric) -> None:
        value: float | None = None if n.value is None or n.state & UNUSABLE else n.value
        if n.mdc == mdc.ETCO2:
            key: str | None = "etco2_conc"
            value = None if value is None else value / AMBIENT_MMHG * 100.0
        else:
            key = _NUMERIC_FIELDS.get(n.mdc)
        if key is None:
            return
        if n.mdc in _NIBP_CODES:
            if n.state & State.MEASURING:
                self._nibp_measuring = True
                return  # the cuff is inflating: the last result stays on show
            self._nibp_measuring = False
            self._nibp_time = n.device_time if n.device_time is not None else n.host_time
        self._latest[key] = value


def make_emulator(simulator: Any) -> DatexEmulator:
    """Registry entry point: an emulated Datex-Ohmeda monitor fed by ``simulator``."""
    return DatexEmulator(simulator)

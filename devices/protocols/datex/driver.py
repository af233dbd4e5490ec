"""Host side of the GE Datex-Ohmeda S/5 Computer Interface: requests out, records in, samples out. Sans-I/O.

The monitor sends nothing until asked. :meth:`DatexDriver.outgoing` asks for displayed values (every
``interval`` seconds, basic class plus the extended classes) and for waveforms, renews the displayed-values
request periodically, and repeats either request when its data stops arriving (the monitor forgets requests
when it restarts, and stops waveforms by itself when RTS/CTS holds it for more than 2 s).

Decoding: each displayed-values record gives one :class:`~devices.model.Numeric` per basic-class value
(markers become ``value=None`` with their state; values without an MDC code keep code 0 and a descriptive
label). Each waveform subrecord gives one :class:`~devices.model.WaveBlock` per run of data samples; control
codes (≤ -32000) are removed and the run after them is marked as a gap, never padded.

Wave clocks: the record header's ``r_time`` (whole seconds) is when the record was sent, i.e. after its last
sample, so a channel's first block starts at ``r_time - n / fs``; later blocks follow on from a running sample
count, so ``t0`` stays exact to the sample. A block is marked ``gap`` (and re-anchored on ``r_time``) when the
monitor sets its gap bit, when a waveform record is missing (``r_nbr`` not consecutive), or when the count and
the record clock disagree by more than :data:`WAVE_CLOCK_TOLERANCE` (device restart, replayed data).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from devices import mdc
from devices.driver import Driver, Troubleshooting
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.transport import PortSettings

from .framing import FrameSplitter
from .records import (
    CLASS_ALL_EXT,
    CLASS_BASIC,
    CO2,
    ECG1,
    ECG3,
    MT_PHDB,
    MT_WAVE,
    PH_DISPL,
    PLETH,
    RESP,
    SR_REQUEST,
    WAVE_CONTROL_MAX,
    WAVE_NAMES,
    WAVE_TYPES,
    WF_STATUS_GAP,
    WF_STATUS_LEAD_OFF,
    WF_STATUS_PACER,
    RecordHeader,
    WaveType,
    decode_basic,
    ecg_leads,
    ecg_mdc,
    parse_header,
    parse_phdb_subrecord,
    parse_wave_subrecord,
)
from .requests import (
    check_wave_selection,
    phdb_cancel_frame,
    phdb_request_frame,
    wave_request_frame,
    wave_stop_frame,
)

#: Displayed-values interval in seconds. The guide accepts ≥ 5 s for displayed values on every S/5-family
#: monitor; CARESCAPE monitors also honour shorter intervals (the B650 captures show 1-s records), so a
#: technician may lower it for those, but the default is the one every supported monitor is documented
#: to obey.
DEFAULT_INTERVAL = 5
#: ECG1 300 + PLETH 100 + CO2 25 + RESP 25 = 450 samples/s, inside the 600 samples/s serial budget.
DEFAULT_WAVES: tuple[int, ...] = (ECG1, PLETH, CO2, RESP)
#: re-send the displayed-values request this often even while data flows (harmless: same interval again)
RENEW_INTERVAL = 60.0
#: re-request waveforms after this long without a waveform record (they normally come every ≤ 1 s)
WAVE_SILENCE = 5.0
#: never repeat a request sooner than this (the monitor ignores a second request within 5 s)
MIN_REQUEST_SPACING = 5.0
#: how far (s) a channel's running sample clock may drift from the record clock before it is re-anchored
WAVE_CLOCK_TOLERANCE = 2.0


@dataclass(slots=True)
class _Channel:
    next_t: float  # device time of the next expected sample
    pending_gap: bool = False  # the previous block ended in removed control codes


def _wave_types(waves: Iterable[int | str]) -> tuple[int, ...]:
    types: list[int] = []
    for w in waves:
        if isinstance(w, str):
            try:
                types.append(WAVE_NAMES[w.upper()])
            except KeyError:
                raise ValueError(f"unknown Datex waveform {w!r}; known: {', '.join(WAVE_NAMES)}") from None
        else:
            types.append(int(w))
    return tuple(types)


class DatexDriver(Driver):
    """GE Datex-Ohmeda S/5 Computer Interface driver (AS/3, S/5, CARESCAPE B450/B650/B850)."""

    name = "datex"
    title = "GE Datex-Ohmeda S/5 Computer Interface"
    default_settings = PortSettings(19200, 8, "E", 1, rtscts=True)
    alternative_settings = (PortSettings(115200, 8, "E", 1, rtscts=True),)
    setup_help = (
        "Connect to the monitor's Computer Interface port (9-pin D connector on the back of AS/3, S/5 "
        "and Cardiocap monitors; on CARESCAPE B450/B650/B850 a USB-to-serial adapter such as the ATEN "
        "UC-232A plugged into the monitor's USB port). Use a null-modem cable that carries RTS and CTS: "
        "the link needs hardware handshaking. Line settings are fixed by the monitor: 19200 baud, 8 data "
        "bits, even parity, 1 stop bit; CARESCAPE monitors with software version 3 or later can also run "
        "at 115200. Chairside itself asks the monitor for numbers every few seconds and for up to 600 "
        "waveform samples a second; the monitor must have the Computer Interface, which on some models is "
        "a software option or licence. If nothing arrives, check the cable (RTS/CTS wired through), the "
        "adapter and the baud rate."
    )
    silence_timeout = 10.0
    troubleshooting = Troubleshooting(
        first_data_wait_s=4.0,  # the monitor answers a request at once
        no_answer="Nothing arrives from the Datex monitor.",
        no_answer_fix=(
            "Check the line is 19200 8E1 with RTS/CTS (CARESCAPE v3+: 115200 8E1; this profile uses "
            "{settings}), that the null-modem cable carries RTS and CTS, and that it is plugged into the "
            "monitor's Computer Interface port (CARESCAPE: the USB-serial adapter in the monitor's USB "
            "port)."),
        undecodable=" as Datex records.",
        undecodable_fix=(
            "Check 19200 8E1 (even parity) with RTS/CTS (this profile uses {settings}); only "
            "CARESCAPE v3+ monitors run at 115200."),
    )

    def __init__(self, source: str = "", *, interval: int = DEFAULT_INTERVAL,
                 waves: Iterable[int | str] = DEFAULT_WAVES, classes: int = CLASS_ALL_EXT,
                 renew_interval: float = RENEW_INTERVAL) -> None:
        super().__init__(source)
        if not isinstance(interval, int) or interval < 1 or interval > 32767:
            raise ValueError("displayed-values interval must be a whole number of seconds ≥ 1, "
                             f"not {interval!r}")
        self.interval = interval
        self.waves = _wave_types(waves)
        check_wave_selection(self.waves)
        self.classes = classes
        self.renew_interval = renew_interval
        #: silence after which the displayed-values request is repeated
        self.display_silence = 2.0 * interval + 5.0
        self._splitter = FrameSplitter()
        for key in ("displayed_records", "wave_records", "other_records", "ext_class_subrecords",
                    "other_subrecords", "wave_control_codes", "pacer_marks", "unknown_wave_types",
                    "skipped_bytes", "requests_sent"):
            self.stats.extra[key] = 0
        self.reset()

    # --- link state -----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the link: partial frame, requests sent, wave clocks; :meth:`outgoing` asks again."""
        self._splitter.reset()
        self._in_sync = True
        self._started_at: float | None = None
        self._last_rx: float | None = None
        self._associated = False
        self._silent = False
        self._closed = False
        self._display_req_at: float | None = None
        self._display_rx_at: float | None = None
        self._wave_req_at: float | None = None
        self._wave_rx_at: float | None = None
        self._last_wave_nbr: int | None = None
        self._channels: dict[int, _Channel] = {}
        self._ambient: float | None = None  # mmHg, from the last displayed values that carried it
        self._ecg_leads: tuple[int, int, int] = (0, 0, 0)

    def outgoing(self, now: float) -> bytes:
        """Requests due at ``now``: the first ones, the periodic renewal, and repeats after silence."""
        if self._closed:
            return b""
        if self._started_at is None:
            self._started_at = now
        out = bytearray()
        if self._display_due(now):
            frame = phdb_request_frame(PH_DISPL, self.interval, self.classes)
            self._display_req_at = now
            self._send(out, frame, now, f"displayed values every {self.interval} s")
        if self.waves and self._wave_due(now):
            frame = wave_request_frame(self.waves)
            self._wave_req_at = now
            names = ", ".join(WAVE_TYPES[t].label for t in self.waves)
            self._send(out, frame, now, f"waveforms {names}")
        return bytes(out)

    def close(self, now: float) -> bytes:
        """Stop waveforms and displayed values before the port closes; nothing is requested afterwards."""
        out = bytearray()
        if self.waves:
            self._send(out, wave_stop_frame(), now, "stop waveforms")
        self._send(out, phdb_cancel_frame(PH_DISPL), now, "stop displayed values")
        self._closed = True
        return bytes(out)

    def _display_due(self, now: float) -> bool:
        sent = self._display_req_at
        if sent is None:
            return True
        if now - sent < MIN_REQUEST_SPACING:
            return False
        if now - sent >= self.renew_interval:
            return True
        last = max(sent, self._display_rx_at if self._display_rx_at is not None else -math.inf)
        return now - last > self.display_silence

    def _wave_due(self, now: float) -> bool:
        sent = self._wave_req_at
        if sent is None:
            return True
        if now - sent < MIN_REQUEST_SPACING:
            return False
        last = max(sent, self._wave_rx_at if self._wave_rx_at is not None else -math.inf)
        return now - last > WAVE_SILENCE

    def _send(self, out: bytearray, frame: bytes, now: float, note: str) -> None:
        out += frame
        self.stats.bytes_out += len(frame)
        self.stats.extra["requests_sent"] += 1
        self._log_frame("out", now, frame, True, note)

    # --- input ----------------------------------------------------------------------------------------------

    def feed(self, data: bytes, now: float) -> list[Sample]:
        """Decode what ``data`` completes; corrupt frames and stray bytes are counted, logged and skipped."""
        if self._started_at is None:
            self._started_at = now
        out: list[Sample] = []
        if data:
            self.stats.bytes_in += len(data)
            for result in self._splitter.feed(data):
                if result.kind == "ok":
                    try:
                        samples = self._decode(result.record, now)
                    except (ValueError, struct.error) as exc:  # a checked frame whose inside does not fit
                        self._bad(now, result.wire, f"undecodable record: {exc}", counts_as_frame=True)
                        continue
                    self.stats.frames_ok += 1
                    self._in_sync = True
                    self._log_frame("in", now, result.wire, True)
                    if not self._associated:
                        self._associated = True
                        self._silent = False
                        out.append(LinkEvent(LinkState.ASSOCIATED, "receiving records from the monitor",
                                             now, self.source))
                    self._last_rx = now
                    out.extend(samples)
                elif result.kind == "bad":
                    self._bad(now, result.wire, result.note, counts_as_frame=True)
                else:
                    self.stats.extra["skipped_bytes"] += len(result.wire)
                    self._bad(now, result.wire, result.note, counts_as_frame=False)
        reference = self._last_rx if self._last_rx is not None else self._started_at
        if not self._silent and now - reference > self.silence_timeout:
            self._silent = True
            self._associated = False
            out.append(LinkEvent(LinkState.SILENT,
                                 f"no records from the monitor for {now - reference:.0f} s; check the cable "
                                 "(RTS/CTS wired through) and the baud rate", now, self.source))
        return out

    def _bad(self, now: float, wire: bytes, note: str, counts_as_frame: bool) -> None:
        if counts_as_frame:
            self.stats.frames_bad += 1
        if self._in_sync:
            # one resync per loss of frame sync, however many bad frames follow before the next good one
            self.stats.resyncs += 1
            self._in_sync = False
        self.stats.last_error = note
        self._log_frame("in", now, wire, False, note)

    def _decode(self, record: bytes, now: float) -> list[Sample]:
        header = parse_header(record)
        if header.maintype == MT_PHDB:
            return self._decode_phdb(record, header, now)
        if header.maintype == MT_WAVE:
            return self._decode_waves(record, header, now)
        self.stats.extra["other_records"] += 1
        return []

    def _decode_phdb(self, record: bytes, header: RecordHeader, now: float) -> list[Sample]:
        out: list[Sample] = []
        displayed = False
        for sr_type, start, end in header.subrecords:
            if sr_type != PH_DISPL:
                self.stats.extra["other_subrecords"] += 1  # trends, aux info, echoed requests: not used here
                continue
            sub = parse_phdb_subrecord(record, start, end)
            displayed = True
            if sub.cls != CLASS_BASIC:
                self.stats.extra["ext_class_subrecords"] += 1  # requested so CARESCAPE sends its full set
                continue
            values, ambient = decode_basic(sub.data, self._ambient)
            if ambient is not None:
                self._ambient = ambient
            self._ecg_leads = ecg_leads(sub.data)
            device_time = float(sub.time or header.r_time)
            source = self.source
            out.extend(Numeric(v.mdc, v.label, v.value, v.unit, v.state, device_time, now, source)
                       for v in values)
        if displayed:
            self.stats.extra["displayed_records"] += 1
            self._display_rx_at = now
        return out

    def _decode_waves(self, record: bytes, header: RecordHeader, now: float) -> list[Sample]:
        self.stats.extra["wave_records"] += 1
        self._wave_rx_at = now
        last = self._last_wave_nbr
        missing = last is not None and header.r_nbr != (last + 1) & 0xFF
        self._last_wave_nbr = header.r_nbr
        out: list[Sample] = []
        for sr_type, start, end in header.subrecords:
            if sr_type == SR_REQUEST:
                continue
            wave = WAVE_TYPES.get(sr_type)
            if wave is None:
                self.stats.extra["unknown_wave_types"] += 1
                self.stats.last_error = f"waveform type {sr_type} is not known; skipped"
                continue
            sub = parse_wave_subrecord(record, sr_type, start, end)
            out.extend(self._blocks(wave, sub.status, sub.samples, header.r_time, missing, now))
        return out

    def _describe(self, wave: WaveType) -> tuple[int, str, float, str]:
        """MDC code, label, scale and unit of a wave type given what the displayed values said."""
        if ECG1 <= wave.code <= ECG3:
            code, lead = ecg_mdc(self._ecg_leads[wave.code - ECG1])
            return code, (f"{wave.label} {lead}" if lead else wave.label), wave.scale, wave.unit
        if wave.code == CO2:
            if self._ambient is not None:
                return mdc.CO2_WAVE, "CO2", wave.scale * self._ambient / 100.0, "mm[Hg]"
            return 0, "CO2 %", wave.scale, "%"
        return wave.mdc, wave.label, wave.scale, wave.unit

    def _blocks(self, wave: WaveType, status: int, raw: bytes, r_time: int, missing: bool,
                now: float) -> list[WaveBlock]:
        samples = np.frombuffer(raw, dtype="<i2")
        n = samples.shape[0]
        if n == 0:
            return []
        fs = wave.fs
        anchor = r_time - n / fs
        channel = self._channels.get(wave.code)
        gap = channel is None or missing or channel.pending_gap or bool(status & WF_STATUS_GAP)
        if not gap:
            assert channel is not None
            t0 = channel.next_t
            if abs(t0 - anchor) > WAVE_CLOCK_TOLERANCE:
                gap, t0 = True, anchor
        else:
            t0 = anchor
        if channel is None:
            channel = self._channels[wave.code] = _Channel(t0 + n / fs)
        else:
            channel.next_t = t0 + n / fs
        channel.pending_gap = False
        if status & WF_STATUS_PACER:
            # the sample model has no pacer flag; counted for diagnostics
            self.stats.extra["pacer_marks"] += 1
        state = State.LEAD_OFF if status & WF_STATUS_LEAD_OFF else State.NONE
        code, label, scale, unit = self._describe(wave)
        source = self.source
        control = samples <= WAVE_CONTROL_MAX
        if not control.any():
            return [WaveBlock(code, label, t0, fs, samples * scale, unit, gap, state, now, source)]
        # control codes are not data: drop them and start a new block (marked as a gap) after each run of them
        self.stats.extra["wave_control_codes"] += int(control.sum())
        channel.pending_gap = bool(control[-1])
        blocks: list[WaveBlock] = []
        edges = np.flatnonzero(np.diff(np.concatenate(([True], control, [True])).astype(np.int8)))
        # edges come in pairs: start of a data run (control→data) and its end (data→control)
        for begin, end in zip(edges[0::2], edges[1::2], strict=True):
            run_gap = gap if begin == 0 else True
            blocks.append(WaveBlock(code, label, t0 + begin / fs, fs, samples[begin:end] * scale, unit,
                                    run_gap, state, now, source))
        return blocks

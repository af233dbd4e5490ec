"""Monitor-side emulator of the IntelliVue MIB/RS232 Data Export protocol, fed by the physiological simulator.

It plays an IntelliVue "M8000" the way the real one behaves in the captures: it accepts an association
(min poll period 4000 ticks, MTU 996), announces itself with an MDS Create event, accepts a wave priority
list, and answers extended polls with an immediate reply and then periodic ones (numerics every second,
waves every 256 ms: ECG II 128 samples at 500/s with 14 significant bits over -40.96..40.955 mV, pleth 32,
respiration and CO2 16 per reply). NIBP is sent as a compound numeric. If the host stays silent for the
association timeout the emulator aborts the association; while the simulator is not ``responding`` it
neither listens nor talks; with ``noise`` it puts garbage bytes between frames.

Sans-I/O like the driver: :meth:`receive` and :meth:`outgoing` take ``now`` and never sleep.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from devices import mdc
from devices.driver import Emulator
from devices.model import Numeric, State, WaveBlock
from devices.protocols.intellivue import codec, messages
from devices.protocols.intellivue.framing import FrameSplitter, encode_frame

MIN_POLL_PERIOD = 4000  # ticks: 500 ms, as the real monitor accepted
MTU = 996
WAVE_PERIOD = 0.256
NUMERIC_PERIOD = 1.0
#: relative clock at emulator start: as if the monitor had been running for an hour
UPTIME_TICKS = 3600 * codec.TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class WaveChannel:
    """How one simulator wave is exported: object handle, physio id, label, sample spec, scale and unit."""

    mdc: int
    handle: int
    label: str
    samples: int  # per 256 ms
    significant_bits: int
    flags: int
    low: float
    high: float
    low_scaled: int
    high_scaled: int
    decimals: int  # of low/high as FLOATs
    unit_code: int

    @property
    def physio(self) -> int:
        return mdc.to_philips(self.mdc)

    @property
    def sample_period(self) -> int:
        return round(WAVE_PERIOD * codec.TICKS_PER_SECOND / self.samples)

    def to_raw(self, values: np.ndarray) -> np.ndarray:
        """Physical values → raw counts, clipped to the scaled range."""
        factor = (self.high_scaled - self.low_scaled) / (self.high - self.low)
        raw = np.rint(self.low_scaled + (np.asarray(values, dtype=np.float64) - self.low) * factor)
        return np.clip(raw, min(self.low_scaled, self.high_scaled), max(self.low_scaled, self.high_scaled))

    def static_attributes(self) -> list[tuple[int, bytes]]:
        scale = struct.pack(">IIHH", codec.encode_float(self.low, self.decimals),
                            codec.encode_float(self.high, self.decimals), self.low_scaled, self.high_scaled)
        return [
            (codec.ATTR_HANDLE, struct.pack(">H", self.handle)),
            (codec.ATTR_TYPE, struct.pack(">HH", codec.NOM_PART_OBJ, codec.NOM_MOC_VMO_METRIC_SA_RT)),
            (codec.ATTR_SA_SPECN, struct.pack(">HBBH", self.samples, 16, self.significant_bits, self.flags)),
            (codec.ATTR_TIME_PD_SAMP, struct.pack(">I", self.sample_period)),
            (codec.ATTR_LABEL, struct.pack(">I", self.mdc)),
            (codec.ATTR_LABEL_STRING, codec.encode_string(self.label)),
            (codec.ATTR_UNIT_CODE, struct.pack(">H", self.unit_code)),
            (codec.ATTR_SCALE_SPECN_I16, scale),
        ]


#: the waves of the default priority list, scaled like the real monitor where the captures show it
WAVES: tuple[WaveChannel, ...] = (
    WaveChannel(mdc.ECG_II, 0x0201, "II", 128, 14, 0x3000, -40.96, 40.955, 0, 16383, 3, 0x10B2),
    WaveChannel(mdc.PLETH, 0x0202, "Pleth", 32, 12, 0x8000, -1.0, 3.095, 0, 4095, 3, 0x0200),
    WaveChannel(mdc.RESP_WAVE, 0x0203, "Resp", 16, 12, 0x8000, -2.048, 2.047, 0, 4095, 3, 0x0200),
    WaveChannel(mdc.CO2_WAVE, 0x0204, "CO2", 16, 12, 0x8000, -5.0, 60.0, 100, 4000, 0, 0x0F20),
)
_WAVES_BY_MDC = {w.mdc: w for w in WAVES}

#: numeric objects: mdc → (handle, label, unit code, decimals)
NUMERICS: dict[int, tuple[int, str, int, int]] = {
    mdc.HEART_RATE: (0x0101, "HR", 0x0AA0, 0),
    mdc.SPO2: (0x0102, "SpO2", 0x0220, 0),
    mdc.PULSE_RATE_OXIM: (0x0103, "Pulse", 0x0AA0, 0),
    mdc.RESP_RATE: (0x0104, "RR", 0x0AE0, 0),
    mdc.ETCO2: (0x0105, "etCO2", 0x0F20, 0),
    mdc.TEMP: (0x0106, "Temp", 0x17A0, 2),
    mdc.PERF_INDEX: (0x0107, "Perf", 0x0200, 2),
}
NIBP_HANDLE = 0x0110
NIBP_PHYSIO = mdc.NIBP & 0xFFFF  # 0x4A04: the compound object; components 0x4A05/06/07

_STATE_TO_BITS: tuple[tuple[State, int], ...] = (
    (State.INVALID, 0x8000), (State.QUESTIONABLE, 0x4000), (State.UNAVAILABLE, 0x2000),
    (State.CALIBRATING, 0x1000), (State.TEST, 0x0800), (State.DEMO, 0x0400),
    (State.EARLY_INDICATION, 0x0040), (State.MEASURING, 0x0020), (State.IN_ALARM, 0x0002),
    (State.ALARMS_INHIBITED, 0x0001),
    # states IntelliVue has no bit for make the value invalid on the wire
    (State.SENSOR_OFF, 0x8000), (State.LEAD_OFF, 0x8000), (State.ARTIFACT, 0x4000),
    (State.SEARCHING, 0x4000),
)


def state_bits(state: State) -> int:
    """Philips MeasurementState bits for a Chairside state."""
    bits = 0
    for flag, bit in _STATE_TO_BITS:
        if flag & state:
            bits |= bit
    return bits


@dataclass(slots=True)
class _Poll:
    code: int
    poll_number: int
    invoke_id: int
    expires: float
    sequence: int = 0
    next_due: float = 0.0


@dataclass(slots=True)
class _Nibp:
    values: tuple[float | None, float | None, float | None] = (None, None, None)
    bits: int = 0x2000  # unavailable until the first measurement


@dataclass(slots=True)
class _WaveFifo:
    """Simulator blocks waiting to be exported, grouped by their start time."""

    pending: deque[tuple[float, dict[int, WaveBlock]]] = field(default_factory=deque)


class IntelliVueEmulator(Emulator):
    """An IntelliVue monitor on the far end of a MIB/RS232 cable (see the module docstring)."""

    def __init__(self, simulator: Any, tz: dt.tzinfo | None = None, seed: int = 0) -> None:
        self.simulator = simulator
        #: zone of the monitor clock (``None`` = local zone, like a monitor set to local time)
        self.tz = tz
        self._rng = random.Random(seed)
        self._splitter = FrameSplitter()
        self._out: list[bytes] = []
        self._boot: float | None = None
        self._associated = False
        self._timeout = 10.0
        self._last_rx = 0.0
        self._polls: dict[int, _Poll] = {}
        self._invoke = 0
        self._numerics: dict[int, Numeric] = {}
        self._nibp = _Nibp()
        self._waves: deque[tuple[float, dict[int, WaveBlock]]] = deque(maxlen=64)
        self._priority: tuple[int, ...] = tuple(w.mdc for w in WAVES)
        self._static_turn = 0
        #: counters for tests and the technician's view
        self.counts: dict[str, int] = {}

    # --- Emulator API -------------------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        """Consume what the host sent (ignored entirely while the simulator is not responding)."""
        self._clock(now)
        if not self.simulator.responding:
            return
        for result in self._splitter.feed(data):
            if not result.ok:
                self._count("host_frames_bad")
                continue
            self._last_rx = now
            try:
                self._handle(result.user_data, now)
            except (ValueError, struct.error, IndexError):
                self._count("host_messages_bad")

    def outgoing(self, now: float) -> bytes:
        """Everything the monitor sends at ``now``: answers, periodic poll replies, aborts."""
        self._clock(now)
        samples = self.simulator.advance(now)
        if not self.simulator.responding:
            self._out.clear()
            return b""
        self._collect(samples)
        if self._associated and now - self._last_rx > self._timeout:
            self._count("timeouts")
            self._send(messages.ABORT)
            self._dissociate()
        if self._associated:
            self._periodic(now)
        frames, self._out = self._out, []
        if not frames:
            return b""
        if self.simulator.noise:
            return b"".join(self._garbage() + encode_frame(f) for f in frames)
        return b"".join(encode_frame(f) for f in frames)

    # --- helpers ------------------------------------------------------------------------------------------
    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _clock(self, now: float) -> None:
        if self._boot is None:
            self._boot = now

    def _rel(self, t: float) -> int:
        assert self._boot is not None
        return (UPTIME_TICKS + round((t - self._boot) * codec.TICKS_PER_SECOND)) & 0xFFFFFFFF

    def _send(self, user_data: bytes) -> None:
        self._out.append(user_data)

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) & 0xFFFF
        return self._invoke

    def _garbage(self) -> bytes:
        """Line noise: random bytes, sometimes including delimiters (a false start, a stray end)."""
        n = self._rng.randint(1, 12)
        return bytes(self._rng.choice((0xC0, 0xC1, 0x7D, self._rng.randrange(256))) for _ in range(n))

    def _dissociate(self) -> None:
        self._associated = False
        self._polls.clear()

    # --- host messages ------------------------------------------------------------------------------------
    def _handle(self, user_data: bytes, now: float) -> None:
        kind = user_data[0]
        if kind == codec.SESSION_CONNECT:
            self._on_association_request(user_data, now)
        elif kind == codec.SESSION_FINISH:
            self._send(messages.RELEASE_RESPONSE)
            self._count("releases")
            self._dissociate()
        elif kind == codec.SESSION_ABORT:
            self._dissociate()
        elif kind == codec.SESSION_DATA and self._associated:
            self._on_data(user_data, now)

    def _on_association_request(self, user_data: bytes, now: float) -> None:
        try:
            info = codec.parse_user_info(user_data)
        except codec.DecodeError:
            self._send(messages.REFUSE)
            self._count("refusals")
            return
        if not info.system_type & messages.SYST_CLIENT or not info.protocol_version & messages.MDDL_VERSION1:
            self._send(messages.REFUSE)
            self._count("refusals")
            return
        period = max(MIN_POLL_PERIOD, info.min_poll_period or MIN_POLL_PERIOD)
        self._timeout = min(130.0, max(10.0, 3 * period / codec.TICKS_PER_SECOND))
        granted = (info.ext_options or 0) & (messages.EXT_NU_1SEC | messages.EXT_RTSA | messages.EXT_ENUM
                                             | messages.EXT_NU_PRIO_LIST)
        mtu = min(MTU, info.max_mtu_rx or MTU)
        self._send(messages.association_response(period, mtu, granted))
        self._associated = True
        self._polls.clear()
        self._count("associations")
        # the MDS Create carries the clock: absolute time (1/100 s) and the relative time of that instant
        stamp = round(now, 2)
        rel = self._rel(stamp)
        attrs = [
            (codec.ATTR_MODEL, codec.encode_model("Philips", "M8000")),
            (codec.ATTR_TIME_ABS, codec.encode_abs_time(stamp, self.tz)),
            (codec.ATTR_TIME_REL, struct.pack(">I", rel)),
        ]
        self._send(messages.mds_create_event(self._next_invoke(), rel, attrs))

    def _on_data(self, user_data: bytes, now: float) -> None:
        ro = codec.parse_remote_operation(user_data)
        if ro.ro_type != codec.RO_INVOKE:
            if ro.ro_type == codec.RO_RESULT and ro.command == codec.CMD_CONFIRMED_EVENT_REPORT:
                self._count("mds_create_results")
            return
        if ro.command == codec.CMD_CONFIRMED_SET:
            self._on_set(ro, now)
        elif ro.command == codec.CMD_CONFIRMED_ACTION:
            self._on_action(ro, now)
        elif ro.command == codec.CMD_GET:
            labels = self._priority
            body = b"".join(struct.pack(">I", code) for code in labels)
            value = struct.pack(">HH", len(labels), len(body)) + body
            self._send(messages.get_result(ro.invoke_id, [(codec.ATTR_POLL_RTSA_PRIO_LIST, value)]))
        else:
            self._send(messages.error_result(ro.invoke_id, 2))  # no such action

    def _on_set(self, ro: codec.RemoteOperation, now: float) -> None:
        body = ro.body
        # managed object (6), scope (4), ModificationList: count, length, then (operator, AVA) entries
        count, _length = struct.unpack_from(">HH", body, 10)
        pos = 14
        for _ in range(count):
            _op, attr_id, attr_len = struct.unpack_from(">HHH", body, pos)
            value = body[pos + 6:pos + 6 + attr_len]
            pos += 6 + attr_len
            if attr_id == codec.ATTR_POLL_RTSA_PRIO_LIST:
                n = struct.unpack_from(">H", value)[0]
                wanted = struct.unpack_from(f">{n}I", value, 4)
                self._priority = tuple(code for code in wanted if code in _WAVES_BY_MDC)
                self._count("priority_sets")
        body_out = b"".join(struct.pack(">I", code) for code in self._priority)
        value_out = struct.pack(">HH", len(self._priority), len(body_out)) + body_out
        self._send(messages.set_result(ro.invoke_id, [(codec.ATTR_POLL_RTSA_PRIO_LIST, value_out)]))

    def _on_action(self, ro: codec.RemoteOperation, now: float) -> None:
        # managed object (6), scope (4), action type, length, argument
        action, _length = struct.unpack_from(">HH", ro.body, 10)
        arg = ro.body[14:]
        if action == codec.NOM_ACT_POLL_MDIB_DATA_EXT:
            poll_number, _partition, code, _group = struct.unpack_from(">HHHH", arg)
            attrs, _ = codec.parse_attributes(arg, 8)
            period_attr = attrs.get(codec.ATTR_TIME_PD_POLL)
            period = codec.decode_u32(period_attr) if period_attr is not None else 0
            if code not in (codec.NOM_MOC_VMO_METRIC_NU, codec.NOM_MOC_VMO_METRIC_SA_RT):
                self._send(messages.error_result(ro.invoke_id, 3))
                return
            existing = self._polls.get(code)
            poll = _Poll(code, poll_number, ro.invoke_id, now + period / codec.TICKS_PER_SECOND)
            if existing is not None and existing.expires > now:
                # a renewal: the basic period of the replies continues (guide, "Time Periodic Data Poll")
                poll.sequence, poll.next_due = existing.sequence, existing.next_due
            else:
                step = NUMERIC_PERIOD if code == codec.NOM_MOC_VMO_METRIC_NU else WAVE_PERIOD
                poll.next_due = now + step
            self._polls[code] = poll
            self._count(f"polls_{code:#06x}")
            self._reply(poll, now, immediate=True)
        elif action == codec.NOM_ACT_POLL_MDIB_DATA:
            poll_number, _partition, code, group = struct.unpack_from(">HHHH", arg)
            self._count("single_polls")
            self._send(messages.single_poll_reply(ro.invoke_id, poll_number, self._rel(now), code, group, []))
        else:
            self._send(messages.error_result(ro.invoke_id, 3))

    # --- periodic replies ---------------------------------------------------------------------------------
    def _collect(self, samples: list[Any]) -> None:
        for sample in samples:
            if isinstance(sample, WaveBlock):
                if sample.mdc in _WAVES_BY_MDC:
                    if not self._waves or abs(self._waves[-1][0] - sample.t0) > 1e-6:
                        self._waves.append((sample.t0, {}))
                    self._waves[-1][1][sample.mdc] = sample
            elif isinstance(sample, Numeric):
                self._on_numeric(sample)

    def _on_numeric(self, sample: Numeric) -> None:
        if sample.mdc == mdc.NIBP_SYS and sample.state & State.MEASURING:
            # cuff inflating: keep the last result, flag the measurement as ongoing
            self._nibp.bits |= 0x0020
            return
        if sample.mdc in (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN):
            index = (mdc.NIBP_SYS, mdc.NIBP_DIA, mdc.NIBP_MEAN).index(sample.mdc)
            values = list(self._nibp.values)
            values[index] = sample.value
            self._nibp.values = (values[0], values[1], values[2])
            self._nibp.bits = state_bits(sample.state)
            return
        self._numerics[sample.mdc] = sample

    def _periodic(self, now: float) -> None:
        for poll in list(self._polls.values()):
            if now >= poll.expires:
                del self._polls[poll.code]
                continue
            if poll.code == codec.NOM_MOC_VMO_METRIC_NU:
                if now >= poll.next_due:
                    poll.sequence += 1
                    poll.next_due += NUMERIC_PERIOD * max(1, int((now - poll.next_due) // NUMERIC_PERIOD) + 1)
                    self._reply(poll, now)
            else:
                while self._waves:
                    t0, blocks = self._waves.popleft()
                    poll.sequence += 1
                    self._wave_reply(poll, t0, blocks)
        if codec.NOM_MOC_VMO_METRIC_SA_RT not in self._polls:
            self._waves.clear()

    def _reply(self, poll: _Poll, now: float, immediate: bool = False) -> None:
        sequence = 0 if immediate else poll.sequence
        if poll.code == codec.NOM_MOC_VMO_METRIC_NU:
            context = messages.poll_context(0, self._numeric_observations())
            self._send(messages.extended_poll_reply(poll.invoke_id, poll.poll_number, sequence,
                                                    self._rel(now), poll.code, [context]))
        else:
            # the confirmation of a wave poll carries the static attributes of every exported wave
            observations = [(w.handle, w.static_attributes()) for w in WAVES if w.mdc in self._priority]
            self._send(messages.extended_poll_reply(poll.invoke_id, poll.poll_number, sequence,
                                                    self._rel(now), poll.code,
                                                    [messages.poll_context(0, observations)]))

    def _numeric_observations(self) -> list[tuple[int, list[tuple[int, bytes]]]]:
        observations: list[tuple[int, list[tuple[int, bytes]]]] = []
        for code, (handle, label, unit, decimals) in NUMERICS.items():
            sample = self._numerics.get(code)
            if sample is None:
                continue
            value = struct.pack(">HHHI", mdc.to_philips(code), state_bits(sample.state), unit,
                                codec.encode_float(sample.value, decimals))
            observations.append((handle, [
                (codec.ATTR_HANDLE, struct.pack(">H", handle)),
                (codec.ATTR_LABEL_STRING, codec.encode_string(label)),
                (codec.ATTR_NU_VAL_OBS, value),
            ]))
        parts = b"".join(
            struct.pack(">HHHI", physio, self._nibp.bits, 0x0F20, codec.encode_float(v, 0))
            for physio, v in zip((NIBP_PHYSIO + 1, NIBP_PHYSIO + 2, NIBP_PHYSIO + 3), self._nibp.values))
        observations.append((NIBP_HANDLE, [
            (codec.ATTR_HANDLE, struct.pack(">H", NIBP_HANDLE)),
            (codec.ATTR_LABEL_STRING, codec.encode_string("NBP")),
            (codec.ATTR_NU_CMPD_VAL_OBS, struct.pack(">HH", 3, len(parts)) + parts),
        ]))
        return observations

    def _wave_reply(self, poll: _Poll, t0: float, blocks: dict[int, WaveBlock]) -> None:
        observations: list[tuple[int, list[tuple[int, bytes]]]] = []
        exported = [w for w in WAVES if w.mdc in self._priority and w.mdc in blocks]
        for i, channel in enumerate(exported):
            block = blocks[channel.mdc]
            counts = channel.to_raw(block.samples[:channel.samples]).astype(np.uint16)
            if channel.flags & codec.SA_EXT_VAL_RANGE and counts.size:
                # like the real monitor, the bits above the significant ones carry markers: set one so
                # drivers that forget to mask them show a spike
                counts[0] |= 1 << 15
            raw = counts.astype(">u2").tobytes()
            attrs: list[tuple[int, bytes]] = []
            # like the real monitor, repeat one object's static attributes per reply, round robin
            if exported and self._static_turn % len(exported) == i:
                attrs.extend(channel.static_attributes())
            attrs.append((codec.ATTR_SA_VAL_OBS,
                          struct.pack(">HHH", channel.physio, state_bits(block.state), len(raw)) + raw))
            observations.append((channel.handle, attrs))
        self._static_turn += 1
        self._send(messages.extended_poll_reply(poll.invoke_id, poll.poll_number, poll.sequence,
                                                self._rel(t0), poll.code,
                                                [messages.poll_context(0, observations)]))

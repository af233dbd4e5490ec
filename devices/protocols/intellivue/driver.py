"""Sans-I/O host driver for Philips IntelliVue monitors over the MIB/RS232 Data Export protocol.

The driver associates with the monitor, answers its MDS Create event, sets the wave priority list, keeps an
extended poll running for real-time numerics and one for waves (renewing each before its period runs out),
sends keep-alives inside the association timeout and releases on close. Everything the monitor sends is
decoded into :class:`~devices.model.Numeric` and :class:`~devices.model.WaveBlock` samples; link changes come
out as :class:`~devices.model.LinkEvent`. It never touches a port and never sleeps: ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

import numpy as np

from devices import mdc
from devices.driver import Driver, Troubleshooting
from devices.model import LinkEvent, LinkState, Numeric, Sample, State, WaveBlock
from devices.protocols.intellivue import codec, labels, messages
from devices.protocols.intellivue.framing import FrameSplitter, encode_frame
from devices.transport import PortSettings

#: Philips MeasurementState bits → Chairside states (0x0080 validated and 0x0020 ongoing carry no flag;
#: 0x0020 maps to MEASURING because the value shown is then the previous result)
_STATE_BITS: tuple[tuple[int, State], ...] = (
    (0x8000, State.INVALID),
    (0x4000, State.QUESTIONABLE),
    (0x2000, State.UNAVAILABLE),
    (0x1000, State.CALIBRATING),
    (0x0800, State.TEST),
    (0x0400, State.DEMO),
    (0x0040, State.EARLY_INDICATION),
    (0x0020, State.MEASURING),
    (0x0002, State.IN_ALARM),
    (0x0001, State.ALARMS_INHIBITED),
)
_STATE_CACHE: dict[int, State] = {}
#: what a message with a good FCS but nonsense content can raise while being parsed
_DECODE_ERRORS = (ValueError, struct.error, IndexError, KeyError, ZeroDivisionError, OverflowError)


def measurement_state(bits: int) -> State:
    """Chairside :class:`State` flags of a Philips MeasurementState bit field."""
    state = _STATE_CACHE.get(bits)
    if state is None:
        state = State.NONE
        for bit, flag in _STATE_BITS:
            if bits & bit:
                state |= flag
        _STATE_CACHE[bits] = state
    return state


# link phases
_IDLE = "idle"  # must (re)send the association request
_REQUESTED = "requested"  # request sent, waiting for accept
_ASSOCIATED = "associated"
_RELEASED = "released"


@dataclass(slots=True)
class _ObjectCache:
    """Static and slowly changing attributes of one monitor object (they arrive about once a second)."""

    label: str = ""
    spec: codec.SaSpec | None = None
    scale: codec.ScaleRange | None = None
    scale_seen: bool = False  # a scale attribute arrived (its bounds may be NaN: a dimensionless wave)
    unit_code: int | None = None
    sample_period: int | None = None  # ticks


@dataclass(slots=True)
class _PollState:
    code: int
    poll_number: int
    sent_at: float | None = None


class IntelliVueDriver(Driver):
    """Host side of the IntelliVue MIB/RS232 Data Export protocol (see the module docstring)."""

    # link state, (re)set by _reset_link(); declared here so that methods above it type-check
    _phase: str
    _assoc_sent_at: float
    _last_rx: float | None

    name = "intellivue"
    title = "Philips IntelliVue (MIB/RS232 Data Export)"
    default_settings = PortSettings(115200, 8, "N", 1)
    alternative_settings = (PortSettings(19200, 8, "N", 1),)
    setup_help = (
        "Connect to the monitor's MIB/RS232 port (an RJ45 connector on the interface board) with a "
        "MIB-to-RS232 cable; in a patient's vicinity the computer must be isolated from mains (isolation "
        "transformer). On the monitor: the port must be assigned to Data Export (\"DtOut1\" under Main Setup > "
        "Hardware > Interfaces, changed in service mode; its yellow arrow-out LED lights when it is). Then, in "
        "Configuration Mode, Main Setup > Hardware > Data Export: choose \"Fix 115200\" (or \"Fix 19200\", "
        "and set 19200 here too; not AutoSpeed). Line: 8 data bits, no parity, 1 stop bit, no flow control. "
        "Chairside then connects by itself: it asks the monitor for an association every 5 seconds until it "
        "answers, then gets numerics every second and the ECG II, pleth, respiration and CO2 waves. Only one "
        "computer can be associated with a monitor port at a time. Values the monitor marks as demo or test "
        "data are shown marked, never as patient data."
    )
    silence_timeout = 10.0
    troubleshooting = Troubleshooting(
        # the association request is repeated every 5 s (ASSOCIATION_RETRY): give it one retry
        first_data_wait_s=7.0,
        no_answer="No answer to the IntelliVue association request{requests}.",
        no_answer_fix=(
            "Check the cable (Philips MIB/RS232 cable or a null-modem adapter in the MIB/RS232 port) and "
            "that the monitor's data export is set to \"Fix 115200\" (Main Setup > Hardware > "
            "Interfaces, protocol MIB/RS232 Data Export); this profile uses {settings}, which must match "
            "the monitor's speed. Only one computer can be associated with a monitor at a time."),
        undecodable=" as IntelliVue frames.",
        undecodable_fix=(
            "The speed is most likely wrong: set the monitor's interface and this profile to the same "
            "speed (\"Fix 115200\", or 19200), 8 data bits, no parity, 1 stop bit, no flow control "
            "(this profile uses {settings}). Check the port is set to Data Export, not another protocol."),
        refused="The IntelliVue monitor refused the association.",
        refused_fix=(
            "Another computer (or another Chairside) is associated with this monitor port: close "
            "it, or wait until the monitor drops it. Check that the port is set to Data Export."),
        silent_hint="another computer may have taken the monitor's association. ",
    )

    #: seconds between association requests while the monitor does not answer
    ASSOCIATION_RETRY = 5.0
    #: seconds to wait for the MDS Create event after the accept before polling anyway
    MDS_CREATE_WAIT = 3.0
    #: period of the extended polls (their replies stop this long after the last request)
    POLL_PERIOD = 60.0
    #: renew an extended poll when this fraction of its period has run
    POLL_RENEW_FRACTION = 2 / 3
    #: at most this many frames per burst and this gap between bursts (the monitor takes ~4 frames / 128 ms)
    MAX_BURST = 3
    BURST_GAP = 0.128

    def __init__(self, source: str = "") -> None:
        super().__init__(source)
        #: zone the monitor clock runs in; ``None`` = this computer's local zone (monitors show local time)
        self.device_tz: dt.tzinfo | None = None
        #: waves requested, as 32-bit labels (SCADA partition)
        self.wave_priority: tuple[int, ...] = messages.DEFAULT_WAVE_PRIORITY
        #: what the MDS Create said about the monitor
        self.monitor_model: tuple[str, str] = ("", "")
        #: POSIX time of the monitor clock in the last MDS Create event (``None`` before one arrives)
        self.mds_time: float | None = None
        self._splitter = FrameSplitter()
        self._objects: dict[tuple[int, int], _ObjectCache] = {}
        self._wave_next: dict[tuple[int, int, int], int] = {}
        self._anchor: tuple[int, float] | None = None  # (relative ticks, POSIX seconds)
        self._anchor_from_device = False
        self._events: list[Sample] = []  # link events noticed by outgoing(), returned by the next feed()
        self._refused = False  # in a run of refusals: report the first only
        self._reset_link()

    # --- public API -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the association and any partial frame (after a reconnect); keeps stats and caches."""
        self._splitter.reset()
        self._reset_link()

    def feed(self, data: bytes, now: float) -> list[Sample]:
        """Decode what the monitor sent; also reports link events noticed by :meth:`outgoing`."""
        out: list[Sample] = self._events
        self._events = []
        self.stats.bytes_in += len(data)
        if data:
            before = self._splitter.resyncs
            results = self._splitter.feed(data)
            self.stats.resyncs += self._splitter.resyncs - before
            for result in results:
                if not result.ok:
                    self.stats.frames_bad += 1
                    self.stats.last_error = result.note
                    self._log_frame("in", now, result.user_data, False, result.note)
                    continue
                self.stats.frames_ok += 1
                self._last_rx = now
                self._log_frame("in", now, result.user_data)
                try:
                    self._handle(result.user_data, now, out)
                except _DECODE_ERRORS as exc:
                    # FCS was fine but the content does not parse: count it and keep going
                    self.stats.extra["messages_bad"] = self.stats.extra.get("messages_bad", 0) + 1
                    self.stats.last_error = f"undecodable message: {exc}"
        self._check_silence(now, out)
        return out

    def outgoing(self, now: float) -> bytes:
        """Association requests, MDS Create result, priority list, poll renewals and keep-alives due now."""
        self._check_silence(now, self._events)
        if self._phase == _IDLE or (self._phase == _REQUESTED
                                    and now - self._assoc_sent_at >= self.ASSOCIATION_RETRY):
            self._queue.append(messages.association_request())
            self._phase = _REQUESTED
            self._assoc_sent_at = now
            self._count("association_requests")
        elif self._phase == _ASSOCIATED:
            self._schedule(now)
        return self._drain(now)

    def close(self, now: float) -> bytes:
        """A release request when associated (to send before closing the port), else nothing."""
        was_associated = self._phase == _ASSOCIATED
        self._reset_link()
        self._phase = _RELEASED
        if not was_associated:
            return b""
        frame = encode_frame(messages.RELEASE_REQUEST)
        self._log_frame("out", now, messages.RELEASE_REQUEST, note="release request")
        self.stats.bytes_out += len(frame)
        return frame

    # --- link state -------------------------------------------------------------------------------------
    def _reset_link(self) -> None:
        self._phase = _IDLE
        self._assoc_sent_at = float("-inf")
        self._accepted_at = 0.0
        self._mds_done = False
        self._priority_sent = False
        self._queue: list[bytes] = []
        self._last_rx = None
        self._last_tx = float("-inf")
        self._burst_start = float("-inf")
        self._burst_count = 0
        self._invoke = 0
        self._assoc_timeout = 10.0
        self._polls = {
            codec.NOM_MOC_VMO_METRIC_NU: _PollState(codec.NOM_MOC_VMO_METRIC_NU, 1),
            codec.NOM_MOC_VMO_METRIC_SA_RT: _PollState(codec.NOM_MOC_VMO_METRIC_SA_RT, 2),
        }

    def _count(self, key: str) -> None:
        self.stats.extra[key] = self.stats.extra.get(key, 0) + 1

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) & 0xFFFF
        return self._invoke

    def _lost(self, now: float, message: str, out: list[Sample], state: LinkState = LinkState.LOST) -> None:
        out.append(LinkEvent(state, message, now, self.source))
        self._reset_link()

    def _check_silence(self, now: float, out: list[Sample]) -> None:
        if (self._phase == _ASSOCIATED and self._last_rx is not None
                and now - self._last_rx > self.silence_timeout):
            self._count("silences")
            self._lost(now, f"no data from the monitor for {now - self._last_rx:.0f} s; associating again",
                       out, LinkState.SILENT)

    def _schedule(self, now: float) -> None:
        """Queue what the association needs: polls once the MDS Create is answered, renewals, keep-alive."""
        if not self._mds_done and now - self._accepted_at < self.MDS_CREATE_WAIT:
            return
        if not self._priority_sent:
            self._priority_sent = True
            self._queue.append(messages.set_wave_priority(self._next_invoke(), self.wave_priority))
        period_ticks = int(self.POLL_PERIOD * codec.TICKS_PER_SECOND)
        for poll in self._polls.values():
            if poll.sent_at is None or now - poll.sent_at >= self.POLL_PERIOD * self.POLL_RENEW_FRACTION:
                poll.sent_at = now
                self._queue.append(messages.extended_poll(self._next_invoke(), poll.poll_number, poll.code,
                                                          period_ticks))
                self._count("polls_sent")
        # keep-alive: the monitor aborts after its timeout without a message from us
        if not self._queue and now - self._last_tx >= self._assoc_timeout / 3:
            self._queue.append(messages.single_poll(self._next_invoke(), 3))
            self._count("keep_alives")

    def _drain(self, now: float) -> bytes:
        if not self._queue:
            return b""
        if now - self._burst_start >= self.BURST_GAP:
            self._burst_start = now
            self._burst_count = 0
        frames: list[bytes] = []
        while self._queue and self._burst_count < self.MAX_BURST:
            user_data = self._queue.pop(0)
            frames.append(encode_frame(user_data))
            self._log_frame("out", now, user_data)
            self._burst_count += 1
        if not frames:
            return b""  # burst budget used up: the rest waits for the next call
        self._last_tx = now
        data = b"".join(frames)
        self.stats.bytes_out += len(data)
        return data

    # --- message handling -------------------------------------------------------------------------------
    def _handle(self, user_data: bytes, now: float, out: list[Sample]) -> None:
        kind = user_data[0]
        if kind == codec.SESSION_DATA:
            self._handle_data(user_data, now, out)
        elif kind == codec.SESSION_ACCEPT:
            self._on_accept(user_data, now, out)
        elif kind == codec.SESSION_REFUSE:
            self._count("refusals")
            if not self._refused:  # one event per run of refusals, not one every retry
                self._lost(now, "the monitor refused the association (another computer may be associated); "
                                "retrying", out)
            self._phase = _REQUESTED  # retry after ASSOCIATION_RETRY, not at once
            self._assoc_sent_at = now
            self._refused = True
        elif kind == codec.SESSION_ABORT:
            self._count("aborts")
            if self._phase == _ASSOCIATED:
                self._lost(now, "the monitor aborted the association; associating again", out)
            elif self._phase == _REQUESTED:
                # an abort of an association we no longer have, or of the request: retry at the usual pace
                self._assoc_sent_at = now
        elif kind == codec.SESSION_DISCONNECT:
            if self._phase == _ASSOCIATED:  # after our own release request this is just the answer
                self._lost(now, "the monitor ended the association", out)
        elif kind == codec.SESSION_FINISH:
            self._lost(now, "the monitor released the association; associating again", out)
            self._queue.append(messages.RELEASE_RESPONSE)
        else:
            self._count("unknown_messages")

    def _on_accept(self, user_data: bytes, now: float, out: list[Sample]) -> None:
        info = codec.parse_user_info(user_data)
        period = info.min_poll_period or 4000
        self._assoc_timeout = min(130.0, max(10.0, 3 * period / codec.TICKS_PER_SECOND))
        self._phase = _ASSOCIATED
        self._refused = False
        self._accepted_at = now
        self._last_rx = now
        self._mds_done = False
        self._priority_sent = False
        for poll in self._polls.values():
            poll.sent_at = None
        self._count("associations")
        wanted = messages.EXT_NU_1SEC | messages.EXT_RTSA
        granted = info.ext_options or 0
        note = "" if granted & wanted == wanted else " (the monitor did not grant real-time numerics/waves)"
        out.append(LinkEvent(LinkState.ASSOCIATED,
                             f"associated (poll period {period / 8:.0f} ms, MTU {info.max_mtu_rx}){note}",
                             now, self.source))

    def _handle_data(self, user_data: bytes, now: float, out: list[Sample]) -> None:
        ro = codec.parse_remote_operation(user_data)
        if ro.ro_type == codec.RO_INVOKE:
            if ro.command in (codec.CMD_EVENT_REPORT, codec.CMD_CONFIRMED_EVENT_REPORT):
                event = codec.parse_event_report(ro.body)
                if event.event_type == codec.NOM_NOTI_MDS_CREAT:
                    self._on_mds_create(event, now)
                if ro.command == codec.CMD_CONFIRMED_EVENT_REPORT:
                    obj = struct.pack(">HHH", event.obj_class, event.context, event.handle)
                    self._queue.append(messages.event_report_result(ro.invoke_id, event.event_time,
                                                                    event.event_type, obj))
            return
        if ro.ro_type == codec.RO_ERROR:
            self._count("remote_errors")
            self.stats.last_error = f"monitor returned error {ro.command} for request {ro.invoke_id}"
            return
        if ro.command != codec.CMD_CONFIRMED_ACTION:
            return  # SET/GET results need nothing from us
        action = codec.parse_action_result(ro.body)
        if action.action_type == codec.NOM_ACT_POLL_MDIB_DATA_EXT:
            reply = codec.parse_poll_reply(action.data, extended=True)
        elif action.action_type == codec.NOM_ACT_POLL_MDIB_DATA:
            reply = codec.parse_poll_reply(action.data, extended=False)
        else:
            return
        if ro.ro_type == codec.RO_LINKED_RESULT:
            self._count("linked_results")
        self._decode_reply(reply, now, out)

    def _on_mds_create(self, event: codec.EventReport, now: float) -> None:
        mds = codec.parse_mds_create(event.info)
        self._mds_done = True
        self.monitor_model = (mds.manufacturer, mds.model)
        posix = codec.decode_abs_time(mds.abs_time, self.device_tz) if mds.abs_time else None
        rel = mds.rel_time if mds.rel_time is not None else event.event_time
        self.mds_time = posix
        if posix is not None:
            self._anchor = (rel, posix)
            self._anchor_from_device = True

    # --- decoding ---------------------------------------------------------------------------------------
    def _device_time(self, rel: int, now: float) -> float:
        if self._anchor is None:
            # no monitor clock seen yet (e.g. joined mid-association): anchor on our own clock
            self._anchor = (rel, now)
            self._anchor_from_device = False
        anchor_rel, anchor_posix = self._anchor
        return anchor_posix + codec.rel_delta(rel, anchor_rel) / codec.TICKS_PER_SECOND

    def _decode_reply(self, reply: codec.PollReply, now: float, out: list[Sample]) -> None:
        if not self._anchor_from_device:
            posix = codec.decode_abs_time(reply.abs_time, self.device_tz)
            if posix is not None:
                self._anchor = (reply.rel_time, posix)
                self._anchor_from_device = True
        device_time: float | None = None
        for obs in reply.observations:
            attrs = obs.attributes
            key = (obs.context, obs.handle)
            cache = self._objects.get(key)
            if cache is None:
                cache = self._objects[key] = _ObjectCache()
            self._update_cache(cache, attrs)
            if device_time is None:
                device_time = self._device_time(reply.rel_time, now)
            if codec.ATTR_NU_VAL_OBS in attrs:
                out.append(self._numeric(codec.decode_nu_value(attrs[codec.ATTR_NU_VAL_OBS]), cache.label,
                                         device_time, now))
            if codec.ATTR_NU_CMPD_VAL_OBS in attrs:
                for value in codec.decode_nu_compound(attrs[codec.ATTR_NU_CMPD_VAL_OBS]):
                    out.append(self._numeric(value, cache.label, device_time, now, compound=True))
            if codec.ATTR_SA_VAL_OBS in attrs:
                sa, _ = codec.decode_sa_value(attrs[codec.ATTR_SA_VAL_OBS])
                self._wave(key, sa, cache, reply.rel_time, now, out, compound=False)
            if codec.ATTR_SA_CMPD_VAL_OBS in attrs:
                for sa in codec.decode_sa_compound(attrs[codec.ATTR_SA_CMPD_VAL_OBS]):
                    self._wave(key, sa, cache, reply.rel_time, now, out, compound=True)

    @staticmethod
    def _update_cache(cache: _ObjectCache, attrs: dict[int, bytes]) -> None:
        if codec.ATTR_LABEL_STRING in attrs:
            cache.label = codec.decode_string(attrs[codec.ATTR_LABEL_STRING])
        if codec.ATTR_SA_SPECN in attrs:
            cache.spec = codec.decode_sa_spec(attrs[codec.ATTR_SA_SPECN])
        if codec.ATTR_SCALE_SPECN_I16 in attrs:
            cache.scale = codec.decode_scale(attrs[codec.ATTR_SCALE_SPECN_I16])
            cache.scale_seen = True
        if codec.ATTR_UNIT_CODE in attrs:
            cache.unit_code = codec.decode_u16(attrs[codec.ATTR_UNIT_CODE])
        if codec.ATTR_TIME_PD_SAMP in attrs:
            period = codec.decode_u32(attrs[codec.ATTR_TIME_PD_SAMP])
            cache.sample_period = period or None

    def _numeric(self, value: codec.NuValue, object_label: str, device_time: float, now: float,
                 compound: bool = False) -> Numeric:
        code = mdc.from_philips(value.physio_id)
        return Numeric(
            mdc=code,
            label=(labels.component_label(value.physio_id, object_label) if compound
                   else labels.object_label(value.physio_id, object_label)),
            value=value.value,
            unit=codec.unit_to_ucum(value.unit_code),
            state=measurement_state(value.state),
            device_time=device_time,
            host_time=now,
            source=self.source,
        )

    def _wave(self, key: tuple[int, int], sa: codec.SaValue, cache: _ObjectCache, rel: int, now: float,
              out: list[Sample], compound: bool) -> None:
        n = len(sa.data) // 2
        if n == 0:
            return
        raw = np.frombuffer(sa.data, dtype=">u2", count=n).astype(np.int32)
        spec = cache.spec
        if spec is not None and spec.flags & codec.SA_EXT_VAL_RANGE and 0 < spec.significant_bits < 16:
            raw &= (1 << spec.significant_bits) - 1  # the upper bits are pacer/marker flags
        period = cache.sample_period or max(1, round(0.256 * codec.TICKS_PER_SECOND / n))
        fs = codec.TICKS_PER_SECOND / period
        # gap detection and de-duplication (a renewed poll is confirmed with an immediate, overlapping reply)
        channel = (key[0], key[1], sa.physio_id)
        expected = self._wave_next.get(channel)
        gap = False
        if expected is not None:
            delta = codec.rel_delta(rel, expected)
            if delta < -period // 2:
                skip = (-delta + period // 2) // period
                if skip >= n:
                    self._count("wave_duplicates")
                    return
                raw = raw[skip:]
                rel = (rel + skip * period) & 0xFFFFFFFF
                n -= skip
            elif delta > period // 2:
                gap = True
                self._count("wave_gaps")
        self._wave_next[channel] = (rel + n * period) & 0xFFFFFFFF
        scale = cache.scale
        state = measurement_state(sa.state)
        if scale is not None and scale.usable:
            factor = (scale.high - scale.low) / (scale.high_scaled - scale.low_scaled)
            # rounding to 1e-9 removes binary noise (8192 counts is 0 mV exactly, not -7e-15 mV)
            samples = np.round(scale.low + (raw - scale.low_scaled) * factor, 9)
            unit = codec.unit_to_ucum(cache.unit_code) if cache.unit_code is not None else ""
        else:
            # counts: either the monitor gives no physical scale (pleth) or the scale has not arrived yet,
            # in which case the block is marked questionable so nothing mistakes counts for mV
            samples = raw.astype(np.float64)
            unit = "1"
            if not cache.scale_seen:
                state |= State.QUESTIONABLE
        code = mdc.from_philips(sa.physio_id)
        out.append(WaveBlock(
            mdc=code,
            label=(labels.component_label(sa.physio_id, cache.label) if compound
                   else labels.object_label(sa.physio_id, cache.label)),
            t0=self._device_time(rel, now),
            fs=fs,
            samples=samples,
            unit=unit,
            gap=gap,
            state=state,
            host_time=now,
            source=self.source,
        ))

"""Host side of the Masimo Rad-8 / Radical-7 "ASCII 1" serial output: a listen-only, line-based driver."""

from __future__ import annotations

import re

from devices.driver import Driver, Troubleshooting
from devices.model import DeviceAlarm, LinkEvent, LinkState, Numeric, Sample, State
from devices.protocols.masimo.ascii1 import (
    BITS_BY_CODE,
    EXC_QUALIFIED,
    FIELDS,
    Bit,
    LineError,
    ParsedLine,
    active_alarms,
    exc_state,
    parse_line,
)
from devices.transport import PortSettings

#: CR LF, LF CR, or a lone CR or LF: every one ends a line (the empty "lines" between are skipped)
_LINE_END = re.compile(rb"[\r\n]")
#: a line is about 130 bytes; anything far longer without a line end is noise or a wrong baud rate
MAX_LINE = 512


class MasimoDriver(Driver):
    """Decodes ASCII 1 lines into SpO2, pulse rate, PI (plus whatever Rainbow fields the model sends),
    state flags from the EXC bits, and device alarms from the EXC and ALARM bits (emitted on change).

    The oximeter only talks: :meth:`outgoing` is always empty. Lines end in CR LF (some firmware LF CR); both,
    and bare CR or LF, are accepted. Bad lines are counted in ``stats.frames_bad`` and skipped.
    """

    name = "masimo"
    title = "Masimo Rad-8 / Radical-7 (ASCII 1)"
    default_settings = PortSettings(9600, 8, "N", 1)
    alternative_settings = (PortSettings(19200, 8, "N", 1),)
    setup_help = (
        "On the oximeter open Setup > Device Output (Rad-8: Serial output; Radical-7: Output > Serial) and "
        "choose \"ASCII 1\" (the default \"Masimo\"/\"HP\" modes send other formats). Line: 9600 baud, "
        "8 data bits, no parity, 1 stop bit, no handshake. Use a null-modem cable or the Masimo RS-232 "
        "adapter. The oximeter sends one line per second and never needs a request; its clock is read as "
        "this computer's local time, so set the oximeter's clock to local time."
    )
    silence_timeout = 5.0  # one line per second: five missing lines is a real silence
    troubleshooting = Troubleshooting(
        first_data_wait_s=3.0,  # the oximeter prints a line every second
        no_answer="Nothing arrives from the oximeter (it should print a line every second).",
        no_answer_fix=(
            "Check the cable (null-modem or the Masimo RS-232 adapter), that the oximeter is on, and that "
            "its serial output (Setup > Device Output) is set to ASCII 1 at 9600 8N1 "
            "(this profile uses {settings})."),
        undecodable=" as ASCII 1 lines (garbage).",
        undecodable_fix=(
            "Check 9600 8N1 (this profile uses {settings}) and that the oximeter's output mode is "
            "ASCII 1: the \"Masimo\" and \"HP\" modes send other formats."),
    )

    def __init__(self, source: str = "") -> None:
        super().__init__(source)
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long line: drop until the next line end
        self._alarms: dict[str, str] = {}  # code → text currently reported active
        self._contact = False
        self._last_line_time: float | None = None
        self._silent = False
        #: the oximeter's serial number from the SN field ("" when not sent or dashed)
        self.serial_number = ""

    def reset(self) -> None:
        """Drop a partial line and the link state. Active alarms are kept, so the first line after a
        reconnection ends the ones that cleared while the link was down."""
        self._buffer.clear()
        self._discarding = False
        self._contact = False
        self._last_line_time = None
        self._silent = False

    def feed(self, data: bytes, now: float) -> list[Sample]:
        """Consume bytes; return samples of every complete line (and link events on contact/silence)."""
        out: list[Sample] = []
        if data:
            self.stats.bytes_in += len(data)
            self._buffer += data
            self._split_lines(now, out)
        self._check_silence(now, out)
        return out

    # --- internals --------------------------------------------------------------------------------

    def _split_lines(self, now: float, out: list[Sample]) -> None:
        buf = self._buffer
        start = 0
        for match in _LINE_END.finditer(buf):
            i = match.start()
            if self._discarding:
                self._discarding = False
            elif i > start:
                self._handle_line(bytes(buf[start:i]), now, out)
            start = i + 1
        del buf[:start]
        if len(buf) > MAX_LINE:
            # No line end in sight: a wrong baud rate or a stream of noise. Drop it and resynchronise at the
            # next line end rather than grow without bound.
            self._bad(bytes(buf[:64]), now, f"no line end in {len(buf)} bytes")
            self.stats.resyncs += 1
            buf.clear()
            self._discarding = True

    def _handle_line(self, raw: bytes, now: float, out: list[Sample]) -> None:
        try:
            line = parse_line(raw)
        except LineError as exc:
            self._bad(raw, now, str(exc))
            return
        if line.skipped_prefix:
            self.stats.resyncs += 1
        self.stats.frames_ok += 1
        note = f"skipped {line.skipped_prefix} bytes of noise" if line.skipped_prefix else ""
        self._log_frame("in", now, raw, True, note)
        if line.serial:
            self.serial_number = line.serial
        self._last_line_time = now
        if not self._contact or self._silent:
            who = f" (serial {self.serial_number})" if self.serial_number else ""
            out.append(LinkEvent(LinkState.ASSOCIATED, f"receiving ASCII 1 lines from the oximeter{who}",
                                 now, self.source))
            self._contact = True
            self._silent = False
        out.extend(self._numerics(line, now))
        out.extend(self._alarm_changes(line, now))

    def _numerics(self, line: ParsedLine, now: float) -> list[Numeric]:
        qualifier = exc_state(line.exc)
        result = []
        for key, value in line.values.items():
            spec = FIELDS.get(key)
            state = qualifier if key in EXC_QUALIFIED else State.NONE
            if value is None:
                state |= State.UNAVAILABLE
            result.append(Numeric(
                mdc=spec.mdc if spec else 0,
                label=key,
                value=value,
                unit=spec.unit if spec else "",
                state=state,
                device_time=line.device_time,
                host_time=now,
                source=self.source,
            ))
        return result

    def _alarm_changes(self, line: ParsedLine, now: float) -> list[DeviceAlarm]:
        current = active_alarms(line.exc, line.alarm)
        changes: list[DeviceAlarm] = []
        for code, (bit, text) in current.items():
            if self._alarms.get(code) != text:  # new, or its text changed (silenced / unsilenced)
                changes.append(self._alarm(bit, text, True, now))
        for code, text in list(self._alarms.items()):
            if code not in current:
                bit = BITS_BY_CODE[code]
                changes.append(self._alarm(bit, text, False, now))
        self._alarms = {code: text for code, (_, text) in current.items()}
        return changes

    def _alarm(self, bit: Bit, text: str, active: bool, now: float) -> DeviceAlarm:
        return DeviceAlarm(code=bit.code, text=text, priority=bit.priority, active=active,
                           technical=bit.technical, mdc=bit.mdc, host_time=now, source=self.source)

    def _bad(self, raw: bytes, now: float, reason: str) -> None:
        self.stats.frames_bad += 1
        self.stats.last_error = reason
        self._log_frame("in", now, raw, False, reason)

    def _check_silence(self, now: float, out: list[Sample]) -> None:
        if self._contact and not self._silent and self._last_line_time is not None \
                and now - self._last_line_time > self.silence_timeout:
            self._silent = True
            out.append(LinkEvent(
                LinkState.SILENT,
                f"no line from the oximeter for {now - self._last_line_time:.0f} s: check that it is on and "
                "its serial output is still set to ASCII 1",
                now, self.source))


"""The driver and emulator interfaces: sans-I/O protocol machines.

A :class:`Driver` never touches a port. The acquisition loop (or a test) hands it the bytes that arrived with
:meth:`Driver.feed` and asks it with :meth:`Driver.outgoing` for the bytes the host must send now (association
requests, poll renewals, keep-alives). Time is always passed in (``now``, POSIX seconds), so a test can drive a
whole protocol exchange deterministically with no threads, no sleeps and no hardware.

An :class:`Emulator` is the device side of the same protocol, also sans-I/O: it receives the host's bytes and
produces the monitor's bytes, with physiology from the simulator. Serving it over a pty or ``socket://`` is the
job of :mod:`devices.emulation`.
"""

from __future__ import annotations

import abc
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from devices.model import DecodeStats, Sample
from devices.transport import PortSettings


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame as seen on the wire, kept for the technician's hex view."""

    direction: str  # "in" (device to host) or "out" (host to device)
    host_time: float
    data: bytes
    ok: bool = True
    note: str = ""


@dataclass(frozen=True, slots=True)
class Troubleshooting:
    """A protocol's plain-words advice for a technician whose link does not work (text only, no Qt)

    The technician screen (:mod:`console.technician.advice`) reads the link's counters and picks the case; the
    words for each case live here, with the driver that knows the monitor's menus, cables and line settings.
    In the texts, ``{settings}`` becomes the profile's line settings (e.g. ``9600 8N1``) and ``{requests}``
    becomes `` (3 sent)`` when the driver counted association requests (``stats.extra``), else nothing.
    """

    #: seconds an open port may stay quiet before "no answer" is called (how often the device talks)
    first_data_wait_s: float
    #: the problem and the fix when nothing at all arrives
    no_answer: str
    no_answer_fix: str
    #: completes "N bytes arrived but none decoded" (e.g. ``" as Datex records."``), and the fix
    undecodable: str
    undecodable_fix: str
    #: problem and fix when the device refuses the host (``stats.extra["refusals"]``); empty when it cannot
    refused: str = ""
    refused_fix: str = ""
    #: added to "Check it is still on and the cable is in; " when a working link goes silent
    silent_hint: str = ""


#: the advice for a driver that gives none of its own (the registry meta-test requires every driver to)
GENERIC_TROUBLESHOOTING = Troubleshooting(
    first_data_wait_s=5.0,
    no_answer="Nothing arrives from the device.",
    no_answer_fix=("Check that it is on, its data output is enabled, the cable, and the line settings "
                   "({settings})."),
    undecodable=".",
    undecodable_fix="Check the line settings ({settings}) and the device's output mode.",
)


class Driver(abc.ABC):
    """Host side of a monitor protocol.

    Subclasses set the class attributes (they are read by the registry, the CLI and the technician's setup
    screen) and implement :meth:`feed` and :meth:`outgoing`.
    """

    #: registry key and ``--protocol`` value, e.g. ``"intellivue"``
    name: ClassVar[str]
    #: human name shown to technicians, e.g. ``"Philips IntelliVue (MIB/RS232 Data Export)"``
    title: ClassVar[str]
    #: the vendor's default line settings
    default_settings: ClassVar[PortSettings]
    #: other line settings worth trying in auto-detect, most likely first
    alternative_settings: ClassVar[tuple[PortSettings, ...]] = ()
    #: one paragraph for the technician: monitor menu settings, cable, quirks
    setup_help: ClassVar[str] = ""
    #: seconds without a decodable frame before the link counts as silent
    silence_timeout: ClassVar[float] = 10.0
    #: what to tell a technician when the link fails, in this protocol's terms (see :class:`Troubleshooting`)
    troubleshooting: ClassVar[Troubleshooting] = GENERIC_TROUBLESHOOTING

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.stats = DecodeStats()
        #: recent frames both ways for diagnostics; bounded so a long session does not grow memory
        self.frame_log: deque[FrameRecord] = deque(maxlen=200)

    @abc.abstractmethod
    def feed(self, data: bytes, now: float) -> list[Sample]:
        """Consume bytes that arrived from the device at host time ``now``; return what they decode to.

        Must never raise on bad input: corrupt frames are counted in :attr:`stats`, logged in
        :attr:`frame_log` and skipped; the driver resynchronises on the next frame boundary.
        """

    def outgoing(self, now: float) -> bytes:
        """Bytes the host must send at ``now`` (empty when nothing is due). Default: a listen-only protocol."""
        return b""

    def reset(self) -> None:
        """Forget the link state (called after a reconnect); keeps :attr:`stats`."""

    def close(self, now: float) -> bytes:
        """Bytes to send before the port is closed (e.g. a release request). Default: none."""
        return b""

    def _log_frame(self, direction: str, now: float, data: bytes, ok: bool = True, note: str = "") -> None:
        self.frame_log.append(FrameRecord(direction, now, bytes(data), ok, note))


class Emulator(abc.ABC):
    """Device side of a monitor protocol, driven by a simulator.

    ``receive`` takes what the host sent, ``outgoing`` returns what the monitor sends at ``now``. Like drivers,
    emulators never sleep or touch ports.
    """

    @abc.abstractmethod
    def receive(self, data: bytes, now: float) -> None:
        """Consume bytes the host sent."""

    @abc.abstractmethod
    def outgoing(self, now: float) -> bytes:
        """Bytes the monitor sends at ``now`` (may be empty)."""

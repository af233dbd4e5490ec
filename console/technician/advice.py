"""Plain-words diagnosis of a device link: what is wrong and what to check (no Qt).

:func:`advise` maps what a link saw (a :class:`~console.technician.model.LinkSnapshot`) to the likely cause
and fix, per protocol, the way an experienced technician would read the counters: a port that will not open, a
monitor that does not answer, bytes that never decode (wrong line settings or output mode), many bad frames
(noise), a link that keeps dropping.

This module decides which case applies; the words for a protocol's cases (its menus, cables, line settings)
live with its driver as :attr:`devices.driver.Driver.troubleshooting`, looked up through the driver registry,
so a new driver brings its own advice and this module needs no edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.technician.model import LinkSnapshot
from devices.driver import GENERIC_TROUBLESHOOTING, Troubleshooting
from devices.model import LinkState
from devices.transport import PortSettings


@dataclass(frozen=True, slots=True)
class Advice:
    """A diagnosis: ``level`` is ``ok``, ``info`` (waiting), ``warning`` or ``error``."""

    level: str
    problem: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.problem} {self.fix}".strip()


def port_advice(error: str, url: str | None) -> Advice | None:
    """Advice for a port that cannot be opened or vanished (from DeviceLink's ``last_error``), else None."""
    text = error.lower()
    if not text:
        return None
    if "stopped working" in text:
        return Advice("warning", f"The port {url} went away while in use.",
                      "A USB-serial adapter was unplugged or the terminal server dropped the connection; "
                      "check the cable and the adapter. Chairside reconnects on its own when the port "
                      "returns.")
    if "cannot connect to" in text or (url or "").startswith(("socket://", "rfc2217://")):
        return Advice("error", f"Cannot reach the terminal server at {url}.",
                      "Check that it is switched on and on the network, that the address and TCP port are "
                      "right, and that no other computer is connected to that serial port.")
    if "no permission" in text or "permission denied" in text or "access is denied" in text:
        return Advice("error", f"No permission to open {url}.",
                      "On Linux add the user to the 'dialout' group (sudo usermod -aG dialout USER) and "
                      "log in again; on Windows close any other program using the port.")
    if "not found" in text or "no such file" in text or "could not open port" in text:
        return Advice("error", f"Port {url} not found.",
                      "Check that the USB-serial adapter is plugged in and the port name is right "
                      "(Windows: Device Manager > Ports shows the COM number; Linux: ls /dev/ttyUSB* "
                      "/dev/ttyACM*).")
    if "busy" in text:
        return Advice("error", f"Port {url} is busy.",
                      "Another program, or another Chairside window, has it open: close it and try again.")
    return Advice("error", f"The port cannot be used: {error}", "Check the port name in the profile.")


def troubleshooting(protocol: str) -> Troubleshooting:
    """The protocol's own advice texts, from its driver in the registry (generic ones for an unknown name)."""
    from devices import registry

    try:
        return registry.get(protocol).driver.troubleshooting
    except (KeyError, ImportError):
        return GENERIC_TROUBLESHOOTING


def first_data_wait(protocol: str) -> float:
    """Seconds an open port of ``protocol`` may stay quiet before "no answer" is called."""
    return troubleshooting(protocol).first_data_wait_s


def _fill(text: str, settings: PortSettings, snap: LinkSnapshot) -> str:
    asked = snap.extra.get("association_requests", 0)
    return text.format(settings=settings, requests=f" ({asked} sent)" if asked else "")


def _nothing_arrived(protocol: str, settings: PortSettings, snap: LinkSnapshot) -> Advice:
    words = troubleshooting(protocol)
    return Advice("error", _fill(words.no_answer, settings, snap), _fill(words.no_answer_fix, settings, snap))


def _garbage(protocol: str, settings: PortSettings, snap: LinkSnapshot) -> Advice:
    words = troubleshooting(protocol)
    head = f"{snap.bytes_in} bytes arrived but none decoded"
    return Advice("error", head + _fill(words.undecodable, settings, snap),
                  _fill(words.undecodable_fix, settings, snap))


def advise(snap: LinkSnapshot, elapsed: float) -> Advice:
    """The likely cause and fix for what the link in ``snap`` has shown over ``elapsed`` seconds of watching.

    ``elapsed`` lets a freshly opened port wait for its first data before "no answer" is called.
    """
    protocol, settings = snap.protocol, snap.settings
    if snap.url is None:
        if snap.frames_ok:
            return Advice("ok", "Built-in simulator running.", "No port or cable involved.")
        return Advice("info", "Built-in simulator not started yet.")
    if snap.connects == 0 or snap.state is LinkState.LOST:
        found = port_advice(snap.port_error, snap.url)
        if found is not None:
            return found
        if snap.state in (LinkState.STOPPED, LinkState.CONNECTING):
            return Advice("info", f"Opening {snap.url} ...")
    if snap.state is LinkState.STOPPED and snap.connects == 0:
        return Advice("info", "Not started.")
    if snap.frames_ok == 0:
        if snap.bytes_in == 0:
            if elapsed < first_data_wait(protocol):
                return Advice("info",
                              f"Port {snap.url} open at {settings}; waiting for the device to answer ...")
            return _nothing_arrived(protocol, settings, snap)
        if snap.bytes_in < 64 and elapsed < first_data_wait(protocol):
            return Advice("info", f"{snap.bytes_in} bytes arrived; waiting for a whole frame ...")
        return _garbage(protocol, settings, snap)
    words = troubleshooting(protocol)
    if words.refused and snap.extra.get("refusals") and snap.state is not LinkState.ASSOCIATED:
        return Advice("error", _fill(words.refused, settings, snap), _fill(words.refused_fix, settings, snap))
    if snap.state is LinkState.LOST:
        return Advice("warning", "The device ended the link; Chairside is connecting again.",
                      "If this repeats, check the cable and that no other program talks to the device.")
    if snap.state is LinkState.SILENT:
        fix = (f"Check it is still on and the cable is in; {words.silent_hint}Chairside keeps asking and "
               "resumes on its own.")
        return Advice("warning", "The device stopped sending.", fix)
    if snap.frames_bad > max(3, snap.frames_ok // 10):
        return Advice("warning", f"Data arrives, but {snap.frames_bad} of {snap.frames_ok + snap.frames_bad} "
                                 "frames were bad.",
                      "Check for a loose connector, a long or unshielded cable near power cables, or line "
                      f"settings that are almost right (the monitor default is {_default(protocol)}).")
    if snap.disconnects:
        return Advice("warning", f"Data arrives, but the link dropped {snap.disconnects} time(s).",
                      "Check the cable and the USB-serial adapter (a loose plug, a power-saving USB hub).")
    return Advice("ok", f"Receiving data: {snap.frames_ok} frames decoded, {snap.frames_bad} bad.")


def _default(protocol: str) -> str:
    try:
        from devices import registry

        return str(registry.get(protocol).driver.default_settings)
    except (KeyError, ImportError):
        return "in the protocol's setup help"

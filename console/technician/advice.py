"""Plain-words diagnosis of a device link: what is wrong and what to check (no Qt).

:func:`advise` maps what a link saw (a :class:`~console.technician.model.LinkSnapshot`) to the likely cause
and fix, per protocol, the way an experienced technician would read the counters: a port that will not open, a
monitor that does not answer, bytes that never decode (wrong line settings or output mode), many bad frames
(noise), a link that keeps dropping.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.model import LinkState
from devices.transport import PortSettings

from console.technician.model import LinkSnapshot

#: seconds of an open port with nothing arriving before it counts as "no answer": a Masimo prints every
#: second; Datex answers a request at once; IntelliVue is asked again every 5 s, so give it one retry
WAIT_FOR_FIRST_DATA = {"masimo": 3.0, "datex": 4.0, "intellivue": 7.0}
DEFAULT_WAIT = 5.0


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


def _nothing_arrived(protocol: str, settings: PortSettings, snap: LinkSnapshot) -> Advice:
    if protocol == "intellivue":
        asked = snap.extra.get("association_requests", 0)
        asked_text = f" ({asked} sent)" if asked else ""
        fix = ("Check the cable (Philips MIB/RS232 cable or a null-modem adapter in the MIB/RS232 port) and "
               "that the monitor's data export is set to \"Fix 115200\" (Main Setup > Hardware > "
               f"Interfaces, protocol MIB/RS232 Data Export); this profile uses {settings}, which must match "
               "the monitor's speed. Only one computer can be associated with a monitor at a time.")
        return Advice("error", f"No answer to the IntelliVue association request{asked_text}.", fix)
    if protocol == "datex":
        fix = ("Check the line is 19200 8E1 with RTS/CTS (CARESCAPE v3+: 115200 8E1; this profile uses "
               f"{settings}), that the null-modem cable carries RTS and CTS, and that it is plugged into the "
               "monitor's Computer Interface port (CARESCAPE: the USB-serial adapter in the monitor's USB "
               "port).")
        return Advice("error", "Nothing arrives from the Datex monitor.", fix)
    if protocol == "masimo":
        fix = ("Check the cable (null-modem or the Masimo RS-232 adapter), that the oximeter is on, and that "
               "its serial output (Setup > Device Output) is set to ASCII 1 at 9600 8N1 "
               f"(this profile uses {settings}).")
        problem = "Nothing arrives from the oximeter (it should print a line every second)."
        return Advice("error", problem, fix)
    return Advice("error", "Nothing arrives from the device.",
                  f"Check that it is on, its data output is enabled, the cable, and the line settings "
                  f"({settings}).")


def _garbage(protocol: str, settings: PortSettings, snap: LinkSnapshot) -> Advice:
    head = f"{snap.bytes_in} bytes arrived but none decoded"
    if protocol == "intellivue":
        fix = ("The speed is most likely wrong: set the monitor's interface and this profile to the same "
               "speed (\"Fix 115200\", or 19200), 8 data bits, no parity, 1 stop bit, no flow control "
               f"(this profile uses {settings}). Check the port is set to Data Export, not another protocol.")
        return Advice("error", head + " as IntelliVue frames.", fix)
    if protocol == "datex":
        fix = (f"Check 19200 8E1 (even parity) with RTS/CTS (this profile uses {settings}); only "
               "CARESCAPE v3+ monitors run at 115200.")
        return Advice("error", head + " as Datex records.", fix)
    if protocol == "masimo":
        fix = (f"Check 9600 8N1 (this profile uses {settings}) and that the oximeter's output mode is "
               "ASCII 1: the \"Masimo\" and \"HP\" modes send other formats.")
        return Advice("error", head + " as ASCII 1 lines (garbage).", fix)
    return Advice("error", head + ".", f"Check the line settings ({settings}) and the device's output mode.")


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
            if elapsed < WAIT_FOR_FIRST_DATA.get(protocol, DEFAULT_WAIT):
                return Advice("info",
                              f"Port {snap.url} open at {settings}; waiting for the device to answer ...")
            return _nothing_arrived(protocol, settings, snap)
        if snap.bytes_in < 64 and elapsed < WAIT_FOR_FIRST_DATA.get(protocol, DEFAULT_WAIT):
            return Advice("info", f"{snap.bytes_in} bytes arrived; waiting for a whole frame ...")
        return _garbage(protocol, settings, snap)
    if protocol == "intellivue" and snap.extra.get("refusals") and snap.state is not LinkState.ASSOCIATED:
        return Advice("error", "The IntelliVue monitor refused the association.",
                      "Another computer (or another Chairside) is associated with this monitor port: close "
                      "it, or wait until the monitor drops it. Check that the port is set to Data Export.")
    if snap.state is LinkState.LOST:
        return Advice("warning", "The device ended the link; Chairside is connecting again.",
                      "If this repeats, check the cable and that no other program talks to the device.")
    if snap.state is LinkState.SILENT:
        other = ("another computer may have taken the monitor's association. "
                 if protocol == "intellivue" else "")
        return Advice("warning", "The device stopped sending.",
                      f"Check it is still on and the cable is in; {other}Chairside keeps asking and resumes "
                      "on its own.")
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

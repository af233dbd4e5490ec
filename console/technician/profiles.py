"""Device profiles without Qt: validating what the technician typed, listing ports, building links.

A profile is stored by the record service as ``(name, protocol, port, settings: dict, chair)``; ``settings``
is :meth:`PortSettings.as_dict`. :func:`validate` turns the form's text into a :class:`ProfileDraft` or a list
of plain-words problems, one per field, so the dialog can show them all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices import registry
from devices.acquisition import DeviceLink, Sink
from devices.transport import PARITIES, PortSettings

#: what the profile stores as the port of a driver that needs none (the built-in simulator)
NO_PORT = "none"
#: baud rates offered in the list (any positive whole number can be typed)
COMMON_BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
MAX_BAUD = 4_000_000
#: pyserial URL schemes a profile may use; "loop" only makes sense in tests but does no harm
URL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "hwgrep")
PORT_EXAMPLES = "COM3, /dev/ttyUSB0, socket://HOST:PORT or rfc2217://HOST:PORT"
MAX_NAME = 100

_HOST_PORT = re.compile(
    r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(?P<port>\d{1,5})(?:[/?].*)?$")
_WINDOWS_COM = re.compile(r"^(?:\\\\\.\\)?COM\d{1,3}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ProfileDraft:
    """A validated profile, ready for ``service.save_device_profile(**draft.save_args())``."""

    name: str
    protocol: str
    port: str
    settings: PortSettings
    chair: str | None = None

    def save_args(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`SessionService.save_device_profile`."""
        return {"name": self.name, "protocol": self.protocol, "port": self.port,
                "settings": self.settings.as_dict(), "chair": self.chair}


@dataclass(slots=True)
class FormValues:
    """What the form holds, as text where the technician types (so bad numbers can be reported)."""

    name: str = ""
    protocol: str = ""
    port: str = ""
    baudrate: str = ""
    bytesize: str = "8"
    parity: str = "N"
    stopbits: str = "1"
    rtscts: bool = False
    xonxoff: bool = False
    chair: str = ""


def needs_port(protocol: str) -> bool:
    """False for drivers that read no port (the simulator)."""
    return protocol != "simulator"


def check_port(url: str) -> str | None:
    """A plain-words problem with a port name or URL, or None when it looks usable."""
    url = url.strip()
    if not url:
        return f"Enter the port: {PORT_EXAMPLES}."
    if "://" in url:
        scheme, rest = url.split("://", 1)
        if scheme.lower() not in URL_SCHEMES:
            return (f"Unknown port type \"{scheme}://\". Use a serial port name (COM3, /dev/ttyUSB0), "
                    "socket://HOST:PORT for a terminal server or rfc2217://HOST:PORT.")
        if scheme.lower() in ("socket", "rfc2217"):
            m = _HOST_PORT.match(rest)
            if m is None:
                return f"{scheme}:// needs a host and a TCP port, like {scheme}://192.168.1.20:4001."
            port = int(m.group("port"))
            if not 1 <= port <= 65535:
                return f"TCP port {port} is out of range: use 1 to 65535."
        return None
    if any(c.isspace() for c in url):
        return f"A port name has no spaces: {PORT_EXAMPLES}."
    if url.startswith("/") or _WINDOWS_COM.match(url):
        return None
    if url.upper().startswith("COM"):
        return f"\"{url}\" is not a COM port name: use COM followed by its number, like COM3."
    return f"\"{url}\" is not a port name: use {PORT_EXAMPLES}."


def parse_settings(values: FormValues) -> tuple[PortSettings | None, dict[str, str]]:
    """Line settings from the form; problems keyed by field name."""
    problems: dict[str, str] = {}
    baud_text = values.baudrate.strip().replace(" ", "")
    baud = 0
    if not baud_text.isdigit():
        problems["baudrate"] = f"Baud rate must be a whole number, like 19200 (not \"{values.baudrate}\")."
    else:
        baud = int(baud_text)
        if not 50 <= baud <= MAX_BAUD:
            problems["baudrate"] = f"Baud rate {baud} is out of range: use 50 to {MAX_BAUD}."
    try:
        bytesize = int(values.bytesize)
        if bytesize not in (5, 6, 7, 8):
            raise ValueError
    except ValueError:
        problems["bytesize"] = "Data bits must be 5, 6, 7 or 8."
        bytesize = 8
    parity = values.parity.strip().upper()[:1]
    if parity not in PARITIES:
        problems["parity"] = "Parity must be none (N), even (E), odd (O), mark (M) or space (S)."
    try:
        stopbits = float(values.stopbits)
        if stopbits not in (1, 1.5, 2):
            raise ValueError
    except ValueError:
        problems["stopbits"] = "Stop bits must be 1, 1.5 or 2."
        stopbits = 1
    if problems:
        return None, problems
    stop: float = int(stopbits) if stopbits != 1.5 else 1.5
    return PortSettings(baud, bytesize, parity, stop, bool(values.rtscts), bool(values.xonxoff)), {}


def validate(values: FormValues) -> tuple[ProfileDraft | None, dict[str, str]]:
    """Check the whole form; returns the draft, or None and every problem found (field name → message)."""
    problems: dict[str, str] = {}
    name = values.name.strip()
    if not name:
        problems["name"] = "Give the profile a name, e.g. \"Chair 2 IntelliVue\"."
    elif len(name) > MAX_NAME:
        problems["name"] = f"The name is too long ({len(name)} characters; at most {MAX_NAME})."
    if values.protocol not in registry.available():
        problems["protocol"] = f"Choose a protocol: {', '.join(registry.available())}."
    port = values.port.strip()
    if needs_port(values.protocol):
        port_problem = check_port(port)
        if port_problem:
            problems["port"] = port_problem
    else:
        port = NO_PORT
    settings, setting_problems = parse_settings(values)
    problems.update(setting_problems)
    chair = values.chair.strip()
    if len(chair) > MAX_NAME:
        problems["chair"] = f"The chair name is too long (at most {MAX_NAME} characters)."
    if problems or settings is None:
        return None, problems
    return ProfileDraft(name, values.protocol, port, settings, chair or None), {}


def settings_of(stored: dict[str, Any], protocol: str) -> PortSettings:
    """The line settings stored in a profile, falling back to the protocol's defaults for missing keys."""
    try:
        default = registry.get(protocol).driver.default_settings
    except (KeyError, ImportError):
        default = PortSettings()
    try:
        return default.replace(**{k: v for k, v in stored.items() if k in default.as_dict()})
    except (TypeError, ValueError):
        return default


def link_for_profile(profile: Any, sink: Sink | None = None, **link_options: Any) -> DeviceLink:
    """A :class:`DeviceLink` for a stored profile (a ``DeviceProfileInfo``), not yet running."""
    info = registry.get(profile.protocol)
    driver = info.driver(source=profile.name)
    url = profile.port if needs_port(profile.protocol) and profile.port != NO_PORT else None
    return DeviceLink(driver, url, settings_of(profile.settings, profile.protocol), sink, name=profile.name,
                      **link_options)


def available_ports() -> list[tuple[str, str]]:
    """Serial ports the system lists, as ``(device, description)``; empty when listing is not possible."""
    try:
        from serial.tools import list_ports

        ports = sorted(list_ports.comports(), key=lambda p: p.device)
        return [(p.device, p.description or "") for p in ports]
    # listing ports is a convenience: a broken udev or driver must not stop the dialog
    except Exception:  # noqa: BLE001
        return []


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One change of a profile as the history table shows it."""

    at: datetime  # timezone-aware UTC; shown in local time
    who: str  # "user (role)"
    action: str  # "created", "changed", "deleted"
    changes: str  # "port: COM3 -> COM4; baudrate: 9600 -> 19200"
    before: Any
    after: Any


def _flat(profile: Any) -> dict[str, Any]:
    if not isinstance(profile, dict):
        return {}
    flat = {k: v for k, v in profile.items() if k != "settings"}
    settings = profile.get("settings")
    if isinstance(settings, dict):
        flat.update(settings)
    return flat


def describe_change(before: Any, after: Any) -> str:
    """The fields that differ between two stored profile dicts, in plain words."""
    old, new = _flat(before), _flat(after)
    if not old and new:
        return "; ".join(f"{k}: {v}" for k, v in new.items() if v not in (None, "", False))
    if old and not new:
        return "profile removed (was " + ", ".join(f"{k}: {v}" for k, v in old.items()
                                                   if v not in (None, "", False)) + ")"
    changed = [f"{k}: {old.get(k)} -> {new.get(k)}"
               for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return "; ".join(changed) or "saved without changes"


def profile_history(trail: list[Any], name: str) -> list[HistoryRow]:
    """The audit rows about profile ``name`` (from ``service.audit_trail()``), newest first."""
    target = f"device profile {name}"
    rows: list[HistoryRow] = []
    for rec in trail:
        if rec.target != target or not rec.action.startswith("device_profile_"):
            continue
        if rec.action == "device_profile_delete":
            action = "deleted"
        else:
            action = "created" if rec.before is None else "changed"
        who = f"{rec.username} ({rec.role})" if rec.role else rec.username
        changes = describe_change(rec.before, rec.after)
        rows.append(HistoryRow(rec.at, who, action, changes, rec.before, rec.after))
    rows.reverse()
    return rows

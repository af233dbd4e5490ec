"""Serial transports: one wrapper over :func:`serial.serial_for_url` for every kind of port.

A port is named by a pyserial URL: a device name (``COM3``, ``/dev/ttyUSB0``), ``socket://host:port`` for a
terminal server, ``rfc2217://host:port`` for a network serial server with line control, ``loop://`` in tests.
Line settings come from the device profile (:class:`PortSettings`), defaulting to the protocol's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import serial

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD,
            "M": serial.PARITY_MARK, "S": serial.PARITY_SPACE}


@dataclass(frozen=True, slots=True)
class PortSettings:
    """Line settings of a serial port. ``str()`` gives the usual short form, e.g. ``19200 8E1 RTS/CTS``."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"  # N, E, O, M, S
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False

    def __post_init__(self) -> None:
        if self.baudrate <= 0:
            raise ValueError(f"baud rate must be positive, not {self.baudrate}")
        if self.bytesize not in (5, 6, 7, 8):
            raise ValueError(f"data bits must be 5, 6, 7 or 8, not {self.bytesize}")
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be one of N, E, O, M, S, not {self.parity!r}")
        if self.stopbits not in (1, 1.5, 2):
            raise ValueError(f"stop bits must be 1, 1.5 or 2, not {self.stopbits}")

    def __str__(self) -> str:
        stop = "1.5" if self.stopbits == 1.5 else str(int(self.stopbits))
        text = f"{self.baudrate} {self.bytesize}{self.parity}{stop}"
        if self.rtscts:
            text += " RTS/CTS"
        if self.xonxoff:
            text += " XON/XOFF"
        return text

    @property
    def bytes_per_second(self) -> float:
        """Maximum payload rate of the line (start bit + data + parity + stop bits per byte)."""
        bits = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        return self.baudrate / bits

    def replace(self, **changes: Any) -> PortSettings:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PortSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TransportError(OSError):
    """The port could not be opened, or vanished; the message says what and what to check."""


def open_port(url: str, settings: PortSettings, timeout: float = 0.05) -> serial.SerialBase:
    """Open ``url`` with ``settings``; raise :class:`TransportError` with a plain-words reason on failure.

    ``timeout`` is the read timeout: the acquisition loop reads in short slices so it can send polls and notice
    a stop request promptly.
    """
    try:
        port = serial.serial_for_url(
            url,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=PARITIES[settings.parity],
            stopbits=settings.stopbits,
            rtscts=settings.rtscts,
            xonxoff=settings.xonxoff,
            timeout=timeout,
            write_timeout=2.0,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise TransportError(_explain_open_error(url, exc)) from exc
    return port


def _explain_open_error(url: str, exc: BaseException) -> str:
    text = str(exc)
    if url.startswith(("socket://", "rfc2217://")):
        return (f"cannot connect to {url}: {text}. Check that the terminal server is on, "
                "its address and port are right, and no other program holds the port.")
    if "Permission denied" in text or "PermissionError" in text:
        return (f"no permission to open {url}: {text}. On Linux add the user to the 'dialout' group "
                "and log in again.")
    if "No such file" in text or "could not open port" in text or "FileNotFoundError" in text:
        return (f"port {url} not found: {text}. Check that the USB-serial adapter is plugged in and "
                "the port name in the device profile is right.")
    if "busy" in text.lower():
        return f"port {url} is busy: {text}. Another program (or another Chairside) has it open."
    return f"cannot open {url}: {text}"

"""Registry of device drivers: protocol name → driver class, emulator factory, line settings, docs.

Each protocol package under :mod:`devices.protocols` (and the simulator) exposes a module-level ``DRIVER``
(a :class:`~devices.driver.Driver` subclass) and ``make_emulator(simulator) -> Emulator``. The registry imports
them lazily so that starting the app does not pay for protocols no profile uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devices.driver import Driver, Emulator

if TYPE_CHECKING:
    from devices.simulator import Simulator

#: protocol name → module that implements it
BUILTIN_PROTOCOLS: dict[str, str] = {
    "simulator": "devices.simulator.driver",
    "intellivue": "devices.protocols.intellivue",
    "datex": "devices.protocols.datex",
    "masimo": "devices.protocols.masimo",
}


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    name: str
    driver: type[Driver]
    make_emulator: Callable[[Simulator], Emulator] | None


class UnknownProtocol(KeyError):
    def __str__(self) -> str:
        return f"unknown protocol {self.args[0]!r}; known: {', '.join(available())}"


def available() -> list[str]:
    """Names of the protocols this build knows, in a stable order."""
    return list(BUILTIN_PROTOCOLS)


def get(name: str) -> ProtocolInfo:
    """Look up a protocol by name; raises :class:`UnknownProtocol` with the list of known names."""
    try:
        module_name = BUILTIN_PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocol(name) from None
    module = importlib.import_module(module_name)
    return ProtocolInfo(name, module.DRIVER, getattr(module, "make_emulator", None))


def create_driver(name: str, source: str = "") -> Driver:
    """A fresh driver instance for protocol ``name``."""
    return get(name).driver(source=source)

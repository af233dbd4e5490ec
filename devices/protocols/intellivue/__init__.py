"""Philips IntelliVue MIB/RS232 "Data Export" protocol: host driver and monitor emulator.

``DRIVER`` is the :class:`~devices.driver.Driver` subclass the registry uses; ``make_emulator(simulator)``
returns a monitor-side :class:`~devices.driver.Emulator` fed by the physiological simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devices.protocols.intellivue.driver import IntelliVueDriver

if TYPE_CHECKING:
    from devices.protocols.intellivue.emulator import IntelliVueEmulator

DRIVER = IntelliVueDriver


def make_emulator(simulator: Any) -> IntelliVueEmulator:
    """An IntelliVue monitor emulator driven by ``simulator``.

    The simulator needs ``advance(now) -> list[Sample]``, ``responding: bool`` and ``noise: bool``.
    """
    from devices.protocols.intellivue.emulator import IntelliVueEmulator

    return IntelliVueEmulator(simulator)


__all__ = ["DRIVER", "IntelliVueDriver", "make_emulator"]

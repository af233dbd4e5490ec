"""Masimo Rad-8 / Radical-7 pulse oximeters, serial output mode "ASCII 1" (PROTOCOLS.md section 3).

Exposes ``DRIVER`` (the host side) and ``make_emulator(simulator)`` (a Rad-8 printing simulated values) for
:mod:`devices.registry`.
"""

from __future__ import annotations

from typing import Any

from devices.protocols.masimo.driver import MasimoDriver
from devices.protocols.masimo.emulator import MasimoEmulator

DRIVER = MasimoDriver


def make_emulator(simulator: Any) -> MasimoEmulator:
    """An ASCII 1 oximeter whose values come from ``simulator``."""
    return MasimoEmulator(simulator)


__all__ = ["DRIVER", "MasimoDriver", "MasimoEmulator", "make_emulator"]

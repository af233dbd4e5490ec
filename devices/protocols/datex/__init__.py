"""GE Datex-Ohmeda S/5 Computer Interface (AS/3, S/5, CARESCAPE B450/B650/B850): driver and monitor emulator.

Registry entry points: :data:`DRIVER` (the host-side driver class) and :func:`make_emulator` (the
monitor side, fed by the simulator).
"""

from __future__ import annotations

from .driver import DatexDriver
from .emulator import DatexEmulator, make_emulator

DRIVER = DatexDriver

__all__ = ["DRIVER", "DatexDriver", "DatexEmulator", "make_emulator"]

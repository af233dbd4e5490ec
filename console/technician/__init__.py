"""The technician's device setup: profiles editor, diagnostics panel, connection test, auto-detect.

Entry point: :func:`open_device_setup` (``console.technician.setup_dialog``). Qt-free parts:
:mod:`~console.technician.profiles` (form checking, history), :mod:`~console.technician.advice` (likely cause
and fix) and :mod:`~console.technician.model` (link snapshots, latest values). Qt parts are imported lazily so
the Qt-free ones can be used without PySide6.
"""

from __future__ import annotations

from typing import Any

__all__ = ["open_device_setup"]


def open_device_setup(*args: Any, **kwargs: Any) -> Any:
    """See :func:`console.technician.setup_dialog.open_device_setup`."""
    from console.technician.setup_dialog import open_device_setup as _open

    return _open(*args, **kwargs)

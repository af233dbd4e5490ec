"""The technician's device setup window: profiles editor and live diagnostics of the running devices.

Entry point for the app: :func:`open_device_setup`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.technician.diagnostics import DiagnosticsPanel, link_of
from console.technician.profiles_dialog import DeviceProfilesWidget


class DeviceSetupDialog(QDialog):
    """Tabs "Device profiles" and "Diagnostics" (one panel per running device link).

    ``links``: the running devices, as the chair runtime's DeviceThreads (``MainWindow.threads()``) or DeviceLinks.
    ``recordings_dir``: where raw-byte recordings are written as files. Raw recordings also go into the
    record through ``service`` (technicians and admins only), into the session ``session_id()`` names (the
    open session, or ``None``); ``record_into_db=False`` keeps them to files only.
    Closing the window stops its timers, tests, auto-detection and recordings; the devices keep running.
    """

    def __init__(self, service: Any, links: Iterable[Any] = (), *, recordings_dir: Path | None = None,
                 session_id: Callable[[], int | None] | None = None, record_into_db: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Device setup")
        self.resize(1280, 860)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs)
        self.profiles = DeviceProfilesWidget(service)
        self.tabs.addTab(self.profiles, "Device profiles")
        self.panels: list[DiagnosticsPanel] = []
        diag = QWidget()
        diag_layout = QVBoxLayout(diag)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Device"))
        self.device_combo = QComboBox()
        chooser.addWidget(self.device_combo, 1)
        diag_layout.addLayout(chooser)
        self.stack = QStackedWidget()
        diag_layout.addWidget(self.stack, 1)
        for target in links:
            panel = DiagnosticsPanel(target, recordings_dir=recordings_dir,
                                     record_service=service if record_into_db else None,
                                     session_id=session_id)
            self.panels.append(panel)
            self.stack.addWidget(panel)
            link = link_of(target)
            self.device_combo.addItem(f"{link.name} ({link.url or 'no port'})")
        if not self.panels:
            self.device_combo.addItem("no device is running")
            self.device_combo.setEnabled(False)
            self.stack.addWidget(QLabel("No device is running. Start a session or the monitor view to see "
                                        "live diagnostics; meanwhile use Test connection on the profiles "
                                        "tab."))
        self.device_combo.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.tabs.addTab(diag, "Diagnostics")
        self._closed = False

    def shutdown(self) -> None:
        """Stop everything this window started (not the devices themselves). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.profiles.shutdown()
        for panel in self.panels:
            panel.stop()

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)


def default_recordings_dir() -> Path:
    """Where raw-byte recordings go by default: ``<user data dir>/chairside/recordings``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("chairside")) / "recordings"


def station_session_id(parent: QWidget | None) -> Callable[[], int | None] | None:
    """The open-session callable of the chair station attached to ``parent`` (the main window), if any."""
    if parent is None:
        return None
    for child in parent.children():
        getter = getattr(child, "open_session_id", None)
        if callable(getter):
            return getter
    return None


def open_device_setup(parent: QWidget | None, service: Any, links: Iterable[Any] = (), *,
                      recordings_dir: Path | None = None,
                      session_id: Callable[[], int | None] | None = None) -> DeviceSetupDialog:
    """Show the device setup window (not modal) and return it.

    ``service``: the logged-in user's :class:`~console.record.service.SessionService` (writes are checked
    there); ``links``: ``MainWindow.threads()`` or DeviceLinks; ``recordings_dir``: a folder for raw
    recordings (default :func:`default_recordings_dir`; created on the first recording); ``session_id``: the
    open session's id or ``None`` (default: asked of the :class:`~console.station.ChairStation` of
    ``parent``), so raw recordings go into the session being treated.
    """
    if session_id is None:
        session_id = station_session_id(parent)
    dialog = DeviceSetupDialog(service, links, recordings_dir=recordings_dir or default_recordings_dir(),
                               session_id=session_id, parent=parent)
    dialog.show()
    return dialog

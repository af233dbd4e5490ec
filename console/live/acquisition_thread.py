"""One QThread per device around the Qt-free :class:`~devices.acquisition.DeviceLink` loop.

The thread's ``run`` calls ``DeviceLink.run(stop_event)``; every batch of samples goes into the shared
:class:`~console.live.buffers.LiveData` and then to the registered sample consumers. The only signal is
:attr:`AcquisitionThread.link_state_changed`, emitted when the link changes state, never per sample: the GUI pulls
data on its own timer. The signal is emitted from the QThread's own thread (a Qt-created thread), which PySide6
handles safely, unlike emissions from plain Python threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from devices.acquisition import DeviceLink
from devices.model import LinkEvent, Sample

from console.live.buffers import LiveData

log = logging.getLogger(__name__)

#: called from the acquisition thread with every batch; must be thread-safe and return quickly
SampleConsumer = Callable[[list[Sample]], None]


class AcquisitionThread(QThread):
    """Runs one :class:`DeviceLink` until :meth:`stop`; feeds ``live`` and the consumers from its thread.

    ``link_state_changed(source, state, message)`` carries :class:`~devices.model.LinkState` values as their
    string ``value`` ("connected", "lost", ...), queued to the receivers' thread.
    """

    link_state_changed = Signal(str, str, str)

    def __init__(self, link: DeviceLink, live: LiveData, consumers: list[SampleConsumer] | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.link = link
        self.live = live
        self.setObjectName(f"acquisition:{link.name}")
        # a list shared with the window, so consumers added later are seen; appending is atomic in CPython
        self.consumers: list[SampleConsumer] = consumers if consumers is not None else []
        self._stop = threading.Event()
        self.consumer_errors = 0
        link.sink = self._sink

    @property
    def source(self) -> str:
        """The device name shown in the status bar."""
        return self.link.name

    def run(self) -> None:  # runs in the new thread
        try:
            self.link.run(self._stop)
        except Exception:  # a driver bug must not kill the app silently: report it as a lost link
            log.exception("acquisition of %s stopped by an error", self.link.name)
            self.link_state_changed.emit(self.link.name, "lost", "acquisition stopped by an internal error")

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the loop to end and wait for the thread; True when it has finished."""
        self._stop.set()
        if not self.isRunning():
            return True
        return self.wait(timeout_ms)

    def _sink(self, samples: list[Sample]) -> None:
        events = self.live.ingest(samples)
        for event in events:
            self._emit_event(event)
        for consumer in list(self.consumers):
            try:
                consumer(samples)
            except Exception:  # one broken consumer must not stop acquisition or the others
                self.consumer_errors += 1
                if self.consumer_errors <= 5:
                    log.exception("sample consumer %r failed", consumer)

    def _emit_event(self, event: LinkEvent) -> None:
        self.link_state_changed.emit(event.source or self.link.name, event.state.value, event.message)

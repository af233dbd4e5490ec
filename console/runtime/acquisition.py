"""One plain Python thread per device around the Qt-free :class:`~devices.acquisition.DeviceLink` loop.

The thread calls ``DeviceLink.run(stop_event)``; every batch of samples the link decodes goes to one sink (the
chair runtime's :meth:`~console.runtime.chair.ChairRuntime.ingest`). No Qt signal is emitted from here
(PySide6 >= 6.8 can crash on signals emitted from plain Python threads): views poll the runtime instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from devices.acquisition import DeviceLink
from devices.model import LinkEvent, LinkState, Sample

log = logging.getLogger(__name__)

#: receives every batch, from the acquisition thread; must be thread-safe and return quickly
SampleSink = Callable[[list[Sample]], None]


class DeviceThread:
    """Runs one :class:`DeviceLink` in its own thread until :meth:`stop`; hands every batch to ``sink``."""

    def __init__(self, link: DeviceLink, sink: SampleSink) -> None:
        self.link = link
        self._deliver = sink
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: batches the sink failed on (logged; acquisition carries on)
        self.sink_errors = 0
        link.sink = self._sink

    @property
    def source(self) -> str:
        """The device name shown in the status bar and in link-state lines."""
        return self.link.name

    def start(self) -> None:
        """Start the thread (once; a stopped device thread is not restarted)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"acquisition:{self.link.name}",
                                            daemon=False)
            self._thread.start()

    def is_running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def is_finished(self) -> bool:
        """True once the thread was started and has ended."""
        return self._thread is not None and not self._thread.is_alive()

    # the names the technician screens and older tests knew from the QThread version
    isRunning = is_running
    isFinished = is_finished

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end and wait for the thread; True when it has finished."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        try:
            self.link.run(self._stop)
        except Exception:  # a driver bug must not end acquisition silently: report it as a lost link
            log.exception("acquisition of %s stopped by an error", self.link.name)
            self._sink([LinkEvent(LinkState.LOST, "acquisition stopped by an internal error",
                                  self.link.clock(), self.link.name)])

    def _sink(self, samples: list[Sample]) -> None:
        try:
            self._deliver(samples)
        except Exception:  # a broken consumer must not stop acquisition
            self.sink_errors += 1
            if self.sink_errors <= 5:
                log.exception("samples of %s could not be taken", self.link.name)

"""A device thread feeding one :class:`~console.live.buffers.LiveData` directly, without a chair runtime.

The console runs its devices through :class:`~console.runtime.ChairRuntime` (one plain thread per device,
:class:`~console.runtime.acquisition.DeviceThread`). This thin variant of that same thread serves screens and
tools that watch one link on its own (the technician's diagnostics) with a live buffer and optional consumers.
No Qt: nothing is emitted from the thread; readers pull from ``live``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from console.live.buffers import LiveData
from console.runtime.acquisition import DeviceThread
from devices.acquisition import DeviceLink
from devices.model import Sample

log = logging.getLogger(__name__)

#: called from the acquisition thread with every batch; must be thread-safe and return quickly
SampleConsumer = Callable[[list[Sample]], None]


class AcquisitionThread(DeviceThread):
    """Runs one :class:`DeviceLink` until :meth:`stop`; feeds ``live`` and then each consumer, from its thread."""

    def __init__(self, link: DeviceLink, live: LiveData, consumers: list[SampleConsumer] | None = None) -> None:
        self.live = live
        self.consumers: list[SampleConsumer] = consumers if consumers is not None else []
        self.consumer_errors = 0
        super().__init__(link, self._take)

    def _take(self, samples: list[Sample]) -> None:
        self.live.ingest(samples)
        for consumer in list(self.consumers):
            try:
                consumer(samples)
            except Exception:  # one broken consumer must not stop acquisition or the others
                self.consumer_errors += 1
                if self.consumer_errors <= 5:
                    log.exception("sample consumer %r failed", consumer)

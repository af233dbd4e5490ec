"""The acquisition loop: one device, one port, one driver, run in its own thread.

:class:`DeviceLink` owns the port and nothing else: it opens the transport, hands every byte that arrives to the
driver, writes what the driver wants sent, and passes decoded samples to a sink. When the port vanishes or cannot be
opened it reports the device as lost (a :class:`~devices.model.LinkEvent` to the sink), resets the driver and retries
with a capped backoff, so a cable pulled out and pushed back in resumes on its own within a couple of seconds.

No Qt here: the console wraps :meth:`DeviceLink.run` in a QThread; ``chairside probe`` runs it in a plain thread.
Everything is driven by an injectable clock and port opener so tests can run :meth:`DeviceLink.step` by hand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import serial

from devices.driver import Driver
from devices.model import LinkEvent, LinkState, Sample
from devices.transport import PortSettings, TransportError, open_port

Sink = Callable[[list[Sample]], None]
ByteTap = Callable[[str, float, bytes], None]  # (direction "in"/"out", host time, bytes)

#: seconds between reconnection attempts: quick at first, capped so a returning port is found within ~2 s
BACKOFF_STEPS = (0.25, 0.5, 1.0, 2.0)
#: bytes asked for per read on socket:// ports (see DeviceLink.step)
SOCKET_READ_CHUNK = 65536


@dataclass(slots=True)
class LinkCounters:
    """What the diagnostics panel shows besides the driver's own decode statistics."""

    bytes_in: int = 0
    bytes_out: int = 0
    connects: int = 0
    disconnects: int = 0


class DeviceLink:
    """Runs one device: port I/O, driver feeding, reconnection. Not thread-safe; one thread calls it.

    ``url=None`` means the driver needs no port (the built-in simulator): the loop just calls
    ``driver.feed(b"", now)`` every ``interval`` seconds.
    """

    def __init__(
        self,
        driver: Driver,
        url: str | None,
        settings: PortSettings | None = None,
        sink: Sink | None = None,
        *,
        name: str = "",
        clock: Callable[[], float] = time.time,
        opener: Callable[[str, PortSettings], serial.SerialBase] = open_port,
        interval: float = 0.02,
        tap: ByteTap | None = None,
    ) -> None:
        self.driver = driver
        self.url = url
        self.settings = settings or driver.default_settings
        self.sink: Sink = sink or (lambda samples: None)
        self.name = name or driver.source or driver.name
        self.clock = clock
        self.opener = opener
        self.interval = interval
        self.tap = tap
        self.counters = LinkCounters()
        self.state = LinkState.STOPPED
        self.last_error = ""
        self._port: serial.SerialBase | None = None
        self._socket = bool(url and url.startswith("socket://"))
        self._backoff_index = 0
        self._next_attempt = 0.0

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; then release the device politely and close the port."""
        try:
            while not stop.is_set():
                wait = self.step()
                if wait > 0:
                    stop.wait(wait)
        finally:
            self.shutdown()

    def step(self) -> float:
        """One iteration: connect if needed, read what is there, feed, write. Returns seconds to wait next."""
        now = self.clock()
        if self.url is None:
            if self.state is LinkState.STOPPED:
                self._set_state(LinkState.CONNECTED, "simulated device started", now)
            self._deliver(self.driver.feed(b"", now))
            return self.interval
        if self._port is None:
            if now < self._next_attempt:
                return min(self.interval * 5, self._next_attempt - now)
            if not self._connect(now):
                return min(self.interval * 5, max(0.0, self._next_attempt - now))
        try:
            data = self._read()
            now = self.clock()
            if data:
                self.counters.bytes_in += len(data)
                if self.tap:
                    self.tap("in", now, data)
            self._deliver(self.driver.feed(data, now))
            out = self.driver.outgoing(now)
            if out:
                self._write(out, now)
        except (serial.SerialException, OSError, TransportError) as exc:
            self._lost(f"port {self.url} stopped working: {exc}", self.clock())
        return 0.0

    def shutdown(self) -> None:
        """Send the driver's goodbye (e.g. a release request) if connected, then close the port."""
        now = self.clock()
        if self._port is not None:
            try:
                goodbye = self.driver.close(now)
                if goodbye:
                    self._write(goodbye, now)
                    self._port.flush()
            except (serial.SerialException, OSError):
                pass  # the port is going away anyway; nothing more to tell the device
            self._close_port()
        if self.state is not LinkState.STOPPED:
            self._set_state(LinkState.STOPPED, "stopped", now)

    # --- internals --------------------------------------------------------------------------------

    def _read(self) -> bytes:
        """What has arrived: blocks up to the port timeout for the first byte (which paces the loop when the line
        is quiet), then takes whatever else is already there without waiting."""
        port = self._port
        assert port is not None
        data: bytes = port.read(max(1, port.in_waiting))  # pyserial is untyped
        if data and self._socket:
            # pyserial's socket:// reports at most 1 byte waiting (it asks select(), not the queue), so one read
            # would deliver a byte per step and never keep up with a fast monitor; drain without blocking instead
            timeout, port.timeout = port.timeout, 0
            try:
                data += port.read(SOCKET_READ_CHUNK)
            finally:
                port.timeout = timeout
        return data

    def _connect(self, now: float) -> bool:
        # remember before CONNECTING overwrites it: a retry failing for the same reason is not news
        was_lost, previous_error = self.state is LinkState.LOST, self.last_error
        self._set_state(LinkState.CONNECTING, f"opening {self.url} at {self.settings}", now, emit=False)
        try:
            assert self.url is not None
            self._port = self.opener(self.url, self.settings)
        except (TransportError, serial.SerialException, OSError, ValueError) as exc:
            self.last_error = str(exc)
            self._schedule_retry(now)
            self._set_state(LinkState.LOST, str(exc), now, emit=not was_lost or str(exc) != previous_error)
            return False
        self.counters.connects += 1
        self._backoff_index = 0
        self.driver.reset()
        self._set_state(LinkState.CONNECTED, f"port {self.url} open at {self.settings}", now)
        return True

    def _write(self, data: bytes, now: float) -> None:
        assert self._port is not None
        self._port.write(data)
        self.counters.bytes_out += len(data)
        if self.tap:
            self.tap("out", now, data)

    def _lost(self, message: str, now: float) -> None:
        self.last_error = message
        self.counters.disconnects += 1
        self._close_port()
        self.driver.reset()
        self._schedule_retry(now)
        self._set_state(LinkState.LOST, message, now)

    def _schedule_retry(self, now: float) -> None:
        delay = BACKOFF_STEPS[min(self._backoff_index, len(BACKOFF_STEPS) - 1)]
        self._backoff_index += 1
        self._next_attempt = now + delay

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass  # closing a vanished port may fail; it is gone either way

    def _deliver(self, samples: list[Sample]) -> None:
        for sample in samples:
            if isinstance(sample, LinkEvent):
                self.state = sample.state
        if samples:
            self.sink(samples)

    def _set_state(self, state: LinkState, message: str, now: float, emit: bool = True) -> None:
        self.state = state
        if emit:
            self.sink([LinkEvent(state, message, now, self.name)])

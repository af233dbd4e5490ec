"""Serving a device to a host over a real serial link: an emulator, or a replayed capture.

The emulators of :mod:`devices.protocols` are sans-I/O; this module puts one on a wire so that Chairside (or
any other program) can connect to it exactly as to a monitor:

* :class:`PtyEndpoint`: a pseudo-terminal pair; the host opens the slave path (``/dev/pts/N``, or a stable
  symlink) as a serial port. POSIX only.
* :class:`TcpEndpoint`: a listening TCP socket (``socket://127.0.0.1:PORT`` for the host), like a terminal
  server. One host at a time; a new connection replaces the old one, so a host that reconnects is served.

:class:`EmulationServer` runs the loop in a plain thread (or the caller's, for the CLI): host bytes go to the
source's ``receive``, and every ~10 ms the source's ``outgoing(now)`` goes to the host. The source is an
:class:`~devices.driver.Emulator` or a :class:`CaptureReplay`. :meth:`EmulationServer.vanish` and
:meth:`EmulationServer.restore` pull the port away and bring it back, as a USB adapter unplugged and
replugged would, for fault tests.
"""

from __future__ import annotations

import abc
import errno
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, Self

from devices.transport import PortSettings

#: how often the loop asks the source for bytes (the fastest monitor cadence: about 8 ms, IntelliVue waves)
DEFAULT_TICK = 0.01
#: bytes kept for a host that does not read; beyond this the oldest are dropped, as a UART FIFO overrun would
MAX_PENDING = 256 * 1024

#: seconds between a host connecting and a replay starting (see EmulationServer.run)
HOST_GRACE = 0.2

DOCBOX_RE = re.compile(rb"^\s*\d{4}/\d\d/\d\dT\d\d:\d\d:\d\d,\d{3}")


class ByteSource(Protocol):
    """What the server serves: the device side of a protocol (an Emulator, a CaptureReplay)."""

    def receive(self, data: bytes, now: float) -> None: ...

    def outgoing(self, now: float) -> bytes: ...


# --- capture replay ---------------------------------------------------------------------------------------


def looks_like_docbox(data: bytes) -> bool:
    """True when ``data`` (a file's start) is a docbox log: ``YYYY/MM/DDTHH:MM:SS,mmm`` + frame records."""
    return DOCBOX_RE.match(data[:64]) is not None


def read_capture(path: str | Path) -> tuple[str, bytes | list[tuple[float, bytes]]]:
    """Read a capture file: ``("docbox", [(posix time, frame), ...])`` or ``("raw", bytes)``, by content.

    Raises ``OSError`` when the file cannot be read, ``ValueError`` when a docbox log cannot be parsed.
    """
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(64)
    if looks_like_docbox(head):
        from devices.captures import read_docbox  # provided with the IntelliVue driver

        records = list(read_docbox(path))
        if not records:
            # a Chairside raw recording of a Datex or Masimo link: same timestamps, but no C0…C1 frames
            from devices.raw_recorder import read_recording

            records = read_recording(path)
        return "docbox", records
    return "raw", path.read_bytes()


class CaptureReplay:
    """Plays a capture back with its timing, as an :class:`~devices.driver.Emulator`-like byte source.

    Raw bytes (no timestamps) are paced at ``rate`` bytes per second (normally the protocol's line rate,
    :attr:`PortSettings.bytes_per_second`); timestamped records (docbox logs) are sent at their original
    offsets from the first record. ``speed`` scales both. With ``loop`` the capture starts over at its end.
    Host bytes are ignored: a capture cannot answer.
    """

    def __init__(self, raw: bytes | None = None, *, records: list[tuple[float, bytes]] | None = None,
                 rate: float = 1000.0, speed: float = 1.0, loop: bool = False) -> None:
        if (raw is None) == (records is None):
            raise ValueError("give either raw bytes or timestamped records")
        if rate <= 0 or speed <= 0:
            raise ValueError("rate and speed must be positive")
        self.raw = raw
        self.records = sorted(records, key=lambda r: r[0]) if records is not None else None
        self.rate = rate
        self.speed = speed
        self.loop = loop
        self._start: float | None = None
        self._pos = 0  # position in the current pass: byte (raw) or record (docbox) index
        self._sent = 0  # raw bytes sent over all passes
        self._pass = 0  # completed passes (records, with loop)
        self.bytes_sent = 0

    @classmethod
    def from_file(cls, path: str | Path, *, settings: PortSettings | None = None, rate: float | None = None,
                  speed: float = 1.0, loop: bool = False) -> CaptureReplay:
        """A replay of ``path`` (raw or docbox, by content). Raw pacing: ``rate``, else the line's rate."""
        kind, content = read_capture(path)
        if kind == "docbox":
            assert isinstance(content, list)
            return cls(records=content, speed=speed, loop=loop)
        assert isinstance(content, bytes)
        line_rate = rate or (settings.bytes_per_second if settings else 960.0)
        return cls(content, rate=line_rate, speed=speed, loop=loop)

    @property
    def duration(self) -> float:
        """Seconds one pass takes at ``speed``."""
        if self.records is not None:
            return (self.records[-1][0] - self.records[0][0]) / self.speed if self.records else 0.0
        return len(self.raw or b"") / self.rate / self.speed

    @property
    def finished(self) -> bool:
        """True once everything has been sent (never with ``loop``)."""
        total = len(self.records) if self.records is not None else len(self.raw or b"")
        return not self.loop and self._pos >= total

    def receive(self, data: bytes, now: float) -> None:
        """A recording cannot answer the host; its bytes are ignored."""

    def outgoing(self, now: float) -> bytes:
        """Everything whose time has come since the last call."""
        if self._start is None:
            self._start = now
        elapsed = (now - self._start) * self.speed
        out = self._due_records(elapsed) if self.records is not None else self._due_raw(elapsed)
        self.bytes_sent += len(out)
        return out

    def _due_raw(self, elapsed: float) -> bytes:
        raw = self.raw or b""
        if not raw:
            return b""
        due = int(elapsed * self.rate)
        if not self.loop:
            due = min(due, len(raw))
        out = bytearray()
        while self._sent < due:
            i = self._sent % len(raw)
            n = min(len(raw) - i, due - self._sent)
            out += raw[i:i + n]
            self._sent += n
        self._pos = min(self._sent, len(raw)) if not self.loop else self._sent % len(raw)
        return bytes(out)

    def _due_records(self, elapsed: float) -> bytes:
        records = self.records or []
        if not records:
            return b""
        t0 = records[0][0]
        period = records[-1][0] - t0 + 1.0  # a one-second pause between passes when looping
        out = bytearray()
        while self._pos < len(records) and records[self._pos][0] - t0 + self._pass * period <= elapsed:
            out += records[self._pos][1]
            self._pos += 1
            if self._pos >= len(records) and self.loop:
                self._pos = 0
                self._pass += 1
        return bytes(out)


# --- endpoints --------------------------------------------------------------------------------------------


class Endpoint(abc.ABC):
    """One end of a link the host connects to. Used only by the server's thread."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """What the host opens (a device path or a ``socket://`` URL)."""

    @abc.abstractmethod
    def open(self) -> None:
        """Create the port (again, after :meth:`close`)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Remove the port; a host that has it open sees it vanish."""

    @abc.abstractmethod
    def read(self, timeout: float) -> bytes:
        """Host bytes that arrive within ``timeout`` seconds (accepting new connections meanwhile)."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send to the host without blocking; bytes nobody reads are buffered up to a bound, then dropped."""

    @property
    def host_connected(self) -> bool:
        """True when a host is attached (always true for a pty once open: it cannot tell)."""
        return True


class _Pending:
    """Outgoing bytes the other side has not taken yet, bounded like a FIFO that overruns."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        self.data += data
        excess = len(self.data) - MAX_PENDING
        if excess > 0:
            del self.data[:excess]
            self.dropped += excess

    def flush(self, send: Callable[[bytes], int]) -> None:
        while self.data:
            try:
                n = send(bytes(self.data))
            except BlockingIOError:
                return
            if n <= 0:
                return
            del self.data[:n]


class PtyEndpoint(Endpoint):
    """A pseudo-terminal pair: the server holds the master, the host opens the slave as a serial port.

    With ``link`` a symlink at that path always points at the current slave, so a host configured with the
    link finds the port again after :meth:`close`/:meth:`open` (a new pty gets a new ``/dev/pts`` number).
    """

    def __init__(self, link: str | Path | None = None) -> None:
        if os.name != "posix":  # pragma: no cover - Windows has no ptys
            raise OSError("pseudo-terminals need Linux or macOS; "
                          "use --listen socket://127.0.0.1:PORT instead")
        self.link = Path(link) if link else None
        self._master: int | None = None
        self._slave: int | None = None
        self._path = ""
        self._pending = _Pending()

    @property
    def url(self) -> str:
        return str(self.link) if self.link else self._path

    @property
    def device_path(self) -> str:
        """The current ``/dev/pts/N`` (changes on every :meth:`open`)."""
        return self._path

    def open(self) -> None:
        import tty

        master, slave = os.openpty()
        # Raw mode before any host opens it: a cooked slave echoes what the emulator writes back to it and
        # rewrites CR/LF, corrupting binary frames.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)
        self._pending = _Pending()
        if self.link:
            tmp = self.link.with_name(self.link.name + ".new")
            tmp.unlink(missing_ok=True)
            os.symlink(self._path, tmp)
            os.replace(tmp, self.link)

    def close(self) -> None:
        if self.link:
            try:
                if self.link.is_symlink() and os.readlink(self.link) == self._path:
                    self.link.unlink()
            except OSError:
                pass  # someone else removed or replaced it; nothing of ours to clean
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def read(self, timeout: float) -> bytes:
        if self._master is None:
            time.sleep(timeout)
            return b""
        with selectors.DefaultSelector() as sel:
            sel.register(self._master, selectors.EVENT_READ)
            if not sel.select(timeout):
                return b""
        try:
            return os.read(self._master, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # no slave open at the moment: nothing to read
                return b""
            raise

    def write(self, data: bytes) -> None:
        if self._master is None:
            return
        self._pending.add(data)
        master = self._master

        def send(chunk: bytes) -> int:
            try:
                return os.write(master, chunk)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EIO):
                    raise BlockingIOError from exc
                raise

        self._pending.flush(send)


class TcpEndpoint(Endpoint):
    """A listening TCP socket; the host connects with ``socket://HOST:PORT``. ``port=0`` picks a free port,
    kept for later :meth:`open` calls so a returning port has the same address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._pending = _Pending()
        #: connections accepted so far
        self.connections = 0

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    @property
    def host_connected(self) -> bool:
        return self._client is not None

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(2)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def close(self) -> None:
        self._drop_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None
        self._pending = _Pending()

    def read(self, timeout: float) -> bytes:
        if self._listener is None:
            time.sleep(timeout)
            return b""
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ, "accept")
            if self._client is not None:
                sel.register(self._client, selectors.EVENT_READ, "client")
            events = sel.select(timeout)
        data = b""
        for key, _ in events:
            if key.data == "accept":
                try:
                    client, _addr = self._listener.accept()
                except BlockingIOError:
                    continue
                # the newest host wins: an old connection is most likely a host that died without closing
                self._drop_client()
                client.setblocking(False)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._client = client
                self.connections += 1
            elif key.data == "client" and self._client is key.fileobj:
                try:
                    chunk = self._client.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._drop_client()  # host went away; wait for the next one
                data += chunk
        return data

    def write(self, data: bytes) -> None:
        client = self._client
        if client is None:
            return  # nobody listening: the device talks into the void, as on an unplugged cable
        self._pending.add(data)
        try:
            self._pending.flush(client.send)
        except OSError:
            self._drop_client()


def endpoint_for(listen: str | None = None, pty: bool = False, link: str | Path | None = None) -> Endpoint:
    """The endpoint for a CLI choice: ``listen="socket://127.0.0.1:PORT"`` or ``pty=True``.

    Raises ``ValueError`` with a plain message for a URL it cannot serve.
    """
    if pty == (listen is not None):
        raise ValueError("choose exactly one of --listen socket://127.0.0.1:PORT and --pty")
    if pty:
        return PtyEndpoint(link)
    assert listen is not None
    m = re.fullmatch(r"(?:socket://|tcp://)?([\w.\-]*|\[[0-9a-fA-F:]+\]):(\d{1,5})", listen.strip())
    if m is None:
        raise ValueError(f"cannot listen on {listen!r}: give socket://127.0.0.1:PORT")
    host = m.group(1).strip("[]") or "127.0.0.1"
    port = int(m.group(2))
    if port > 65535:
        raise ValueError(f"port {port} is out of range: give socket://127.0.0.1:PORT with PORT 0-65535")
    return TcpEndpoint(host, port)


# --- the server -------------------------------------------------------------------------------------------


class EmulationServer:
    """Serves ``source`` on ``endpoint`` until stopped. Use :meth:`start`/:meth:`stop` (a background thread,
    also as a context manager) or :meth:`run` in the calling thread."""

    def __init__(self, source: ByteSource, endpoint: Endpoint, *, tick: float = DEFAULT_TICK,
                 clock: Callable[[], float] = time.time, name: str = "emulator",
                 wait_for_host: bool = False) -> None:
        self.source = source
        #: start the source only once a host has connected (a replay should not play to nobody); a pty cannot
        #: tell when a host opens it, so there the source starts at once
        self.wait_for_host = wait_for_host
        self.endpoint = endpoint
        self.tick = tick
        self.clock = clock
        self.name = name
        self.bytes_in = 0
        self.bytes_out = 0
        #: True while the port is pulled away (see :meth:`vanish`)
        self.vanished = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._commands: list[tuple[str, threading.Event]] = []
        self._lock = threading.Lock()
        self._opened = False
        #: why serving stopped on its own ("" while fine)
        self.error = ""

    @property
    def url(self) -> str:
        """What a host opens to reach the device."""
        return self.endpoint.url

    def open(self) -> str:
        """Create the port now (so its path/URL is known before serving starts); returns :attr:`url`."""
        if not self._opened:
            self.endpoint.open()
            self._opened = True
        return self.url

    def start(self) -> Self:
        """Open the port and serve in a background thread."""
        self.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name=f"{self.name}-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close the port and join the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def vanish(self, timeout: float = 5.0) -> None:
        """Pull the port away (close the pty or the listening socket); the host sees the device vanish."""
        self._command("vanish", timeout)

    def restore(self, timeout: float = 5.0) -> None:
        """Bring the port back after :meth:`vanish` (same symlink or TCP port)."""
        self._command("restore", timeout)

    def _command(self, what: str, timeout: float) -> None:
        done = threading.Event()
        with self._lock:
            self._commands.append((what, done))
        if self._thread is None or not self._thread.is_alive():
            self._run_commands()  # not serving in a thread: apply here
        elif not done.wait(timeout):
            raise TimeoutError(f"the emulation server did not {what} within {timeout} s")

    def _run_commands(self) -> None:
        with self._lock:
            commands, self._commands = self._commands, []
        for what, done in commands:
            if what == "vanish" and not self.vanished:
                self.endpoint.close()
                self.vanished = True
            elif what == "restore" and self.vanished:
                self.endpoint.open()
                self.vanished = False
            done.set()

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then close the port. The device lives on while the port is away."""
        self.open()
        host_since: float | None = None
        try:
            while not stop.is_set():
                if self._commands:
                    self._run_commands()
                if self.vanished:
                    stop.wait(self.tick)
                    data = b""
                else:
                    data = self.endpoint.read(self.tick)
                if self.wait_for_host:
                    # Start a moment after the host connects: pyserial discards what arrives while it opens
                    # (reset_input_buffer), which would eat the start of a replay.
                    if not self.endpoint.host_connected:
                        host_since = None
                        continue
                    host_since = host_since or self.clock()
                    if self.clock() - host_since < HOST_GRACE:
                        continue
                    self.wait_for_host = False
                now = self.clock()
                if data:
                    self.bytes_in += len(data)
                    self.source.receive(data, now)
                out = self.source.outgoing(now)
                if out and not self.vanished:
                    self.bytes_out += len(out)
                    self.endpoint.write(out)
        except Exception as exc:  # noqa: BLE001 - a broken emulator must stop visibly, not hang its host
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._run_commands()
            self.endpoint.close()
            self._opened = False

    @property
    def running(self) -> bool:
        """True while the background thread serves (false after :meth:`stop` or a failure, see :attr:`error`)."""
        return self._thread is not None and self._thread.is_alive()

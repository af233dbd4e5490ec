"""Fixtures of the technician tests: a record database with one user per role, and emulators on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.record import Database, Role, open_database
from devices import registry
from devices.acquisition import DeviceLink
from devices.emulation import EmulationServer, TcpEndpoint

PASSWORD = "correct horse 1"




@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'record.sqlite3'}")
    yield database
    database.close()


@pytest.fixture
def services(db: Database) -> dict[str, Any]:
    """role → that user's SessionService (users created through the admin path)."""
    setup = db.service(db.system_user("test-setup"))
    out = {}
    for role in Role:
        setup.add_user(f"user_{role.value}", role.value.title(), role.value, PASSWORD)
        out[role.value] = db.service(db.authenticate(f"user_{role.value}", PASSWORD))
    return out


class Served:
    """A protocol emulator served on socket:// loopback, with a DeviceLink that can run in a thread."""

    def __init__(self, protocol: str) -> None:
        from devices.simulator import Simulator

        info = registry.get(protocol)
        assert info.make_emulator is not None
        self.server = EmulationServer(info.make_emulator(Simulator("stable", seed=0)), TcpEndpoint(),
                                      name=protocol)
        self.server.start()
        self.url = self.server.url
        self.protocol = protocol
        self._threads: list[tuple[threading.Thread, threading.Event]] = []

    def link(self, name: str = "chair 1", sink: Any = None) -> DeviceLink:
        return DeviceLink(registry.get(self.protocol).driver(source=name), self.url, sink=sink, name=name)

    def run(self, link: DeviceLink) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=link.run, args=(stop,), name=f"test-link-{link.name}", daemon=True)
        self._threads.append((thread, stop))
        thread.start()

    def stop_links(self) -> None:
        for thread, stop in self._threads:
            stop.set()
            thread.join(10)
        self._threads.clear()

    def close(self) -> None:
        self.stop_links()
        self.server.stop()


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(protocol) -> Served; everything is stopped after the test."""
    made: list[Served] = []

    def make(protocol: str) -> Served:
        s = Served(protocol)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()

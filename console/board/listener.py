"""Wakes the board when a chair publishes: PostgreSQL ``LISTEN chairside_board`` on its own connection.

The listener only says *that* something changed (:meth:`BoardListener.wait_for_change`); the board then reads
the rows. Notifications may be lost while the connection is down, so the board also refreshes on a slow
timer and decides "offline" from heartbeat ages, never from missing notifications.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.engine import make_url

from console.board.store import CHANNEL

log = logging.getLogger(__name__)


def psycopg_conninfo(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://u:p@h:port/db`` → a libpq URL psycopg accepts."""
    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the board's notifications need a PostgreSQL record")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class BoardListener:
    """A thread holding ``LISTEN`` on the board channel; reconnects with backoff when the server goes away."""

    def __init__(self, sqlalchemy_url: str) -> None:
        self._conninfo = psycopg_conninfo(sqlalchemy_url)
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._chairs: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="board-listener")
        self.connected = False
        self.notifications = 0

    def start(self) -> BoardListener:
        self._thread.start()
        return self

    def wait_for_change(self, timeout: float) -> set[str]:
        """Block up to ``timeout`` s for a notification; the chairs that notified since the last call."""
        self._changed.wait(timeout)
        with self._lock:
            chairs, self._chairs = self._chairs, set()
            self._changed.clear()
        return chairs

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connected = True
                    backoff = 0.5
                    self._changed.set()  # (re)connected: whatever we missed, read everything once
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self.notifications += 1
                            with self._lock:
                                self._chairs.add(note.payload)
                            self._changed.set()
            except psycopg.Error as err:
                if self.connected:
                    log.warning("board lost its notification connection: %s", err)
                self.connected = False
                self._changed.set()  # let the board re-read and show ages
                self._stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
        self.connected = False

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


"""The board's reading thread: wakes on a notification (or every second), reads every chair, keeps the newest.

The board's screen pulls :meth:`BoardReader.snapshot` on its timer, so the GUI thread never touches the
database. Between reads, ages keep growing by the monotonic clock: a chair whose rows stop changing, or a
database that stops answering, still turns offline on time, and the board says how old what it knows is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from console.board.board import BoardChair, board_snapshot
from console.board.listener import BoardListener
from console.board.store import StoredStatus, read_all
from console.record.guard import plain_message

log = logging.getLogger(__name__)

#: the slowest the board re-reads without a notification (the offline check needs no notification)
REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class BoardView:
    """What the screen shows: every chair, how old the board's own knowledge is, and any storage problem."""

    chairs: list[BoardChair]
    data_age_s: float  # seconds since the last successful read (0 when fresh)
    error: str | None
    notifications: bool  # True while LISTEN/NOTIFY is connected


class BoardReader:
    """Reads ``chair_status`` on its own thread; ``listen`` uses PostgreSQL notifications to wake early."""

    def __init__(self, engine: Engine, url: str | None = None, *, listen: bool = True) -> None:
        self._engine = engine
        self._listener = BoardListener(url) if (listen and url and engine.dialect.name == "postgresql") else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rows: list[StoredStatus] = []
        self._db_now = 0.0
        self._read_at: float | None = None  # monotonic time of the last good read
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="board-reader")
        self.reads = 0

    def start(self) -> BoardReader:
        if self._listener is not None:
            self._listener.start()
        self._thread.start()
        return self

    def read_once(self) -> None:
        """One read now (the ``--once`` path and the thread's loop)."""
        try:
            db_now, rows = read_all(self._engine)
        except Exception as err:  # noqa: BLE001 - the database went away: keep the last rows, say how old
            message = plain_message(err)
            if message != self._error:
                log.warning("board could not read chair status: %s", message)
            with self._lock:
                self._error = message
            return
        with self._lock:
            self._rows, self._db_now, self._read_at, self._error = rows, db_now, time.monotonic(), None
            self.reads += 1

    def snapshot(self) -> BoardView:
        """The chairs as of now: ages advanced by the time since the last read."""
        with self._lock:
            rows, db_now, read_at, error = self._rows, self._db_now, self._read_at, self._error
        elapsed = 0.0 if read_at is None else time.monotonic() - read_at
        chairs = board_snapshot(db_now + elapsed, rows) if read_at is not None else []
        connected = self._listener.connected if self._listener is not None else False
        return BoardView(chairs, elapsed if error else 0.0, error, connected)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.read_once()
            if self._listener is not None:
                self._listener.wait_for_change(REFRESH_S)
            else:
                self._stop.wait(REFRESH_S)

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

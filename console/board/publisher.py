"""A chair's publisher: its own thread, about once a second, never slowing the chair.

Each cycle it asks the chair for a fresh :class:`ChairStatus` and writes it. Nothing queues: if the database
is slow or down, the cycles that could not be written are simply skipped (counted in :attr:`dropped`) and the
next cycle publishes the newest state, so the board catches up at once when storage returns. Stale live status
is worth nothing; clinical entries never pass through here (they have the chair's outbox and journal).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from console.board.status import ChairStatus
from console.board.store import publish
from console.record.guard import plain_message

log = logging.getLogger(__name__)

#: how often a chair publishes (the board calls a chair offline after OFFLINE_AFTER_S without one)
PUBLISH_INTERVAL_S = 1.0
#: the longest wait between retries while the database is unreachable
MAX_BACKOFF_S = 5.0


class StatusPublisher:
    """Publishes ``snapshot()`` to the board table every ``interval_s`` from a daemon-free worker thread.

    ``snapshot`` runs on the publisher's thread, so it must only read state that is safe to read from another
    thread (the chair runtime's snapshot methods are). :meth:`close` stops and joins the thread.
    """

    def __init__(self, engine: Engine, snapshot: Callable[[], ChairStatus], *,
                 interval_s: float = PUBLISH_INTERVAL_S,
                 write: Callable[[Engine, ChairStatus], None] = publish) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, not {interval_s!r}")
        self._engine = engine
        self._snapshot = snapshot
        self._interval = interval_s
        self._write = write
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-publisher")
        self.published = 0
        self.dropped = 0
        self.last_error: str | None = None

    def start(self) -> StatusPublisher:
        self._thread.start()
        return self

    @property
    def healthy(self) -> bool:
        """False while the last publication failed (the chair may say "not reaching the board")."""
        return self.last_error is None

    def _run(self) -> None:
        backoff = self._interval
        next_due = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._write(self._engine, self._snapshot())
            except Exception as err:  # noqa: BLE001 - storage down, locked, a bad snapshot: keep the chair running
                message = plain_message(err) if not isinstance(err, ValueError) else str(err)
                if message != self.last_error:
                    log.warning("board status not published: %s", message)
                self.last_error = message
                self.dropped += 1
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                next_due = time.monotonic() + backoff
            else:
                if self.last_error is not None:
                    log.info("board status published again")
                self.last_error = None
                self.published += 1
                backoff = self._interval
                next_due += self._interval
            # a write that took longer than a cycle skips the cycles it overlapped: they are stale now
            now = time.monotonic()
            if next_due < now:
                missed = int((now - next_due) // self._interval) + 1
                self.dropped += missed
                next_due += missed * self._interval
            elif started > now:  # clock oddity: never spin
                next_due = now + self._interval
            self._stop.wait(max(0.0, next_due - time.monotonic()))

    def close(self, timeout: float = 10.0) -> None:
        """Stop publishing and join the thread (a write in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

"""The chair's storage writer: ONE thread that performs every database write of the runtime, in order.

Callers (the GUI thread, the alarm thread, acquisition threads) :meth:`StorageWriter.submit` a job and return
at once; the job runs later on the writer thread. A database that is locked or gone therefore slows the
writer, never the screen. Periodic jobs (the session heartbeat, retries of the entry outbox) run on the same
thread between submitted jobs. A job that raises is logged and the writer carries on: what must not be lost
(clinical and alarm entries) goes through the :class:`~console.record.outbox.EntryOutbox`, which keeps it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Job = Callable[[], object]


@dataclass(slots=True)
class _Periodic:
    name: str
    interval: float
    job: Job
    due: float


class StorageWriter:
    """One thread running storage jobs in submission order (see the module docstring)."""

    def __init__(self, name: str = "chair-writer") -> None:
        self.name = name
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._periodic: list[_Periodic] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0  # jobs submitted and not finished
        self._thread: threading.Thread | None = None
        self._closed = False
        #: jobs that raised (logged); a test or a status line can show it
        self.errors = 0

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=False)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float | None = 30.0) -> bool:
        """Run what was submitted, then stop the thread and wait for it; True when it has ended."""
        with self._lock:
            if self._closed:
                thread = self._thread
                return thread is None or not thread.is_alive()
            self._closed = True
        self._queue.put(None)
        thread = self._thread
        if thread is None:
            self._run_pending_inline()
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ jobs
    def submit(self, job: Job) -> None:
        """Queue ``job`` to run on the writer thread; never waits. Refused once the writer is closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed; nothing more can be written")
            self._busy += 1
        self._queue.put(job)

    def every(self, name: str, interval: float, job: Job) -> None:
        """Run ``job`` on the writer thread every ``interval`` real seconds (first run after one interval)."""
        with self._lock:
            self._periodic.append(_Periodic(name, interval, job, time.monotonic() + interval))

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait until every job submitted so far has run (for shutdown and tests; never on the GUI thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @property
    def backlog(self) -> int:
        """Jobs submitted and not yet finished."""
        with self._lock:
            return self._busy

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=self._next_wait())
            except queue.Empty:
                self._run_periodic()
                continue
            if job is None:
                return
            self._execute(job)
            self._run_periodic()

    def _next_wait(self) -> float:
        with self._lock:
            if not self._periodic:
                return 1.0
            return max(0.0, min(p.due for p in self._periodic) - time.monotonic())

    def _run_periodic(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [p for p in self._periodic if p.due <= now]
            for p in due:
                p.due = now + p.interval
        for p in due:
            try:
                p.job()
            except Exception:  # a periodic job failing (database down) is retried at its next turn
                self.errors += 1
                log.exception("%s: periodic job %s failed", self.name, p.name)

    def _execute(self, job: Job) -> None:
        try:
            job()
        except Exception:  # logged; entries that must survive are kept by the outbox, not by this loop
            self.errors += 1
            log.exception("%s: a storage job failed", self.name)
        finally:
            with self._idle:
                self._busy -= 1
                if not self._busy:
                    self._idle.notify_all()

    def _run_pending_inline(self) -> None:
        """Closed before it was started: run what was queued here, in order, so nothing submitted is lost."""
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._execute(job)

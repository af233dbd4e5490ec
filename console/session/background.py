"""A session intent's storage work, run off the GUI thread and handed back to it (no Qt).

Starting a session, correcting an entry and signing each wait on the database (and signing on seconds of
password-KDF CPU). The controller checks its rules at once, on the caller's thread, then hands the work to a
:class:`BackgroundCall`: a list of steps, each run on one of two *lanes* of :class:`Lanes`:

* ``compute``: slow CPU that must not hold up the chair's writer (opening the signing key);
* ``write``: the chair's one writer thread, where every database write of the chair runs in order.

The caller polls (:meth:`BackgroundCall.poll`, from a screen's timer) and applies the result on its own thread,
so the controller's state is only ever touched by one thread. A step that fails with ``StorageUnavailable``
(the record is locked or gone: by the record's contract nothing was written) is tried again after
:data:`BUSY_RETRY_S`, from the same step, with what the earlier steps produced: the clinician sees "the record
is busy: still trying" and loses nothing. Any other failure ends the call with that error.

:class:`Inline` runs every step at once on the caller's thread (tests, tools without a chair runtime); a busy
record then ends the call, as a direct write would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from console.session.failures import STORAGE, classify

#: a step refused by a busy record is tried again after this many seconds (a locked SQLite file already made it
#: wait the busy timeout; a server that is down answers at once, so this keeps the retries from spinning)
BUSY_RETRY_S = 2.0

Job = Callable[[], object]


class Lanes(Protocol):
    """Where a :class:`BackgroundCall`'s steps run. Both methods queue the job and return at once."""

    def compute(self, job: Job) -> None:
        """Run ``job`` on a worker thread for slow CPU (never the GUI thread, not the storage writer)."""

    def write(self, job: Job) -> None:
        """Run ``job`` on the chair's storage writer thread, after what was queued before it."""


class Inline:
    """Lanes that run each job at once on the calling thread (no chair runtime: tests and tools)."""

    inline = True

    def compute(self, job: Job) -> None:
        job()

    def write(self, job: Job) -> None:
        job()


class Lane(StrEnum):
    COMPUTE = "compute"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class Step:
    """One piece of an intent's work: ``run(previous_value) -> value``, on ``lane``."""

    lane: Lane
    run: Callable[[Any], Any]


class State(StrEnum):
    RUNNING = "running"
    BUSY = "busy"        # the record refused for now; tried again after BUSY_RETRY_S
    DONE = "done"
    FAILED = "failed"


class BackgroundCall:
    """The storage work of one intent (see the module docstring). Thread-safe: the lanes run the steps, the
    caller's thread polls."""

    def __init__(self, name: str, steps: Sequence[Step], lanes: Lanes, *,
                 monotonic: Callable[[], float] = time.monotonic, retry_busy: bool = True) -> None:
        if not steps:
            raise ValueError("a background call needs at least one step")
        self.name = name
        self._steps = tuple(steps)
        self._lanes = lanes
        self._monotonic = monotonic
        #: a busy record ends the call (inline lanes; a caller with its own retry schedule)
        self._ends_on_busy = bool(getattr(lanes, "inline", False)) or not retry_busy
        self._lock = threading.Lock()
        self._step = 0
        self._value: Any = None
        self._state = State.RUNNING
        self._error: BaseException | None = None
        self._busy_since = 0.0
        #: how many times a step was handed to a lane (a retry after a busy record counts again)
        self.attempts = 0
        #: the thread each step last ran on, by step number (tests check no write ran on the GUI thread)
        self.threads: dict[int, str] = {}

    # ---------------------------------------------------------------------------------------- caller's side
    def start(self) -> BackgroundCall:
        """Hand the first step to its lane; returns at once (unless the lanes are :class:`Inline`)."""
        self._submit()
        return self

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    @property
    def error(self) -> BaseException | None:
        """The last failure (also while :attr:`State.BUSY`: the record's words for why it is busy)."""
        with self._lock:
            return self._error

    @property
    def value(self) -> Any:
        """What the last step returned (once :attr:`State.DONE`)."""
        with self._lock:
            return self._value

    def poll(self) -> State:
        """The call's state now; a busy step whose pause is over is handed to its lane again."""
        with self._lock:
            state = self._state
            retry = state is State.BUSY and self._monotonic() - self._busy_since >= BUSY_RETRY_S
            if retry:
                self._state = State.RUNNING
        if retry:
            self._submit()
            return self.state
        return state

    # ---------------------------------------------------------------------------------------- the lanes' side
    def _submit(self) -> None:
        with self._lock:
            step = self._steps[self._step]
            self.attempts += 1
        submit = self._lanes.compute if step.lane is Lane.COMPUTE else self._lanes.write
        try:
            submit(self._run)
        except RuntimeError as exc:  # the writer was closed (the console is shutting down): nothing was written
            self._end(State.FAILED, exc)

    def _run(self) -> None:
        with self._lock:
            index, value = self._step, self._value
        self.threads[index] = threading.current_thread().name
        try:
            result = self._steps[index].run(value)
        except Exception as exc:  # noqa: BLE001 - every failure is handed back to the caller as a message
            busy = classify(exc) == STORAGE and not self._ends_on_busy
            self._end(State.BUSY if busy else State.FAILED, exc)
            return
        with self._lock:
            self._value = result
            self._error = None
            self._step = index + 1
            last = self._step == len(self._steps)
            if last:
                self._state = State.DONE
        if not last:
            self._submit()

    def _end(self, state: State, exc: BaseException) -> None:
        with self._lock:
            self._state = state
            self._error = exc
            self._busy_since = self._monotonic()

"""Background jobs of the review UI (verify, export) run in a QThread, never in a plain Python thread.

A :class:`Job` lives in its own :class:`QThread` (``moveToThread``), so its signals are emitted from a QObject
living in that thread (PySide6 >= 6.8 can crash on signals emitted from plain Python threads). The owner keeps
the :class:`JobRunner` and calls :meth:`JobRunner.stop_all` when it closes: a job cannot be interrupted in the
middle of a database call, so stopping waits for it to end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from console.record.errors import RecordError


def plain_error(err: BaseException) -> str:
    """A message a person can act on (no traceback)."""
    if isinstance(err, RecordError):
        return str(err)
    if isinstance(err, OSError):
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return f"{err.strerror or err}{where}"
    if isinstance(err, KeyError):
        return str(err.args[0]) if err.args else "unknown key"
    return f"{type(err).__name__}: {err}"


class Job(QObject):
    """Runs ``fn(progress)`` once in its thread; ``progress(done, total, what)`` emits :attr:`progress`."""

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    ended = Signal()

    def __init__(self, fn: Callable[[Callable[[int, int, str], None]], Any]) -> None:
        super().__init__()
        self._fn = fn

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(lambda done, total, what: self.progress.emit(int(done), int(total), str(what)))
        except Exception as err:  # noqa: BLE001 - shown to the user plainly; the window stays usable
            self.failed.emit(plain_error(err))
        else:
            self.succeeded.emit(result)
        finally:
            self.ended.emit()


class JobRunner(QObject):
    """Starts jobs in threads and keeps them until they end; :meth:`stop_all` waits for running ones."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: list[tuple[QThread, Job]] = []

    def start(
        self,
        fn: Callable[[Callable[[int, int, str], None]], Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> Job:
        thread = QThread()
        job = Job(fn)
        job.moveToThread(thread)
        if on_success is not None:
            job.succeeded.connect(on_success)
        if on_failure is not None:
            job.failed.connect(on_failure)
        if on_progress is not None:
            job.progress.connect(on_progress)
        thread.started.connect(job.run)
        job.ended.connect(thread.quit)
        # a slot of this QObject (main thread), so the thread is forgotten in the GUI thread once it has ended
        thread.finished.connect(self._forget)
        self._running.append((thread, job))
        thread.start()
        return job

    @Slot()
    def _forget(self) -> None:
        # dropping the last Python references deletes thread and job (the thread has finished)
        self._running = [(t, j) for t, j in self._running if t.isRunning() or not t.isFinished()]

    @property
    def busy(self) -> bool:
        return any(t.isRunning() for t, _ in self._running)

    def stop_all(self) -> None:
        """Wait for every running job to end and its thread to stop."""
        running, self._running = self._running, []
        for thread, job in running:
            # results arriving after the window closed have nobody to show them to
            job.blockSignals(True)
            thread.quit()
            thread.wait()

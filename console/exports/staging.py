"""Exports are audited first: the files of an export are written under temporary names in their target
folder and renamed only after the export's audit row is committed (issue 10, item 7).

:func:`staged` opens a stage for the duration of one export; :func:`console.exports._common.atomic_path`,
which every writer uses, hands out temporary paths from it instead of renaming at once. On success the caller
commits the audit row and then :meth:`Stage.commit` renames the files; on any failure (a writer error, a
locked database refusing the audit row, a cancelled progress callback) :meth:`Stage.discard` removes every
temporary file, so a failed export leaves no file and no half file behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_STAGE: contextvars.ContextVar[Stage | None] = contextvars.ContextVar("chairside_export_stage", default=None)


class Stage:
    """The temporary files of one export and the paths they become."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path | None]] = []  # (temporary, target; None = standard output)

    @property
    def targets(self) -> list[str]:
        return ["-" if out is None else str(out) for _, out in self._files]

    @contextlib.contextmanager
    def path_for(self, out: Path, *, allow_stdout: bool = False) -> Iterator[Path]:
        """A temporary path for ``out`` (in its folder, hidden name ending ``.tmp``), kept for :meth:`commit`
        when the block ends normally and removed when it raises."""
        if str(out) == "-":
            if not allow_stdout:
                raise OSError(errno.EINVAL, "this format cannot be written to standard output; give a file path")
            fd, name = tempfile.mkstemp(prefix="chairside-export-", suffix=".tmp")
            target: Path | None = None
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="." + out.name + ".", suffix=".tmp", dir=out.parent)
            target = out
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._files.append((tmp, target))

    def commit(self) -> None:
        """Rename every staged file to its target (standard output: copy it there)."""
        for tmp, out in self._files:
            if out is None:
                with tmp.open("rb") as f:
                    sys.stdout.flush()
                    shutil.copyfileobj(f, sys.stdout.buffer)
                    sys.stdout.flush()
                tmp.unlink(missing_ok=True)
            else:
                os.replace(tmp, out)
        self._files.clear()

    def discard(self) -> None:
        """Remove every staged file (the targets are left as they were)."""
        for tmp, _ in self._files:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self._files.clear()


def current_stage() -> Stage | None:
    """The stage of the export running in this thread, if any."""
    return _STAGE.get()


@contextlib.contextmanager
def staged() -> Iterator[Stage]:
    """Run an export's writers with their renames held back; the caller commits (after its audit row) or the
    stage is discarded when the block raises or ends without a commit."""
    stage = Stage()
    token = _STAGE.set(stage)
    try:
        yield stage
    finally:
        _STAGE.reset(token)
        stage.discard()  # nothing left after a commit; everything after a failure

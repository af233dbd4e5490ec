"""Exports of a saved Chairside session (no Qt): PDF report, CSV, FHIR R4, EDF+, VitalDB, JSON and the REMS form.

**One registry, one entry point.** Every format is one module here defining
``write(record, out, db=None, progress=None)`` and one :func:`register` call below (name, title, file suffix,
module, optional dependency). The command line (``chairside export --format``) and the review window's
Export menu both list :func:`formats`; both export through :func:`export_session`::

    from console.exports import export_session, formats
    export_session(db, session_id, "pdf", Path("session-12.pdf"), progress=lambda done, total, what: ...,
                   exported_by=user)

A new format elsewhere (a site's own) registers the same way: ``register(ExportFormat("x", "X file", ".x",
"mypackage.x_export"))``; it then appears in the CLI and the review window.

Every format starts from the same document (:func:`console.record.exporting.build_record`: session, patient,
entries, integrity check) and reads vitals through ``Database.numerics``/``Database.waves``. **Exports are
audited first:** the writers write under temporary names in the target folder, the audit row is committed, and
only then are the files renamed (:mod:`console.exports.staging`); a failed export (locked database, bad path,
damaged record, cancelled) leaves no file and no temporary file. A damaged record gives
:class:`RecordDamaged` (one line, never a traceback). Every export of a DEMO session says DEMO; an export of a
session that fails verification says so prominently.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc

from console.exports._common import ExportError, Progress
from console.exports.staging import staged
from console.record.errors import RecordError

if TYPE_CHECKING:
    from console.record.database import Database
    from console.record.records import UserContext

Writer = Callable[..., None]


class RecordDamaged(ExportError):
    """The session's stored record cannot be read (an unreadable entry, a damaged database file); the message
    names what. Nothing was written."""


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format: ``name`` (``--format``), ``title`` (the review window's menu), the usual file
    ``suffix``, the ``module`` and ``function`` that write it, and ``requires``: an optional package it needs
    (without it the format is still listed and exporting says which package to install)."""

    name: str
    title: str
    suffix: str
    module: str
    function: str = "write"
    requires: str | None = None

    def writer(self) -> Writer:
        """The format's writer; :class:`ExportError` when an optional package it needs is missing."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            raise ExportError(f"the {self.name} export needs the Python package {self.requires!r}, which is not "
                              "installed")
        return getattr(importlib.import_module(self.module), self.function)  # type: ignore[no-any-return]


#: every export format by name, in registration order (add one with :func:`register`, not by assignment)
FORMATS: dict[str, ExportFormat] = {}


def register(fmt: ExportFormat, *, replace: bool = False) -> ExportFormat:
    """Add a format (``ValueError`` if its name is taken, unless ``replace``); returns it."""
    if not fmt.name or not fmt.name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"an export format name is letters, digits, - and _: {fmt.name!r}")
    if fmt.name in FORMATS and not replace:
        raise ValueError(f"export format {fmt.name!r} is already registered")
    FORMATS[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    """Remove a format (tests, plug-ins being unloaded)."""
    FORMATS.pop(name, None)


def formats() -> list[ExportFormat]:
    """Every registered format, in registration order."""
    return list(FORMATS.values())


def get(name: str) -> ExportFormat:
    """The format called ``name``; ``KeyError`` naming the known ones."""
    f = FORMATS.get(name)
    if f is None:
        raise KeyError(f"unknown export format {name!r}; available: {', '.join(FORMATS)}")
    return f


def writer_for(name: str) -> Writer:
    """The ``write(record, out, db, progress=None)`` of a format (``KeyError`` for an unknown one)."""
    return get(name).writer()


for _f in (
    ExportFormat("pdf", "PDF report", ".pdf", "console.exports.pdf"),
    ExportFormat("csv", "CSV (zip)", ".zip", "console.exports.csv_export"),
    ExportFormat("fhir", "FHIR R4 bundle", ".json", "console.exports.fhir"),
    ExportFormat("edf", "EDF+ waveforms", ".edf", "console.exports.edf"),
    ExportFormat("vital", "VitalDB .vital", ".vital", "console.exports.vital"),
    ExportFormat("json", "JSON record", ".json", "console.exports.json_record"),
    ExportFormat("rems", "REMS form", ".json", "console.exports.rems"),
):
    register(_f)


def export_session(
    db: Database,
    session_id: int,
    fmt: str,
    out_path: Path | str,
    progress: Progress | None = None,
    *,
    exported_by: UserContext | None = None,
) -> dict[str, Any]:
    """Export one session in ``fmt`` to ``out_path`` (``-``: standard output, JSON only); returns the record
    the export was made from.

    The files are written under temporary names, the audit row is committed, then they are renamed: the file
    appears only once the audit trail says it was exported. ``progress(done, total, what)`` is called along
    the way (from this thread); an exception raised by it cancels the export and propagates as it is. Raises
    ``KeyError`` for an unknown format, :class:`~console.record.errors.NotFound` for an unknown session,
    :class:`~console.record.errors.StorageUnavailable` when the database cannot be read or the audit row
    written, :class:`RecordDamaged` for a record that cannot be read, :class:`ExportError` when the format
    cannot represent this session, and ``OSError`` when the file cannot be written. In every failure case no
    file (and no temporary file) is left and the target is untouched.
    """
    spec = get(fmt)
    writer = spec.writer()
    out = Path(out_path)
    cancelled: list[BaseException] = []

    def report(done: int, total: int, what: str) -> None:
        if progress is not None:
            try:
                progress(done, total, what)
            except BaseException as err:
                cancelled.append(err)
                raise

    report(0, 1, "reading the record")
    with _damage_as_error(session_id, cancelled):
        from console.record.exporting import build_record

        record = build_record(db, session_id, exported_by)
    with staged() as stage, _damage_as_error(session_id, cancelled):
        writer(record, out, db, progress=report if progress is not None else None)
        _audit(db, session_id, spec.name, out, exported_by)  # committed before any file appears
        try:
            stage.commit()
        except OSError as err:  # the rename failed after the audit row: say so in the trail too
            with contextlib.suppress(RecordError):
                _audit(db, session_id, spec.name, out, exported_by,
                       note=f"NOT WRITTEN: the file could not be put in place ({err.strerror or err})")
            raise
    return record


@contextlib.contextmanager
def _damage_as_error(session_id: int, cancelled: list[BaseException]) -> Iterator[None]:
    """Turn what a damaged record makes the readers and writers raise into one named error (never a
    traceback); a cancel from the progress callback, record errors and file errors pass unchanged."""
    try:
        yield
    except (RecordError, OSError):
        raise
    except Exception as err:
        if cancelled and err is cancelled[0]:
            raise
        if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)):
            raise RecordDamaged(f"session {session_id} cannot be exported: an entry's stored data is not "
                                f"readable ({type(err).__name__}: {err}); run chairside verify") from err
        if isinstance(err, sa_exc.DBAPIError):
            first = str(err.orig or err).strip().splitlines()[0] if str(err.orig or err).strip() else ""
            raise RecordDamaged(f"session {session_id} cannot be exported: the record database is damaged "
                                f"({first}); run chairside verify") from err
        raise ExportError(f"session {session_id} could not be exported: the stored record has data this "
                          f"export cannot read ({type(err).__name__}: {err})") from err


def _audit(db: Database, session_id: int, fmt: str, out: Path, exported_by: UserContext | None,
           note: str = "") -> None:
    from sqlalchemy.orm import Session as OrmSession

    from console.record.guard import storage_guard
    from console.record.service import audit

    detail = f"format {fmt} to {out}" + (f"; {note}" if note else "")
    with storage_guard(), OrmSession(db.write_engine) as s, s.begin():
        audit(s, exported_by or db.system_user(), "export", f"session {session_id}", detail=detail)


__all__ = ["FORMATS", "ExportError", "ExportFormat", "Progress", "RecordDamaged", "export_session", "formats",
           "get", "register", "unregister", "writer_for"]

"""Exports of a saved Chairside session (no Qt): PDF report, CSV, FHIR R4, EDF+, VitalDB and the REMS form.

Entry point for the review UI::

    from console.exports import export_session, FORMATS
    export_session(db, session_id, "pdf", Path("session-12.pdf"), progress=lambda done, total, what: ...)

Every format starts from the same document as the JSON export (:func:`console.record.exporting.build_record`:
session, patient, entries, integrity check) and reads vitals through ``Database.numerics``/``Database.waves``.
Each writer writes to a temporary file next to the target and renames it when complete, so a failure never
leaves half a file. Every export of a DEMO session says DEMO; an export of a session that fails verification
says so prominently.

The command line (``chairside export SESSION --format pdf|csv|fhir|edf|vital|rems``) finds these writers
through :mod:`console.record.exporting`: a module here named like the format defines
``write(record, out, db)``; ``csv`` lives in :mod:`.csv_export` (the name ``csv`` would read like the standard
library module) and is registered with :func:`console.record.exporting.register_format` when this package is
imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.record.exporting import build_record, register_format

if TYPE_CHECKING:
    from console.record.database import Database
    from console.record.records import UserContext

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format: its writer module, what it produces and the usual file name ending."""

    name: str
    module: str
    description: str
    suffix: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("pdf", "console.exports.pdf", "session report for the chart (PDF)", ".pdf"),
        ExportFormat(
            "csv",
            "console.exports.csv_export",
            "numerics at 1 Hz and the entries (zip of two CSV files)",
            ".zip",
        ),
        ExportFormat("fhir", "console.exports.fhir", "FHIR R4 Bundle (JSON)", ".json"),
        ExportFormat("edf", "console.exports.edf", "EDF+ waveforms with event annotations", ".edf"),
        ExportFormat("vital", "console.exports.vital", "VitalDB .vital file (waves and numerics)", ".vital"),
        ExportFormat(
            "rems", "console.exports.rems", "esketamine REMS patient monitoring form (JSON)", ".json"
        ),
    )
}

for _f in FORMATS.values():
    register_format(_f.name, f"{_f.module}:write")


def writer_for(fmt: str) -> Callable[..., None]:
    """The ``write(record, out, db, progress=None)`` of a format; ``KeyError`` naming the known ones."""
    f = FORMATS.get(fmt)
    if f is None:
        raise KeyError(f"unknown export format {fmt!r}; available: {', '.join(FORMATS)}")
    return importlib.import_module(f.module).write  # type: ignore[no-any-return]


def export_session(
    db: Database,
    session_id: int,
    fmt: str,
    out_path: Path | str,
    progress: Progress | None = None,
    *,
    exported_by: UserContext | None = None,
) -> dict[str, Any]:
    """Export one session in ``fmt`` to ``out_path``; returns the record the export was made from.

    ``progress(done, total, what)`` is called along the way (from this thread); an exception raised by it
    cancels the export (it propagates, and nothing is written). The export is written atomically and
    recorded in the audit trail. Raises ``KeyError`` for an unknown format,
    :class:`~console.record.errors.NotFound` for an unknown session and ``OSError`` when the file cannot
    be written (the target is then untouched).
    """
    writer = writer_for(fmt)
    out = Path(out_path)
    if progress is not None:
        progress(0, 1, "reading the record")
    record = build_record(db, session_id, exported_by)
    writer(record, out, db, progress=progress)
    _audit(db, session_id, fmt, out, exported_by)
    return record


def _audit(db: Database, session_id: int, fmt: str, out: Path, exported_by: UserContext | None) -> None:
    from sqlalchemy.orm import Session as OrmSession

    from console.record.guard import storage_guard
    from console.record.service import audit

    with storage_guard(), OrmSession(db.write_engine) as s, s.begin():
        audit(
            s,
            exported_by or db.system_user(),
            "export",
            f"session {session_id}",
            detail=f"format {fmt} to {out}",
        )


__all__ = ["FORMATS", "ExportFormat", "Progress", "export_session", "writer_for"]

"""JSON export: the complete record exactly as :func:`console.record.exporting.build_record` builds it
(session, patient, every entry with its hashes, vitals summary, integrity check), indented UTF-8. The one
format that may go to standard output (``--out -``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.exports._common import Progress, ProgressReporter, atomic_path

if TYPE_CHECKING:
    from console.record.database import Database


def write(record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None) -> None:
    """Write ``record`` as JSON to ``out`` (``-``: standard output)."""
    rep = ProgressReporter(progress, 1)
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    with atomic_path(Path(out), allow_stdout=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    rep.finish("JSON written")

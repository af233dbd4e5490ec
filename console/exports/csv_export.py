"""CSV export: the numerics at 1 Hz (one column per parameter) and the record entries.

``--out`` rules:

* a path ending in ``.csv`` writes two files: the numerics to that path and the entries next to it as
  ``<name>-entries.csv`` (each written atomically);
* any other path (``session-12.zip``) writes one zip holding ``session-<id>-numerics.csv`` and
  ``session-<id>-entries.csv``; this is the default choice because one file is written (and replaced) as a
  whole.

Numerics file: ``#`` comment lines first (session, patient code, DEMO, integrity failure, the MDC code of each
column), then a header ``utc, local, elapsed_s, <label> (<unit>), ...`` and one row per second that has at
least one value (a second with none is left out, so gaps show as jumps in time, never as invented rows).
A cell is empty when the monitor sent no usable value that second; NIBP columns hold a value only in the
second a measurement finished. Times: ``utc`` ISO 8601 with ``Z``, ``local`` ISO 8601 with the UTC offset of
the exporting machine, ``elapsed_s`` seconds since the session started.

Entries file: the same ``#`` comments, then one row per entry in record order, amendments included (with
``amends`` naming the corrected entry), each with a one-line summary and its data as JSON.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.exports._common import (
    DEMO_TEXT,
    INTEGRITY_FAILED_TEXT,
    EntryView,
    Progress,
    ProgressReporter,
    SessionData,
    atomic_path,
    entry_text,
    epoch,
    iso_local,
    iso_utc,
)

if TYPE_CHECKING:
    from console.record.database import Database


def _comments(data: SessionData, what: str) -> list[str]:
    s = data.session
    lines = [
        (f"# Chairside session {data.session_id} {what}; patient {data.patient.get('code', '')}; "
        f"protocol {s.get('protocol_id', '')} version {s.get('protocol_version', '')}; "
        f"chair {s.get('chair', '')}; status {s.get('status', '')}")
    ]
    if data.demo:
        lines.insert(0, f"# {DEMO_TEXT}")
    lines.append(f"# integrity: {data.integrity_summary}")
    if not data.integrity_ok:
        lines.insert(0, f"# {INTEGRITY_FAILED_TEXT}")
    return lines


def numerics_csv(data: SessionData) -> str:
    """The numerics file's text (see the module docstring)."""
    codes = data.numeric_codes()
    out = io.StringIO()
    for line in _comments(data, "numerics at 1 Hz"):
        out.write(line + "\n")
    names = [f"{data.trends[c].label} ({data.trends[c].unit})" for c in codes]
    out.write("# mdc codes: " + ", ".join(f"{n}={c}" for n, c in zip(names, codes)) + "\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["utc", "local", "elapsed_s", *names])
    if codes:
        seconds = np.unique(np.concatenate([data.trends[c].t for c in codes]))
        cols = []
        for c in codes:
            col = np.full(seconds.shape[0], np.nan)
            tr = data.trends[c]
            col[np.searchsorted(seconds, tr.t)] = tr.value
            cols.append(col)
        start = data.started if data.started is not None else float(seconds[0])
        for i, t in enumerate(seconds):
            t = float(t)
            w.writerow(
                [
                    iso_utc(t),
                    iso_local(t),
                    f"{t - start:.0f}",
                    *("" if np.isnan(col[i]) else f"{col[i]:g}" for col in cols),
                ]
            )
    return out.getvalue()


def entries_csv(data: SessionData) -> str:
    """The entries file's text: every stored entry in record order, amendments as their own rows."""
    out = io.StringIO()
    for line in _comments(data, "record entries"):
        out.write(line + "\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "seq",
            "kind",
            "at_utc",
            "at_local",
            "entered_at_utc",
            "user",
            "role",
            "late",
            "amends",
            "summary",
            "data_json",
            "hash",
        ]
    )
    for e in sorted(data.record.get("entries") or [], key=lambda e: e.get("seq", 0)):
        at, entered = epoch(e.get("at")), epoch(e.get("entered_at"))
        d = e.get("data") if isinstance(e.get("data"), dict) else {}
        view = EntryView(e)
        if e.get("kind") == "amendment":
            inner = EntryView({"kind": d.get("original_kind", ""), "data": d.get("data") or {}})
            summary = f"Amendment ({d.get('reason', '')}): {entry_text(inner)}"
        else:
            summary = entry_text(view)
        w.writerow(
            [
                e.get("seq"),
                e.get("kind"),
                iso_utc(at) if at else "",
                iso_local(at) if at else "",
                iso_utc(entered) if entered else "",
                e.get("user", ""),
                e.get("role", ""),
                "yes" if e.get("late") else "no",
                e.get("amends") or "",
                summary,
                json.dumps(d, ensure_ascii=False, sort_keys=True),
                e.get("hash", ""),
            ]
        )
    return out.getvalue()


def entries_path_for(out: Path) -> Path:
    """Where the entries go when ``out`` is a ``.csv`` path."""
    return out.with_name(out.stem + "-entries.csv")


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the CSV export of ``record`` to ``out`` (a zip, or two files for a ``.csv`` path)."""
    rep = ProgressReporter(progress, 4)
    data = SessionData(record, db)
    rep.step("numerics read")
    numerics = numerics_csv(data)
    rep.step("numerics formatted")
    entries = entries_csv(data)
    rep.step("entries formatted")
    out = Path(out)
    if out.suffix.lower() == ".csv":
        with atomic_path(out) as tmp:
            tmp.write_text(numerics, encoding="utf-8")
        with atomic_path(entries_path_for(out)) as tmp:
            tmp.write_text(entries, encoding="utf-8")
    else:
        sid = data.session_id
        with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"session-{sid}-numerics.csv", numerics)
            z.writestr(f"session-{sid}-entries.csv", entries)
    rep.finish("CSV written")

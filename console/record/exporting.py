"""Exports of one session's complete record, with a format registry others extend.

:func:`build_record` assembles the complete record as plain JSON-ready data (session, patient, entries,
vitals summary, integrity check); every format writes from it. ``json`` is built in. Another format is added
either by :func:`register_format` or, with no edit here, by a module ``console.exports.<name>`` that defines
``write(record: dict, out: pathlib.Path, db: Database) -> None`` (``db`` gives the waveforms and numerics
for formats that carry them, e.g. EDF or VitalDB; see ``Database.waves``/``Database.numerics``).
A DEMO session says so at the top of every export (``demo: true`` and a ``banner``).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console import __version__
from console.clinical.amendments import effective_json
from console.record.database import Database
from console.record.records import UserContext
from console.record.timeutil import iso, utcnow

Writer = Callable[[dict[str, Any], Path, Database], None]
DEMO_BANNER = "DEMO - simulated or demonstration session, not a patient record"
FORMAT_NAME = "chairside-session-record"
FORMAT_VERSION = 1

_REGISTRY: dict[str, Writer | str] = {"json": "console.record.exporting:write_json"}


def register_format(name: str, writer: Writer | str) -> None:
    """Add or replace an export format (a writer function or ``"module:function"``)."""
    _REGISTRY[name] = writer


def _load_plugins() -> list[str]:
    """Import ``console.exports`` (which may register formats) and list its public module names."""
    try:
        pkg = importlib.import_module("console.exports")
    except ModuleNotFoundError as err:
        if err.name not in ("console.exports",):
            raise
        return []
    return [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]


def available_formats() -> list[str]:
    """Registered formats plus modules under ``console.exports`` that no registered format already uses."""
    modules = _load_plugins()
    used = {t.partition(":")[0] for t in _REGISTRY.values() if isinstance(t, str)}
    names = set(_REGISTRY) | {m for m in modules if f"console.exports.{m}" not in used}
    return sorted(names)


def get_writer(name: str) -> Writer:
    """The writer of a format; ``KeyError`` with the known names when there is none."""
    modules = _load_plugins()
    target = _REGISTRY.get(name)
    if target is None:
        if name not in modules:
            raise KeyError(f"unknown export format {name!r}; available: {', '.join(available_formats())}")
        module = importlib.import_module(f"console.exports.{name}")
        return module.write  # type: ignore[no-any-return]
    if isinstance(target, str):
        mod, _, func = target.partition(":")
        try:
            return getattr(importlib.import_module(mod), func)  # type: ignore[no-any-return]
        except (ModuleNotFoundError, AttributeError) as err:
            if isinstance(err, ModuleNotFoundError) and err.name != mod:
                raise  # the writer exists but a library it needs is missing: let that show
            raise KeyError(f"export format {name!r} is not built into this copy of Chairside ({target} is "
                           f"missing)") from err
    return target


def build_record(db: Database, session_id: int, exported_by: UserContext | None = None) -> dict[str, Any]:
    """The complete record of one session as JSON-ready data (times as UTC ISO text)."""
    svc = db.service(exported_by or db.system_user())
    info = svc.session(session_id)
    patient = svc.patient(info.patient_id)
    entries = svc.entries(session_id)
    check = db.verify(session_id, actor=exported_by)
    record: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "demo": info.demo,
        "exported_at": iso(utcnow()),
        "exported_by": (exported_by or db.system_user()).username,
        "generator": f"chairside {__version__}",
        "session": {
            "id": info.id, "status": info.display_status, "demo": info.demo, "protocol_id": info.protocol_id,
            "protocol_version": info.protocol_version, "chair": info.chair, "devices": info.devices,
            "details": info.details, "started_at": iso(info.started_at), "started_by": info.started_by,
            "ended_at": iso(info.ended_at) if info.ended_at else None, "entry_count": info.entry_count,
        },
        "patient": {
            "id": patient.id, "code": patient.code, "name": patient.name,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "sex": patient.sex, "weight_kg": patient.weight_kg, "demo": patient.demo,
        },
        "entries": [{
            "id": e.id, "seq": e.seq, "kind": e.kind, "at": iso(e.at), "entered_at": iso(e.entered_at),
            "user": e.username, "user_id": e.user_id, "role": e.role, "data": e.data, "amends": e.amends,
            "late": e.late, "prev_hash": e.prev_hash, "hash": e.hash,
        } for e in entries],
        "vitals_summary": db.vitals_summary(session_id),
        "integrity": {"ok": check.ok, "summary": check.summary(), "head_hash": info.head_hash,
                      "problems": check.as_dict()["problems"]},
    }
    # the record as corrected, computed by the one function every reader uses (entries above stay as stored)
    record["effective_entries"] = effective_json(entries)
    if info.demo:
        record = {"banner": DEMO_BANNER, **record}
    return record


def write_json(record: dict[str, Any], out: Path, db: Database) -> None:
    """The record as indented UTF-8 JSON, written atomically (a reader never sees half a file)."""
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    if str(out) == "-":
        import sys

        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_session(db: Database, session_id: int, fmt: str, out: Path,
                   exported_by: UserContext | None = None) -> dict[str, Any]:
    """Build the record and write it in format ``fmt``; returns the record."""
    writer = get_writer(fmt)
    record = build_record(db, session_id, exported_by)
    writer(record, out, db)
    from sqlalchemy.orm import Session as OrmSession

    from console.record.guard import storage_guard
    from console.record.service import audit

    with storage_guard(), OrmSession(db.write_engine) as s, s.begin():
        audit(s, exported_by or db.system_user(), "export", f"session {session_id}",
              detail=f"format {fmt} to {out}")
    return record

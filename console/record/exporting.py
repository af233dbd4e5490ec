"""The complete record of one session as plain JSON-ready data, the document every export format writes from.

:func:`build_record` assembles it (session, patient, entries, vitals summary, integrity check; times as UTC
ISO text). The formats themselves, their one registry and the one ``export_session`` live in
:mod:`console.exports`. A DEMO session says so at the top of every export (``demo: true`` and a ``banner``).
"""

from __future__ import annotations

from typing import Any

from console import __version__
from console.clinical.amendments import effective_json
from console.record.database import Database
from console.record.records import UserContext
from console.record.timeutil import iso, utcnow

DEMO_BANNER = "DEMO - simulated or demonstration session, not a patient record"
FORMAT_NAME = "chairside-session-record"
FORMAT_VERSION = 1


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

"""Esketamine REMS patient monitoring form as JSON (``--format rems``), filled by
:mod:`console.clinical.rems`.

The fields come from the session's entries (pre-checks, nasal devices, discharge, observations, side effects)
and the stored NIBP measurements; the patient from the record; the monitoring provider and the healthcare
setting from the session's ``details`` (``provider``: name/phone/email, ``setting``: name/address) when the
console recorded them. Whatever is still empty is listed under ``missing`` so the clinician completes it
before submitting (the form is due within 7 days). Only esketamine sessions have this form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.clinical.rems import REMS_FIELDS, RemsForm, fill_rems
from console.exports._common import (
    DEMO_TEXT,
    INTEGRITY_FAILED_TEXT,
    ExportError,
    Progress,
    ProgressReporter,
    SessionData,
    atomic_path,
)

if TYPE_CHECKING:
    from console.record.database import Database

FORM_NAME = "esketamine-rems-patient-monitoring-form"


def fill(data: SessionData) -> RemsForm:
    """The REMS form of a session (amended entries count as corrected)."""
    entries = [{"kind": e.kind, "at": e.raw.get("at"), "data": e.data} for e in data.entries]
    details = data.details
    provider = details.get("provider") if isinstance(details.get("provider"), dict) else None
    setting = details.get("setting") if isinstance(details.get("setting"), dict) else None
    bp = [(t, s, d) for t, s, d, _ in data.nibp_readings()]
    return fill_rems(entries, patient=data.patient, provider=provider, setting=setting, bp_readings=bp)


def form_document(data: SessionData, form: RemsForm) -> dict[str, Any]:
    """The JSON document: every field with label, required flag and value, then what is missing."""
    doc: dict[str, Any] = {
        "format": FORM_NAME,
        "session": data.session_id,
        "demo": data.demo,
        "integrity": {"ok": data.integrity_ok, "summary": data.integrity_summary},
        "complete": form.complete,
        "missing": list(form.missing),
        "fields": [
            {"key": k, "label": label, "required": req, "value": form.values.get(k)}
            for k, label, req in REMS_FIELDS
        ],
    }
    banners = ([DEMO_TEXT] if data.demo else []) + ([] if data.integrity_ok else [INTEGRITY_FAILED_TEXT])
    if banners:
        doc = {"banner": " / ".join(banners), **doc}
    return doc


def write(
    record: dict[str, Any], out: Path, db: Database | None = None, progress: Progress | None = None
) -> None:
    """Write the REMS form of an esketamine session as JSON (``-``: standard output)."""
    rep = ProgressReporter(progress, 3)
    data = SessionData(record, db)
    if not data.is_esketamine:
        raise ExportError(
            f"session {data.session_id} is not an esketamine session "
            f"(protocol {data.session.get('protocol_id', '?')}): it has no REMS form"
        )
    rep.step("record read")
    text = json.dumps(form_document(data, fill(data)), indent=2, ensure_ascii=False) + "\n"
    rep.step("form filled")
    if str(out) == "-":
        import sys

        sys.stdout.write(text)
    else:
        with atomic_path(Path(out)) as tmp:
            tmp.write_text(text, encoding="utf-8")
    rep.finish("REMS form written")

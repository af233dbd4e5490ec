"""The hash chain of a session's entries, and its verification.

Chain: the session header (who started which protocol for which patient, when, with which devices and dose
details) is hashed first; entry 1 links to that header hash, entry n to entry n-1's hash. Each hash is
SHA-256 over the canonical JSON (:mod:`console.record.canonical`) of the entry's fields plus the previous
hash. The session row also keeps the head (last seq and hash) so that deleting the last entries is noticed.
A signature entry's data carries a *seal*: the hash of the chain head it signs, the signer, the meaning and
the time, so a signature belongs to exactly one record state and cannot be copied to another.

Verification recomputes all of it from the stored rows and names the first entry that does not match:
``changed`` (content differs from its hash, or the header/seal does), ``missing`` (a sequence gap, an entry
gone from the end, a link to nothing) or ``reordered`` (an entry links to a hash that exists in the chain,
but not to its predecessor's).
"""

from __future__ import annotations

import json
from typing import Any

from console.record.canonical import ZERO_HASH, canonical_json, chain_hash, sha256_hex
from console.record.records import Problem
from console.record.timeutil import iso

#: header format of new sessions. 1: the fields below; 2: also the snapshot of the patient's details and of
#: the starting user as they were at the start (``header_snapshot_json``), so a later change of the
#: ``patients`` or ``users`` row is detected and readers can show the at-the-time values.
HEADER_VERSION = 2
#: entry kinds allowed after a session's first signature (anything else was slipped in after sign-off)
AFTER_SIGNATURE_KINDS = frozenset({"amendment", "signature", "checkpoint"})


def header_snapshot(patient: Any, user: Any) -> dict[str, Any]:
    """The at-the-time view of a session's patient and starting user that version-2 headers carry."""
    return {
        "patient": {"id": patient.id, "code": patient.code, "name": patient.name,
                    "birth_date": None if patient.birth_date is None else patient.birth_date.isoformat(),
                    "sex": patient.sex, "weight_kg": patient.weight_kg, "demo": bool(patient.demo)},
        "started_by": {"id": user.id, "username": user.username, "full_name": user.full_name,
                       "role": user.role},
    }


def header_fields(session: Any) -> dict[str, Any]:
    """The hashed fields of a session header (a ``sessions`` row or an object with the same attributes)."""
    version = getattr(session, "header_version", 1) or 1
    fields = {
        "session_id": session.id,
        "patient_id": session.patient_id,
        "protocol_id": session.protocol_id,
        "protocol_version": session.protocol_version,
        "chair": session.chair,
        "devices": session.devices_json,
        "details": session.details_json,
        "demo": bool(session.demo),
        "started_at": iso(session.started_at),
        "started_by": session.started_by,
    }
    if version >= 2:
        fields["header_version"] = version
        fields["snapshot"] = session.header_snapshot_json
    return fields


def header_hash(session: Any) -> str:
    return chain_hash(header_fields(session), ZERO_HASH)


def entry_fields(entry: Any) -> dict[str, Any]:
    """The hashed fields of an entry row; ``data`` is the stored canonical text itself."""
    return {
        "id": entry.id,
        "session_id": entry.session_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "at": iso(entry.at),
        "entered_at": iso(entry.entered_at),
        "user_id": entry.user_id,
        "username": entry.username,
        "role": entry.role,
        "data": entry.data_json,
        "amends": entry.amends,
        "late": bool(entry.late),
        "client_id": entry.client_id,
    }


def entry_hash(entry: Any, prev_hash: str) -> str:
    return chain_hash(entry_fields(entry), prev_hash)


def audit_fields(row: Any) -> dict[str, Any]:
    """The hashed fields of an ``audit_log`` row. The id is left out: the chain order is the id order and
    each row names its predecessor's hash, so a deleted, inserted or moved row breaks a link anyway."""
    return {"at": iso(row.at), "user_id": row.user_id, "username": row.username, "role": row.role,
            "action": row.action, "target": row.target, "before": row.before_json,
            "after": row.after_json, "detail": row.detail}


def audit_hash(row: Any, prev_hash: str) -> str:
    return chain_hash(audit_fields(row), prev_hash)


def seal(chain_head: str, signer_id: int, signer_name: str, username: str, meaning: str,
         signed_at: str) -> str:
    """The seal of a signature: binds the signer and meaning to one exact chain state."""
    return sha256_hex(canonical_json({"chain_head": chain_head, "signer_id": signer_id,
                                      "signer_name": signer_name, "username": username,
                                      "meaning": meaning, "signed_at": signed_at}))


def verify_session(session: Any, entries: list[Any]) -> tuple[list[Problem], int]:
    """Problems in one session's chain (first one first) and the number of entries checked.

    ``entries`` are the stored rows in ascending ``seq`` order.
    """
    problems: list[Problem] = []
    sid = session.id

    def add(what: str, detail: str, e: Any | None = None) -> None:
        problems.append(Problem(sid, what, detail, e.id if e is not None else None,
                                e.seq if e is not None else None))

    expected_header = header_hash(session)
    if session.header_hash != expected_header:
        add("changed", "the session header (patient, protocol, chair, devices, dose details, start, or the "
                       "patient's and starting user's details at the start) differs from what was recorded "
                       "at its start")
    stored_hashes = {e.hash: e for e in entries}
    prev = session.header_hash
    expected_seq = 1
    signed_before = False
    for e in entries:
        if signed_before and e.kind not in AFTER_SIGNATURE_KINDS:
            add("inserted", f"a {e.kind} entry after the session was signed (after sign-off only amendments "
                            "and further signatures are accepted)", e)
        if e.seq != expected_seq:
            if e.seq > expected_seq:
                add("missing", f"entries #{expected_seq}..#{e.seq - 1} are missing before this one", e)
            else:
                add("reordered", f"sequence number {e.seq} repeats or goes back (expected {expected_seq})", e)
        if e.prev_hash != prev:
            other = stored_hashes.get(e.prev_hash)
            if other is not None and other is not e:
                add("reordered", f"it links to entry #{other.seq}, not to the entry before it", e)
            elif e.seq != expected_seq and e.seq > expected_seq:
                pass  # already reported as missing
            elif e.prev_hash == prev:
                pass
            else:
                add("missing", "it links to an entry that is not in the record (an entry before it was "
                               "deleted or its link altered)", e)
        if entry_hash(e, e.prev_hash) != e.hash:
            add("changed", "its content differs from what was recorded (hash mismatch)", e)
        if e.kind == "signature":
            try:
                d = json.loads(e.data_json)
                ok = d.get("seal") == seal(e.prev_hash, d["signer_id"], d["signer_name"], d["username"],
                                           d["meaning"], d["signed_at"])
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                add("changed", "the signature's seal does not match the record it signs", e)
        signed_before = signed_before or e.kind == "signature"
        prev = e.hash
        expected_seq = max(expected_seq, e.seq) + 1
    head_seq = session.head_seq
    if entries and entries[-1].seq < head_seq or (not entries and head_seq > 0):
        last = entries[-1].seq if entries else 0
        problems.append(Problem(sid, "missing", f"the record ends at entry #{last} but entry #{head_seq} "
                                                "was written (entries deleted from the end)", None, head_seq))
    elif entries and (entries[-1].seq != head_seq or entries[-1].hash != session.head_hash):
        add("changed", "the last entry is not the one recorded as the end of the chain", entries[-1])
    # a checkpoint may follow the last signature (vitals a recorder flushed after sign-off); nothing else
    clinical = [e for e in entries if e.kind != "checkpoint"]
    if session.status == "signed" and (not clinical or clinical[-1].kind != "signature"):
        problems.append(Problem(sid, "changed", "the session is marked signed but its chain does not end in a "
                                                "signature (status set outside the application)"))
    return problems, len(entries)

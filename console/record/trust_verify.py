"""Verification against the trust anchored outside the database (called by ``Database.verify``).

The hash chain (:mod:`console.record.chain`) proves a record is self-consistent; someone who can write the
database can make any record self-consistent again. This module checks what they cannot recompute:

* every signature entry carries an Ed25519 signature over its seal that verifies with the key the site
  registry (not the database) certifies for that signer, valid when it was witnessed;
* a ``signed`` session ends with a valid signature; an ``amended`` one has one, followed only by amendments;
* every line of the witness about this record still matches the database: the entry at the witnessed
  sequence number exists with the witnessed hash (else the session was *truncated* or *rewritten*), the
  session itself exists (else it was *deleted*), and a session with a witnessed seal is not back in progress;
* every signature entry was witnessed; the registry and witness files exist and their lines are signed by a
  site key. A missing or damaged trust file is a named finding, never a crash.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from console.record import chain, keys, signing
from console.record import models as m
from console.record.records import Problem, SessionStatus
from console.record.trust import (
    TrustDir,
    TrustError,
    WitnessLine,
    check_user_cert,
    site_key_valid_at,
    site_public,
    witness_message,
)


class RecordProblem(Problem):
    """A finding about the record as a whole (no single session): printed as ``record: what: detail``."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"record: {self.what}: {self.detail}"


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def verify_trust(s: OrmSession, trust: TrustDir, session_id: int | None = None) -> list[Problem]:
    """Problems found by checking the record against ``trust``; ``session_id`` limits it to one session."""
    problems: list[Problem] = []
    rid = signing.record_id(s)
    if not rid:
        problems.append(RecordProblem(0, "identity missing", "the record's id (record_meta.record_id) was "
                                      "removed from the database, so no signature or witness line can match"))
    q = select(m.Session)
    if session_id is not None:
        q = q.where(m.Session.id == session_id)
    sessions = {r.id: r for r in s.scalars(q)}
    sq = select(m.Entry).where(m.Entry.kind == "signature").order_by(m.Entry.session_id, m.Entry.seq)
    if session_id is not None:
        sq = sq.where(m.Entry.session_id == session_id)
    sigs: dict[int, list[m.Entry]] = defaultdict(list)
    for e in s.scalars(sq):
        sigs[e.session_id].append(e)
    needs_trust = bool(sigs) or any(r.status != SessionStatus.IN_PROGRESS for r in sessions.values())

    try:
        reg: dict[str, Any] | None = trust.load_registry()
        if not trust.exists() and needs_trust:
            problems.append(RecordProblem(0, "no key registry", f"there is no key registry at "
                                          f"{trust.registry_path}: signatures cannot be checked (give the "
                                          "site's trust folder with --trust-dir)"))
            reg = None
    except TrustError as err:
        problems.append(RecordProblem(0, "key registry damaged", str(err)))
        reg = None
    try:
        witness = trust.read_witness(rid, session_id)
    except TrustError as err:
        problems.append(RecordProblem(0, "witness unusable", str(err)))
        return problems
    for path, what in witness.damage:
        if what == "missing" and not needs_trust:
            continue
        if what == "missing":
            problems.append(RecordProblem(0, "witness missing", f"the witness file {path} is missing: seals "
                                          "and checkpoints written there cannot be confirmed (restore it "
                                          "from another witness location; see docs/security.md)"))
        else:
            problems.append(RecordProblem(0, "witness damaged", f"the witness file {path}: {what}"))

    lines = _valid_lines(witness.lines, reg, problems)
    by_session: dict[int, list[WitnessLine]] = defaultdict(list)
    for wl in lines:
        sid = wl.data["session_id"]
        if session_id is None or sid == session_id:
            by_session[sid].append(wl)

    # one read of (seq, hash, kind, id) of every entry in scope instead of queries per session
    eq = select(m.Entry.session_id, m.Entry.seq, m.Entry.hash, m.Entry.kind, m.Entry.id)
    if session_id is not None:
        eq = eq.where(m.Entry.session_id == session_id)
    index: dict[int, dict[int, tuple[str, str, str]]] = defaultdict(dict)
    for sid_, seq_, hash_, kind_, id_ in s.execute(eq):
        index[sid_][seq_] = (hash_, kind_, id_)
    cert_reasons: dict[str, str] = {}

    for sid, wls in sorted(by_session.items()):
        row = sessions.get(sid)
        if row is None:
            last = max(wls, key=lambda w: w.data["seq"])
            problems.append(Problem(sid, "deleted", f"session {sid} deleted: the witness recorded it (up to "
                                    f"entry #{last.data['seq']} at {last.data.get('at')}), but the database "
                                    "has no such session"))
            continue
        _check_witnessed_heads(row, index.get(sid, {}), wls, problems)

    for sid, row in sorted(sessions.items()):
        _check_session(row, sigs.get(sid, []), by_session.get(sid, []), reg, rid, problems,
                       index.get(sid, {}), cert_reasons)
    return problems


def _valid_lines(lines: list[WitnessLine], reg: dict[str, Any] | None,
                 problems: list[Problem]) -> list[WitnessLine]:
    """The witness lines signed by a site key of the registry; the others are reported and ignored."""
    out = []
    for wl in lines:
        d = wl.data
        where = f"{wl.source} line {wl.line_no}"
        if not (isinstance(d.get("session_id"), int) and isinstance(d.get("seq"), int)
                and isinstance(d.get("hash"), str) and isinstance(d.get("at"), str)):
            problems.append(RecordProblem(0, "witness damaged",
                                          f"{where} lacks its session, seq, hash or time"))
            continue
        if reg is None:
            out.append(wl)  # the registry problem is already reported; still compare heads
            continue
        kid = str(d.get("key_id", ""))
        ok, reason = site_key_valid_at(reg, kid, d["at"])
        pub = site_public(reg, kid)
        if not ok or pub is None or not keys.verify_signature(pub, str(d.get("sig", "")), witness_message(d)):
            problems.append(RecordProblem(0, "witness line forged",
                                          f"{where} is not validly signed by a site key "
                                          f"({reason or 'bad signature'}); it is ignored"))
            continue
        out.append(wl)
    return out


def _check_witnessed_heads(row: m.Session, entries: dict[int, tuple[str, str, str]], wls: list[WitnessLine],
                           problems: list[Problem]) -> None:
    """Every (seq, hash) the witness holds for this session must still be in its chain."""
    stored = {seq: v[0] for seq, v in entries.items()}
    last_seq = max(entries, default=0)
    reported: set[int] = set()
    for w in sorted(wls, key=lambda w: w.data["seq"]):
        seq, h = w.data["seq"], w.data["hash"]
        if seq in reported:
            continue
        what = f"{w.data.get('kind', 'checkpoint')} witnessed at {w.data.get('at')}"
        if seq == 0:
            if h != row.header_hash:
                reported.add(seq)
                problems.append(Problem(row.id, "rewritten", f"the session header differs from the one the "
                                        f"witness recorded ({what}): the session was rewritten", None, 0))
        elif seq not in stored:
            reported.add(seq)
            problems.append(Problem(row.id, "truncated",
                                    f"the witness recorded entry #{seq} ({what}) but the database's chain "
                                    f"ends at #{last_seq}: entries were deleted (truncated/rewritten)",
                                    None, seq))
        elif stored[seq] != h:
            reported.add(seq)
            problems.append(Problem(row.id, "rewritten",
                                    f"entry #{seq} is not the entry the witness recorded ({what}): the "
                                    "session was rewritten (truncated/rewritten)", None, seq))


def _check_session(row: m.Session, sigs: list[m.Entry], wls: list[WitnessLine], reg: dict[str, Any] | None,
                   rid: str, problems: list[Problem], entries: dict[int, tuple[str, str, str]],
                   cert_reasons: dict[str, str]) -> None:
    sealed = {(w.data["seq"], w.data["hash"]): w for w in wls if w.data.get("kind") == "seal"}
    valid_seqs: list[int] = []
    #: problems of unkeyed (pre-0005) signatures: forgiven when a later valid signature seals them
    legacy: list[Problem] = []
    for e in sigs:
        found: list[Problem] = []
        witnessed = sealed.get((e.seq, e.hash))
        if witnessed is None:
            found.append(Problem(row.id, "unwitnessed", "this signature is not in the witness: it was not "
                                 "made by Chairside at this site, or the witness lost it", e.id, e.seq))
        if reg is not None:
            ok = _signature_ok(row, e, witnessed, reg, rid, found, cert_reasons)
        else:  # keys cannot be checked (the registry problem is reported); the rest can
            ok = _is_keyed(row, e, found) and witnessed is not None
        if ok:
            valid_seqs.append(e.seq)
            legacy.clear()
        if any(p.what == "unkeyed" for p in found):
            legacy.extend(found)
        else:
            problems.extend(found)
    problems.extend(legacy)
    if row.status in (SessionStatus.SIGNED, SessionStatus.AMENDED):
        # a recorder closed after sign-off adds a system checkpoint over its last rows: that is not a reopening
        # (its content is checked against the rows it covers by the record check)
        written = [seq for seq, v in entries.items() if v[1] != "checkpoint"]
        last_seq = max(written, default=0)
        last_kind, last_id = entries[last_seq][1:] if written else ("", "")
        if not valid_seqs:
            problems.append(Problem(row.id, "unsigned",
                                    f"the session is marked {row.status} but has no valid signature (a "
                                    "signature was removed, forged or never made)"))
        elif row.status == SessionStatus.SIGNED and last_seq != valid_seqs[-1]:
            problems.append(Problem(row.id, "unsigned",
                                    f"the session is marked signed but entry #{last_seq} ({last_kind}) "
                                    f"comes after its last valid signature (#{valid_seqs[-1]}): the session "
                                    "was reopened and written to after sign-off", last_id, last_seq))
        elif row.status == SessionStatus.AMENDED and any(
                v[1] not in ("amendment", "checkpoint") for seq, v in entries.items() if seq > valid_seqs[-1]):
            problems.append(Problem(row.id, "unsigned", "entries other than amendments follow the last "
                                    f"valid signature (#{valid_seqs[-1]}): the session was reopened "
                                    "after sign-off"))
    elif sealed:
        seq = max(k[0] for k in sealed)
        problems.append(Problem(row.id, "unsealed",
                                f"the witness holds a seal (entry #{seq}) but the session is marked "
                                f"{row.status}: its sign-off was undone in the database", None, seq))


def _is_keyed(row: m.Session, e: m.Entry, problems: list[Problem]) -> bool:
    """Whether a signature entry carries a key id and a signature at all (else it is an unkeyed seal)."""
    try:
        d = json.loads(e.data_json)
        keyed = bool(d.get("key_id")) and bool(d.get("signature"))
    except (ValueError, AttributeError):
        keyed = False
    if not keyed:
        problems.append(Problem(row.id, "unkeyed",
                                "this signature has only an unkeyed seal (made before keyed signatures, or "
                                "written into the database directly): it cannot be trusted; sign the "
                                "session again", e.id, e.seq))
    return keyed


def _signature_ok(row: m.Session, e: m.Entry, witnessed: WitnessLine | None, reg: dict[str, Any], rid: str,
                  problems: list[Problem], cert_reasons: dict[str, str]) -> bool:
    """Whether signature entry ``e`` carries a valid Ed25519 signature by a key the registry certifies."""
    def bad(what: str, detail: str) -> bool:
        problems.append(Problem(row.id, what, detail, e.id, e.seq))
        return False

    try:
        d = json.loads(e.data_json)
        seal = chain.seal(e.prev_hash, d["signer_id"], d["signer_name"], d["username"], d["meaning"],
                          d["signed_at"])
    except (ValueError, KeyError, TypeError):
        return bad("forged", "the signature entry's data is not a Chairside signature")
    if not _is_keyed(row, e, problems):
        return False
    key_id, sig = d["key_id"], d["signature"]
    cert = next((c for c in reg.get("user_keys") or [] if c.get("key_id") == key_id), None)
    if cert is None:
        return bad("unknown key", f"signed with key {str(key_id)[:12]}, which the site registry does not "
                                  "know (a key made outside Chairside, e.g. inserted into the database)")
    if key_id not in cert_reasons:  # once per key, not per signature
        cert_reasons[key_id] = check_user_cert(reg, cert)
    reason = cert_reasons[key_id]
    if reason:
        return bad("unknown key", f"the key {str(key_id)[:12]} cannot be trusted: {reason}")
    if cert.get("user_id") != d.get("signer_id"):
        return bad("forged", f"signed with the key of user {cert.get('username')}, not of the named signer "
                             f"{d.get('username')}")
    if not keys.verify_signature(cert["public_key"], str(sig), signing.seal_message(rid, row.id, seal,
                                                                                    str(key_id))):
        return bad("forged", f"the signature does not verify with {cert.get('username')}'s registered key "
                             f"{str(key_id)[:12]}: the signed record or the signature was changed")
    when = _time(witnessed.data.get("at")) if witnessed is not None else _time(d.get("signed_at"))
    start, end = _time(cert.get("valid_from")), _time(cert.get("valid_until"))
    if when is not None and end is not None and when >= end:
        return bad("key retired", f"signed at {when.isoformat()} with key {str(key_id)[:12]}, which was "
                                  f"retired at {end.isoformat()}")
    if witnessed is not None and when is not None and start is not None and when < start:
        return bad("key retired", f"witnessed at {when.isoformat()}, before key {str(key_id)[:12]} existed")
    return True

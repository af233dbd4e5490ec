"""What ``verify`` checks, stage by stage, so that no damaged or tampered database can crash it or pass it.

Each stage reads on its own; any exception while reading (a damaged page, a dropped table, a value of the
wrong type) becomes an ``unreadable`` finding naming the stage, never a traceback, and the later stages still
run. Stages:

1. the file: SQLite's ``PRAGMA integrity_check`` (``damaged``);
2. the append-only guards (:mod:`console.record.protection`): each missing, disabled or replaced trigger is
   an ``unprotected`` finding (verify never re-creates one);
3. the audit chain: the first row whose link or content does not match is named;
4. per session: header and entry chain (:func:`console.record.chain.verify_session`), the checkpoints over
   the bulk tables (:func:`console.record.checkpoints.verify_bulk`, which also checks the audit head each
   checkpoint recorded), the patient and starting user against the header's at-the-time snapshot, each
   entry's user name against the users table, and the chain ends the audit trail recorded at the start and at
   each sign-off (so a chain recomputed with the software's own functions no longer matches its audit rows);
5. the record against the audit trail: a session the audit trail saw start but whose row is gone, patient
   and user rows that differ from what was audited when they were created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session as OrmSession

from console.record import chain, checkpoints, protection
from console.record import models as m
from console.record.canonical import ZERO_HASH
from console.record.errors import NotFound
from console.record.records import SYSTEM_ACTOR, Problem, VerifyResult

#: at most this many audit-chain problems are listed one by one (then one line says how many more)
MAX_AUDIT_PROBLEMS = 10
_PATIENT_FIELDS = ("code", "name", "birth_date", "sex", "weight_kg", "demo")


def _short(err: BaseException) -> str:
    text_ = str(getattr(err, "orig", None) or err).strip().splitlines()
    return f"{type(err).__name__}: {text_[0][:200] if text_ else ''}"


def _session_of(target: str) -> int | None:
    if target.startswith("session "):
        try:
            return int(target.split()[1])
        except (IndexError, ValueError):
            return None
    return None


def _json(value: str | None) -> dict[str, Any]:
    try:
        d = json.loads(value) if value else {}
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


class RecordCheck:
    """One verify run over ``engine`` (see the module docstring). ``damaged`` is set when the file itself
    is damaged (then the caller must not write to it)."""

    def __init__(self, engine: Engine, open_error: str | None = None) -> None:
        self.engine = engine
        self.open_error = open_error
        self.damaged = False
        self.result = VerifyResult()
        self._audit: list[Any] | None = None

    def _add(self, session_id: int | None, what: str, detail: str, area: str = "", entry: Any = None,
             seq: int | None = None) -> None:
        self.result.problems.append(Problem(session_id, what, detail, entry.id if entry is not None else None,
                                            entry.seq if entry is not None else seq, area))

    def _stage(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except NotFound:
            raise
        except Exception as err:  # noqa: BLE001 - any failure to read is a finding, never a traceback
            self._add(None, "unreadable", f"{name} could not be read ({_short(err)})", area="database")

    def run(self, session_id: int | None = None) -> VerifyResult:
        if self.open_error:
            self.damaged = True
            self._add(None, "damaged", f"the database schema cannot be read: {self.open_error}", "file")
        self._stage("the file's integrity check", lambda: self._check_file(quick=session_id is not None))
        self._stage("the append-only guards", self._check_guards)
        self._stage("the audit trail", self._check_audit)
        self._stage("the sessions", lambda: self._check_sessions(session_id))
        self._stage("patients and users", self._check_people)
        # the file first (nothing else is trustworthy on a damaged file), then what happened to sessions,
        # then the audit trail and people, then removed guards (a finding about protection, not content)
        self.result.problems.sort(key=lambda p: 0 if p.what in ("damaged", "unreadable") else
                                  3 if p.what == "unprotected" else 1 if p.session_id is not None else 2)
        return self.result

    # ------------------------------------------------------------------ 1. the file
    def _check_file(self, quick: bool = False) -> None:
        """SQLite's own check of the whole file: ``integrity_check`` for the whole record, ``quick_check``
        (every page and record, without cross-checking indexes: linear in the file size) for one session."""
        if self.engine.dialect.name != "sqlite":
            return
        pragma = "quick_check" if quick else "integrity_check"
        try:
            with self.engine.connect() as conn:
                lines = [str(r[0]) for r in conn.execute(text(f"PRAGMA {pragma}(20)"))]
        except Exception as err:  # noqa: BLE001 - the check itself fails on a badly damaged file
            self.damaged = True
            self._add(None, "damaged", f"SQLite cannot check the file ({_short(err)})", "file")
            return
        if lines != ["ok"]:
            self.damaged = True
            for line in lines:
                self._add(None, "damaged", f"SQLite integrity check: {line}", "file")

    # ------------------------------------------------------------------ 2. guards
    def _check_guards(self) -> None:
        with self.engine.connect() as conn:
            for guard, what in protection.check_guards(conn):
                self._add(None, "unprotected",
                          f"the database guard {guard.name} (refusing {guard.refuses}) {what}: the table can "
                          "be changed without the database refusing it. Verify does not restore it; find out "
                          "who removed it, then re-create it (docs/record-integrity.md)", f"table {guard.table}")

    # ------------------------------------------------------------------ 3. audit chain
    def _check_audit(self) -> None:
        with OrmSession(self.engine) as s:
            rows = list(s.scalars(select(m.AuditEvent).order_by(m.AuditEvent.id)))
            s.expunge_all()
        self._audit = rows
        prev = ZERO_HASH
        found = 0
        for r in rows:
            problem: tuple[str, str] | None = None
            if r.prev_hash != prev:
                if prev == ZERO_HASH:
                    problem = ("missing", ("it links to a row that is not there: audit rows before it were "
                                           "deleted"))
                else:
                    problem = ("missing", ("it does not link to the audit row before it: a row between "
                                           "them was deleted or inserted"))
            elif r.hash is None or chain.audit_hash(r, r.prev_hash) != r.hash:
                problem = ("changed", "its content differs from what was recorded (hash mismatch)")
            if problem is not None:
                found += 1
                if found <= MAX_AUDIT_PROBLEMS:
                    self._add(None, problem[0], f"{problem[1]} ({r.action} {r.target})".strip(),
                              f"audit row #{r.id}")
            prev = r.hash or ""
        if found > MAX_AUDIT_PROBLEMS:
            self._add(None, "changed", f"{found - MAX_AUDIT_PROBLEMS} more audit rows do not match",
                      "audit trail")

    # ------------------------------------------------------------------ 4. sessions
    def _check_sessions(self, session_id: int | None) -> None:
        audit_rows = self._audit or []
        audit_hashes: dict[int, str | None] | None = ({r.id: r.hash for r in audit_rows}
                                                      if self._audit is not None else None)
        started: dict[int, Any] = {}
        signed: dict[int, list[Any]] = {}
        for r in audit_rows:
            sid = _session_of(r.target)
            if sid is None:
                continue
            if r.action == "session_start":
                started.setdefault(sid, r)
            elif r.action == "sign":
                signed.setdefault(sid, []).append(r)
        with OrmSession(self.engine) as s:
            q = select(m.Session).order_by(m.Session.id)
            if session_id is not None:
                q = q.where(m.Session.id == session_id)
            sessions = list(s.scalars(q))
            if session_id is not None and not sessions:
                if session_id in started:
                    self._add(session_id, "missing", "the session is gone: the audit trail records its start "
                              f"(audit row #{started[session_id].id}) but its row is not in the record")
                    return
                raise NotFound(f"no session with id {session_id}")
            known = {row.id for row in sessions}
            if session_id is None:
                for sid, r in sorted(started.items()):
                    if sid not in known:
                        self._add(sid, "missing", "the session is gone: the audit trail records its start "
                                  f"(audit row #{r.id}) but its row is not in the record")
                orphan = s.scalar(select(m.Entry).where(m.Entry.session_id.not_in(select(m.Session.id)))
                                  .limit(1))
                if orphan is not None:
                    self._add(orphan.session_id, "missing", "the session row of these entries is missing",
                              entry=orphan)
            users = {u.id: u for u in s.scalars(select(m.User))}
            patients = {p.id: p for p in s.scalars(select(m.Patient))}
            # a whole-record run reads every entry and counts every bulk table in one query each
            entries_of: dict[int, list[Any]] | None = None
            counts: dict[int, dict[str, int]] | None = None
            if session_id is None:
                entries_of, counts = {}, {}
                t = m.Entry.__table__
                for e in s.execute(select(t).order_by(t.c.session_id, t.c.seq, t.c.entered_at)):
                    entries_of.setdefault(e.session_id, []).append(e)
                for name, (table, _) in checkpoints.BULK_TABLES.items():
                    for sid_, n in s.execute(select(table.c.session_id, func.count())
                                             .group_by(table.c.session_id)):
                        if sid_ is not None:
                            counts.setdefault(sid_, {})[name] = n
            for row in sessions:
                try:
                    self._check_session(s, row, users, patients, audit_hashes, started.get(row.id),
                                        signed.get(row.id, []),
                                        None if entries_of is None else entries_of.get(row.id, []),
                                        None if counts is None else counts.get(row.id, {}))
                except Exception as err:  # noqa: BLE001 - one unreadable session does not stop the rest
                    self._add(row.id, "unreadable", f"the session could not be read ({_short(err)})")
                self.result.sessions_checked += 1

    def _check_session(self, s: OrmSession, row: m.Session, users: dict[int, Any], patients: dict[int, Any],
                       audit_hashes: dict[int, str | None] | None, start_audit: Any, sign_audits: list[Any],
                       entries: list[Any] | None = None, counts: dict[str, int] | None = None) -> None:
        sid = row.id
        if entries is None:
            entries = list(s.scalars(select(m.Entry).where(m.Entry.session_id == sid)
                                     .order_by(m.Entry.seq, m.Entry.entered_at)))
        problems, n = chain.verify_session(row, entries)
        self.result.problems.extend(problems)
        self.result.entries_checked += n
        cps = [e for e in entries if e.kind == "checkpoint"]
        self.result.problems.extend(checkpoints.verify_bulk(s, row, cps, audit_hashes, counts))
        # the people and patient as they were at the start (version-2 headers)
        if (row.header_version or 1) >= 2 and row.header_snapshot_json:
            snap = _json(row.header_snapshot_json)
            self._compare_patient(sid, patients.get(row.patient_id), snap.get("patient", {}),
                                  f"what session {sid} recorded at its start")
            who = snap.get("started_by", {})
            u = users.get(row.started_by)
            for field in ("username", "full_name"):
                if u is not None and field in who and getattr(u, field) != who[field]:
                    self._add(sid, "changed", f"user #{u.id}'s {field.replace('_', ' ')} is now "
                              f"{getattr(u, field)!r} but was {who[field]!r} when the session started "
                              "(users row changed outside the application)", area="users")
        for e in entries:
            u = users.get(e.user_id)
            if e.username != SYSTEM_ACTOR and u is not None and u.username != e.username:
                self._add(sid, "changed", f"user #{u.id} is now named {u.username!r} but this entry recorded "
                          f"{e.username!r} (users row changed outside the application)", entry=e)
                break
        # the chain ends the audit trail recorded (a chain rewritten with the software's own functions)
        if start_audit is not None:
            h = _json(start_audit.after_json).get("header_hash")
            if h is not None and h != row.header_hash:
                self._add(sid, "changed", f"the session header is not the one the audit trail recorded at the "
                          f"start (audit row #{start_audit.id}): the header was rewritten")
        by_id = {e.id: e for e in entries}
        for a in sign_audits:
            after = _json(a.after_json)
            eid, h = after.get("entry"), after.get("head_hash")
            if eid is None or h is None:
                continue
            signature = by_id.get(eid)
            if signature is None:
                self._add(sid, "missing", f"the signature entry {eid} the audit trail recorded at sign-off "
                          f"(audit row #{a.id}) is not in the chain")
            elif signature.hash != h:
                self._add(sid, "changed", "the chain up to this signature is not the one the audit trail "
                          f"recorded at sign-off (audit row #{a.id}): the session was rewritten",
                          entry=signature)

    def _compare_patient(self, sid: int | None, p: Any, recorded: dict[str, Any], where: str) -> None:
        if p is None or not recorded:
            return
        for field in _PATIENT_FIELDS:
            if field not in recorded:
                continue
            now = getattr(p, field)
            now = now.isoformat() if hasattr(now, "isoformat") else now
            if field == "demo":
                now = bool(now)
            if now != recorded[field]:
                self._add(sid, "changed", f"patient {p.code}'s {field.replace('_', ' ')} is now {now!r} but "
                          f"was {recorded[field]!r} in {where} (patients row changed outside the application)",
                          area="patients")

    # ------------------------------------------------------------------ 5. people against the audit trail
    def _check_people(self) -> None:
        if self._audit is None:
            return
        created_patient: dict[str, Any] = {}
        created_user: dict[str, Any] = {}
        for r in self._audit:
            if r.action == "patient_add" and r.target.startswith("patient "):
                created_patient[r.target[len("patient "):]] = r
            elif r.action == "user_add" and r.target.startswith("user "):
                created_user[r.target[len("user "):]] = r
        with OrmSession(self.engine) as s:
            for p in s.scalars(select(m.Patient)):
                a = created_patient.get(p.code)
                if a is not None:
                    self._compare_patient(None, p, _json(a.after_json), f"audit row #{a.id} (patient_add)")
            for u in s.scalars(select(m.User)):
                a = created_user.get(u.username)
                if a is None:
                    continue
                after = _json(a.after_json)
                for field in ("full_name", "demo"):
                    if field in after and getattr(u, field) != after[field]:
                        self._add(None, "changed", f"user {u.username}'s {field.replace('_', ' ')} is now "
                                  f"{getattr(u, field)!r} but was {after[field]!r} when the account was created "
                                  f"(audit row #{a.id}); users row changed outside the application", "users")


__all__ = ["RecordCheck"]

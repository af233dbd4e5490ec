"""The Qt-free service layer: every write to the record goes through here, and the role is checked here.

Record rules (21 CFR Part 11, ALCOA+):

* Entries are append-only. This class has no update or delete of entries; a correction is an ``amendment``
  entry that references the original and states a reason, and the original stays as it was.
* Every entry is attributable (user id, name and role taken from the database, not from the caller) and
  contemporaneous (``entered_at`` is taken here, when the entry is committed); an entry whose ``at`` is more
  than 5 minutes before ``entered_at`` is marked ``late``.
* ``add_entry`` returns only after the transaction committed (SQLite ``synchronous=FULL``).
* Sign-off: ``sign`` re-checks the signer's password every time (both components, every signing), writes a
  ``signature`` entry whose seal covers the whole chain, and seals the session. A sealed (signed) session
  takes no new clinical entries; it takes only amendments (each with a reason), after which it is
  ``amended`` and needs a new signature. Further signatures (meaning ``reviewed``/``approved``) may be added.
* Two consoles may write to one session at once: each write locks the session row (``SELECT ... FOR
  UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), takes the next sequence number, and a unique
  constraint on (session, seq) backs this up; a collision is retried.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text
from sqlalchemy.orm import Session as OrmSession

from console.record import chain, passwords, signing
from console.record import models as m
from console.record.canonical import ZERO_HASH, canonical_json
from console.record.checkpoints import checkpoint_in, lock_bulk_tables
from console.record.entry_checks import validate_correction as _validate_correction
from console.record.entry_checks import validate_new as _validate_new
from console.record.errors import (
    AuthError,
    InvalidEntry,
    NotFound,
    PermissionDenied,
    SessionStateError,
    StorageUnavailable,
)
from console.record.guard import storage_guard
from console.record.records import (
    LATE_AFTER_S,
    SIGNATURE_MEANINGS,
    AuditRecord,
    DeviceProfileInfo,
    EntryRecord,
    PatientInfo,
    SessionInfo,
    SessionStatus,
    UserContext,
    UserInfo,
)
from console.record.roles import ACTION_WORDS, ROLES, allowed, who_may
from console.record.timeutil import to_utc, utcnow
from console.record.trust import TrustError

if TYPE_CHECKING:
    from console.record.database import Database

T = TypeVar("T")
#: how far in the future an entry's ``at`` may lie (clock differences between consoles), in seconds
FUTURE_TOLERANCE_S = 120
_SEQ_RETRIES = 5
#: writes that stamp the clinical record with the database's clock (which may be simulated)
_CLOCKED_ACTIONS = frozenset({"create_patient", "start_session", "add_entry", "amend", "sign",
                              "resume_session", "close_interrupted"})


#: PostgreSQL transaction-level advisory lock id that serialises writers of the audit chain (an arbitrary
#: constant; on SQLite every write transaction is serialised by ``BEGIN IMMEDIATE`` already)
PG_AUDIT_LOCK = 0x43484142


def audit(s: OrmSession, actor: UserContext | None, action: str, target: str = "", before: Any = None,
          after: Any = None, detail: str = "", *, username: str | None = None) -> None:
    """Add one audit-trail row to the current transaction, chained to the row before it.

    The row links to the hash of the newest audit row (the chain order is the id order), so deleting,
    changing or inserting an audit row breaks a link that ``verify`` names. Writers are serialised until
    commit (PostgreSQL: an advisory transaction lock), so two consoles never link to the same row.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_AUDIT_LOCK})
    prev = s.scalar(select(m.AuditEvent.hash).order_by(m.AuditEvent.id.desc()).limit(1)) or ZERO_HASH
    row = m.AuditEvent(
        at=utcnow(), user_id=(actor.id or None) if actor else None,
        username=username if username is not None else (actor.username if actor else ""),
        role=actor.role if actor else "", action=action, target=target,
        before_json=None if before is None else canonical_json(before),
        after_json=None if after is None else canonical_json(after), detail=detail, prev_hash=prev)
    row.hash = chain.audit_hash(row, prev)
    s.add(row)
    s.flush()  # the next audit row of this transaction links to this one


def append_entry(s: OrmSession, db: Database, actor: UserContext, row: m.Session, kind: str, data_json: str,
                 at: datetime, amends: str | None = None, client_id: str | None = None) -> EntryRecord:
    """Append one entry to the locked session ``row``'s chain in the current transaction (the one place an
    entry is made: the service's writes and :func:`console.record.checkpoints.append_checkpoint`)."""
    now = db.now()
    e = m.Entry(id=uuid.uuid4().hex, session_id=row.id, seq=row.head_seq + 1, kind=kind, at=at,
                entered_at=now, user_id=actor.id, username=actor.username, role=actor.role,
                data_json=data_json, amends=amends,
                late=(now - at) > timedelta(seconds=LATE_AFTER_S), client_id=client_id,
                prev_hash=row.head_hash, hash="")
    e.hash = chain.entry_hash(e, e.prev_hash)
    s.add(e)
    row.head_seq, row.head_hash = e.seq, e.hash
    if kind in ("checkpoint", "session_interrupted"):  # anchor outside the database after commit
        db.anchor_after_commit(s, row.id, e.seq, e.hash)
    if row.lock_owner == db.owner or row.lock_owner is None:
        row.heartbeat_at = utcnow()  # liveness is judged on the real clock, even in a simulation
    s.flush()
    return EntryRecord.from_row(e)


def _profile_dict(p: m.DeviceProfile) -> dict[str, Any]:
    return {"name": p.name, "protocol": p.protocol, "port": p.port, "settings": json.loads(p.settings_json),
            "chair": p.chair}


def _user_dict(u: m.User) -> dict[str, Any]:
    return {"username": u.username, "full_name": u.full_name, "role": u.role, "active": u.active,
            "demo": u.demo}


class SessionService:
    """All reads and writes of the record for one logged-in user (see the module docstring)."""

    def __init__(self, db: Database, user: UserContext) -> None:
        self._db = db
        self.user = user

    # ------------------------------------------------------------------ plumbing
    def _write(self, action: str, fn: Callable[[OrmSession, UserContext], T]) -> T:
        """Run ``fn`` in one write transaction after checking (against the database) that the user may."""
        self._require(action)
        with storage_guard(), OrmSession(self._db.write_engine, expire_on_commit=False) as s, s.begin():
            actor = self._current_actor(s)
            if not allowed(actor.role, action):
                raise PermissionDenied(self._denied(action, actor.role))
            if self._db.simulated_clock and not actor.demo and action in _CLOCKED_ACTIONS:
                raise PermissionDenied("This database is open with a simulated clock, which only demo and "
                                       "simulation accounts may write with.")
            return fn(s, actor)

    def _read(self, fn: Callable[[OrmSession], T]) -> T:
        with storage_guard(), OrmSession(self._db.engine, expire_on_commit=False) as s:
            return fn(s)

    def _require(self, action: str) -> None:
        if not allowed(self.user.role, action):
            raise PermissionDenied(self._denied(action, self.user.role))

    @staticmethod
    def _denied(action: str, role: str) -> str:
        return (f"A user with the role {role} cannot {ACTION_WORDS[action]}; "
                f"only {who_may(action)} can.")

    def _current_actor(self, s: OrmSession) -> UserContext:
        """The user as the database knows them now (a disabled account or new role applies at once)."""
        if self.user.is_system:
            return self.user
        row = s.get(m.User, self.user.id)
        if row is None or not row.active:
            raise PermissionDenied(f"The account {self.user.username} is disabled or no longer exists; "
                                   "log in again.")
        return UserContext(row.id, row.username, row.full_name, row.role, row.demo)

    # ------------------------------------------------------------------ patients
    def create_patient(self, code: str, name: str | None = None, birth_date: date | None = None,
                       sex: str | None = None, weight_kg: float | None = None) -> PatientInfo:
        """Add a patient by their clinic code (unique). Demo users create demo patients."""
        code = (code or "").strip()
        if not code:
            raise InvalidEntry("a patient needs a code (the clinic's patient identifier)")
        if weight_kg is not None and not (0 < float(weight_kg) < 500):
            raise InvalidEntry(f"weight {weight_kg} kg is not plausible; give the weight in kilograms")
        if birth_date is not None and not isinstance(birth_date, date):
            raise InvalidEntry("birth date must be a date")

        def do(s: OrmSession, actor: UserContext) -> PatientInfo:
            if s.scalar(select(m.Patient.id).where(m.Patient.code == code)) is not None:
                raise InvalidEntry(f"a patient with code {code!r} already exists")
            p = m.Patient(code=code, name=name, birth_date=birth_date, sex=sex,
                          weight_kg=None if weight_kg is None else float(weight_kg), demo=actor.demo,
                          created_at=self._db.now(), created_by=actor.id)
            s.add(p)
            s.flush()
            # the full details: verify compares the patients row with them (a row changed later is named)
            audit(s, actor, "patient_add", f"patient {code}",
                  after={"code": code, "name": p.name, "birth_date": p.birth_date, "sex": p.sex,
                         "weight_kg": p.weight_kg, "demo": bool(p.demo)})
            return _patient_info(p)

        return self._write("create_patient", do)

    def patients(self) -> list[PatientInfo]:
        return self._read(lambda s: [_patient_info(p)
                                     for p in s.scalars(select(m.Patient).order_by(m.Patient.code))])

    def patient(self, patient_id: int) -> PatientInfo:
        def do(s: OrmSession) -> PatientInfo:
            p = s.get(m.Patient, patient_id)
            if p is None:
                raise NotFound(f"no patient with id {patient_id}")
            return _patient_info(p)
        return self._read(do)

    def find_patient(self, code: str) -> PatientInfo | None:
        def do(s: OrmSession) -> PatientInfo | None:
            p = s.scalar(select(m.Patient).where(m.Patient.code == code))
            return _patient_info(p) if p else None
        return self._read(do)

    # ------------------------------------------------------------------ sessions
    def start_session(self, patient_id: int, protocol_id: str, protocol_version: str, chair: str,
                      devices: Iterable[Any] = (), details: dict[str, Any] | None = None) -> SessionInfo:
        """Open a session for a patient under a protocol version at a chair; this console holds it."""
        try:
            devices_json = canonical_json(list(devices))
            details_json = canonical_json(dict(details or {}))
        except (ValueError, TypeError) as err:
            raise InvalidEntry(f"session details cannot be recorded: {err}") from err
        if not protocol_id or not str(protocol_version):
            raise InvalidEntry("a session needs a protocol id and version")

        def do(s: OrmSession, actor: UserContext) -> SessionInfo:
            patient = s.get(m.Patient, patient_id)
            if patient is None:
                raise NotFound(f"no patient with id {patient_id}")
            now = self._db.now()
            starter = s.get(m.User, actor.id)
            snapshot = canonical_json(chain.header_snapshot(patient, starter if starter is not None else actor))
            row = m.Session(patient_id=patient_id, protocol_id=str(protocol_id),
                            protocol_version=str(protocol_version), chair=str(chair or ""),
                            devices_json=devices_json, details_json=details_json,
                            demo=bool(actor.demo or patient.demo), status=SessionStatus.IN_PROGRESS,
                            started_at=now, started_by=actor.id, header_hash="", head_seq=0, head_hash="",
                            lock_owner=self._db.owner, heartbeat_at=utcnow(),
                            header_version=chain.HEADER_VERSION, header_snapshot_json=snapshot)
            s.add(row)
            s.flush()  # the id is part of the header hash
            row.header_hash = row.head_hash = chain.header_hash(row)
            self._db.anchor_after_commit(s, row.id, 0, row.header_hash)  # header pinned outside the database
            audit(s, actor, "session_start", f"session {row.id}",
                  after={"patient": patient.code, "protocol": protocol_id, "version": str(protocol_version),
                         "chair": chair, "demo": row.demo, "header_hash": row.header_hash})
            s.flush()
            return self._session_info(s, row)

        return self._write("start_session", do)

    def session(self, session_id: int) -> SessionInfo:
        def do(s: OrmSession) -> SessionInfo:
            row = s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"no session with id {session_id}")
            return self._session_info(s, row)
        return self._read(do)

    def sessions(self, status: str | None = None, patient_id: int | None = None, demo: bool | None = None,
                 since: datetime | None = None, limit: int | None = None) -> list[SessionInfo]:
        """Sessions, newest first, optionally filtered. ``status="interrupted"`` selects interrupted ones."""
        def do(s: OrmSession) -> list[SessionInfo]:
            q = select(m.Session).order_by(m.Session.started_at.desc(), m.Session.id.desc())
            if status and status != "interrupted":
                q = q.where(m.Session.status == status)
            if status == "interrupted":
                q = q.where(m.Session.status == SessionStatus.IN_PROGRESS)
            if patient_id is not None:
                q = q.where(m.Session.patient_id == patient_id)
            if demo is not None:
                q = q.where(m.Session.demo == demo)
            if since is not None:
                q = q.where(m.Session.started_at >= to_utc(since))
            out = [self._session_info(s, r) for r in s.scalars(q)]
            if status == "interrupted":
                out = [i for i in out if i.interrupted]
            return out[:limit] if limit else out
        return self._read(do)

    def interrupted_sessions(self) -> list[SessionInfo]:
        """Sessions still in progress that no live console holds (the process died or was closed)."""
        return self.sessions(status="interrupted")

    def heartbeat(self, session_id: int) -> None:
        """Tell other consoles this one still holds the session (call every ~30 s when idle)."""
        self._db.heartbeat([session_id])

    def resume_session(self, session_id: int) -> SessionInfo:
        """Take over an interrupted session: records ``session_interrupted`` then ``session_resumed``."""
        def do(s: OrmSession, actor: UserContext) -> SessionInfo:
            row = self._lock_session(s, session_id)
            if row.status != SessionStatus.IN_PROGRESS:
                raise SessionStateError(f"session {session_id} is {row.status}; only an interrupted session "
                                        "in progress can be resumed")
            if row.lock_owner == self._db.owner:
                return self._session_info(s, row)
            if self._db.lock_is_live(row.lock_owner, row.heartbeat_at):
                raise SessionStateError(f"session {session_id} is open at another console "
                                        f"({_owner_host(row.lock_owner)}); it is not interrupted")
            now = self._db.now()
            last = row.heartbeat_at or row.started_at
            self._append(s, actor, row, "session_interrupted",
                         {"last_activity": last, "previous_console": _owner_host(row.lock_owner),
                          "found_at": now}, at=min(last, now))
            self._append(s, actor, row, "session_resumed", {"console": _owner_host(self._db.owner)}, at=now)
            row.lock_owner = self._db.owner
            row.heartbeat_at = utcnow()
            audit(s, actor, "session_resume", f"session {session_id}")
            return self._session_info(s, row)

        return self._write("resume_session", do)

    def close_interrupted(self, session_id: int, reason: str) -> SessionInfo:
        """End an interrupted session without resuming it (it can still be signed)."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidEntry("closing an interrupted session needs a reason")

        def do(s: OrmSession, actor: UserContext) -> SessionInfo:
            lock_bulk_tables(s)  # before the session row: the vitals writer takes them in that order
            row = self._lock_session(s, session_id)
            if row.status != SessionStatus.IN_PROGRESS:
                raise SessionStateError(f"session {session_id} is {row.status}, not interrupted")
            if self._db.lock_is_live(row.lock_owner, row.heartbeat_at) and row.lock_owner != self._db.owner:
                raise SessionStateError(f"session {session_id} is open at another console "
                                        f"({_owner_host(row.lock_owner)}); it is not interrupted")
            now = self._db.now()
            last = row.heartbeat_at or row.started_at
            self._append(s, actor, row, "session_interrupted",
                         {"last_activity": last, "previous_console": _owner_host(row.lock_owner),
                          "closed": True, "reason": reason}, at=now)
            checkpoint_in(s, self._db, row)  # the vitals so far come under the chain before it closes
            row.status = SessionStatus.CLOSED
            row.ended_at = now
            row.lock_owner = None
            audit(s, actor, "session_close_interrupted", f"session {session_id}", detail=reason)
            return self._session_info(s, row)

        return self._write("close_interrupted", do)

    # ------------------------------------------------------------------ entries
    def add_entry(self, session_id: int, kind: str, data: dict[str, Any], at: datetime | None = None,
                  *, client_id: str | None = None) -> EntryRecord:
        """Append a clinical entry; returns after it is committed.

        ``at`` is the time the entry describes (default: now); ``client_id`` makes the call idempotent (the
        outbox uses it so a retry after an unclear failure never records an entry twice).
        """
        kind = str(getattr(kind, "value", kind))  # an EntryKind is stored as its plain text
        data_json, at_utc = self.check_entry(kind, data, at)

        def do(s: OrmSession, actor: UserContext) -> EntryRecord:
            if client_id is not None:
                existing = s.scalar(select(m.Entry).where(m.Entry.client_id == client_id))
                if existing is not None:
                    return EntryRecord.from_row(existing)
            row = self._lock_session(s, session_id)
            if row.status in (SessionStatus.SIGNED, SessionStatus.AMENDED):
                raise SessionStateError(f"session {session_id} is signed and sealed: only amendments (with a "
                                        "reason) can be added, followed by a new signature")
            if row.status != SessionStatus.IN_PROGRESS:
                raise SessionStateError(f"session {session_id} is {row.status}: no new entries")
            self._refuse_if_interrupted(row)
            return self._append(s, actor, row, kind, data_json, at=at_utc, client_id=client_id)

        return self._retry_seq(lambda: self._write("add_entry", do))

    def check_entry(self, kind: str, data: dict[str, Any], at: datetime | None = None) -> tuple[str, datetime]:
        """Validate an entry without writing it: (canonical data JSON, UTC time). Raises
        :class:`InvalidEntry` or :class:`PermissionDenied` exactly as :meth:`add_entry` would: an unknown kind, a
        kind the record writes itself, or a payload that does not fit the kind's model (message names the field)."""
        self._require("add_entry")
        data_json = _data_json(data)  # JSON-able and finite first, then the kind's fields
        _validate_new(kind, data)
        return data_json, _entry_time(at, self._db.now())

    def amend(self, session_id: int, entry_id: str, reason: str, data: dict[str, Any]) -> EntryRecord:
        """Correct an entry: a new ``amendment`` entry holding the reason and the corrected data; the
        original stays untouched. Allowed on signed sessions, which then need a new signature.

        ``data`` is the complete corrected payload of the original's kind (checked by the entry model, see
        ``console/clinical/entry_model.py``). ``entry_id`` must be the original entry: an amendment is never
        amended; a further correction amends the original again, so all corrections form one chain."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidEntry("an amendment needs a reason")
        _data_json(data)
        if not isinstance(data, dict):
            raise InvalidEntry(f"the corrected data must be a dict, not {type(data).__name__}")

        def do(s: OrmSession, actor: UserContext) -> EntryRecord:
            row = self._lock_session(s, session_id)
            self._refuse_if_interrupted(row)
            original = s.get(m.Entry, entry_id)
            if original is None or original.session_id != session_id:
                raise NotFound(f"no entry {entry_id} in session {session_id}")
            _validate_correction(original, data)
            payload = {"reason": reason, "data": data, "original_kind": original.kind,
                       "original_at": original.at, "original_seq": original.seq}
            e = self._append(s, actor, row, "amendment", _data_json(payload), at=self._db.now(),
                             amends=original.id)
            if row.status == SessionStatus.SIGNED:
                row.status = SessionStatus.AMENDED
            return e

        return self._retry_seq(lambda: self._write("amend", do))

    def sign(self, session_id: int, password: str, meaning: str = "authored") -> EntryRecord:
        """Sign the session: re-checks the password, writes a ``signature`` entry sealing the whole chain,
        and seals the session (status ``signed``). Wrong password: :class:`AuthError` (audit logged).

        The seal is signed with the signer's own key (opened with this password; see
        :mod:`console.record.signing`) and the signature entry is written to the site witness after commit.
        A screen runs the three steps apart: :meth:`signing_key` (seconds of CPU) off the writer thread, then
        :meth:`seal` and :meth:`witness_signature` on it.
        """
        e = self.seal(session_id, self.signing_key(session_id, password, meaning), meaning)
        self.witness_signature(session_id, e)
        return e

    def signing_key(self, session_id: int, password: str, meaning: str = "authored") -> signing.SigningKey:
        """The slow half of :meth:`sign`: re-check the password and open (or, the first time, make) the signer's
        key (argon2: slow on purpose). Writes only the audit row of a wrong password and a first key."""
        if meaning not in SIGNATURE_MEANINGS:
            raise InvalidEntry(f"a signature's meaning is one of {', '.join(SIGNATURE_MEANINGS)}")
        self._require("sign")
        if not self._db.check_password(self.user, password, action="sign", target=f"session {session_id}"):
            raise AuthError("The password is not correct; the session was not signed.")
        # open the key outside the write transaction that locks the session
        trust = self._db.trust
        return (self._read(lambda s: signing.open_signing_key(s, trust, self.user, password))
                or self._write("sign", lambda s, actor: signing.make_signing_key(s, trust, actor, password)))

    def seal(self, session_id: int, pair: signing.SigningKey, meaning: str = "authored") -> EntryRecord:
        """The quick half of :meth:`sign`: commit the ``signature`` entry with a key :meth:`signing_key`
        opened. :class:`StorageUnavailable` means nothing was written (it may be retried)."""
        if meaning not in SIGNATURE_MEANINGS:
            raise InvalidEntry(f"a signature's meaning is one of {', '.join(SIGNATURE_MEANINGS)}")
        self._require("sign")

        def do(s: OrmSession, actor: UserContext) -> EntryRecord:
            lock_bulk_tables(s)  # before the session row: the vitals writer takes them in that order
            row = self._lock_session(s, session_id)
            if row.status not in (SessionStatus.IN_PROGRESS, SessionStatus.CLOSED, SessionStatus.SIGNED,
                                  SessionStatus.AMENDED):
                raise SessionStateError(f"session {session_id} is {row.status} and cannot be signed")
            self._refuse_if_interrupted(row)
            if actor.id != pair.user_id:
                raise AuthError("the signing key opened belongs to another account; log in again")
            if row.status != SessionStatus.SIGNED:
                checkpoint_in(s, self._db, row)  # everything recorded so far comes under the seal
            now = self._db.now()
            signed_at = now.isoformat(timespec="microseconds")
            seal = chain.seal(row.head_hash, actor.id, actor.full_name, actor.username, meaning, signed_at)
            data = {"signer_id": actor.id, "signer_name": actor.full_name, "username": actor.username,
                    "meaning": meaning, "signed_at": signed_at, "entries_signed": row.head_seq,
                    "seal": seal, **signing.seal_fields(signing.record_id(s), row.id, pair.pair, seal)}
            e = self._append(s, actor, row, "signature", _data_json(data), at=now)
            row.status = SessionStatus.SIGNED
            row.ended_at = row.ended_at or now
            row.lock_owner = None
            audit(s, actor, "sign", f"session {session_id}",
                  after={"meaning": meaning, "entry": e.id, "head_hash": e.hash, "head_seq": e.seq})
            return e

        return self._retry_seq(lambda: self._write("sign", do))

    def witness_signature(self, session_id: int, e: EntryRecord) -> None:
        """Write a committed signature entry to the site witness. The session IS signed either way: a
        :class:`StorageUnavailable` here says the witness is missing it (never sign again for it)."""
        try:
            self._db.witness_seal(session_id, e.seq, e.hash, str(e.data.get("key_id")),
                                  str(e.data.get("meaning")))
        except (TrustError, OSError) as err:
            raise StorageUnavailable(f"session {session_id} is signed, but the seal could not be written to "
                                     f"the witness ({err}); verify will report it until the witness is "
                                     "restored (see docs/security.md)") from err

    def entries(self, session_id: int) -> list[EntryRecord]:
        """All entries of a session in order (amendments appear where they were written)."""
        def do(s: OrmSession) -> list[EntryRecord]:
            if s.get(m.Session, session_id) is None:
                raise NotFound(f"no session with id {session_id}")
            rows = s.scalars(select(m.Entry).where(m.Entry.session_id == session_id).order_by(m.Entry.seq))
            return [EntryRecord.from_row(r) for r in rows]
        return self._read(do)

    def entry(self, entry_id: str) -> EntryRecord:
        def do(s: OrmSession) -> EntryRecord:
            r = s.get(m.Entry, entry_id)
            if r is None:
                raise NotFound(f"no entry {entry_id}")
            return EntryRecord.from_row(r)
        return self._read(do)

    # ------------------------------------------------------------------ device profiles and config
    def device_profiles(self) -> list[DeviceProfileInfo]:
        def do(s: OrmSession) -> list[DeviceProfileInfo]:
            names = {u.id: u.username for u in s.scalars(select(m.User))}
            return [DeviceProfileInfo(p.name, p.protocol, p.port, json.loads(p.settings_json), p.chair,
                                      p.updated_at, names.get(p.updated_by, ""))
                    for p in s.scalars(select(m.DeviceProfile).order_by(m.DeviceProfile.name))]
        return self._read(do)

    def save_device_profile(self, name: str, protocol: str, port: str, settings: dict[str, Any],
                            chair: str | None = None) -> DeviceProfileInfo:
        """Create or replace a device profile (technicians); the change is audit logged with before/after."""
        name = (name or "").strip()
        if not name or not protocol or not port:
            raise InvalidEntry("a device profile needs a name, a protocol and a port")
        try:
            settings_json = canonical_json(dict(settings))
        except (ValueError, TypeError) as err:
            raise InvalidEntry(f"device settings cannot be stored: {err}") from err

        def do(s: OrmSession, actor: UserContext) -> DeviceProfileInfo:
            p = s.scalar(select(m.DeviceProfile).where(m.DeviceProfile.name == name))
            before = _profile_dict(p) if p else None
            if p is None:
                p = m.DeviceProfile(name=name)
                s.add(p)
            p.protocol, p.port, p.settings_json, p.chair = protocol, port, settings_json, chair
            p.updated_at, p.updated_by = utcnow(), actor.id
            s.flush()
            audit(s, actor, "device_profile_save", f"device profile {name}", before, _profile_dict(p))
            return DeviceProfileInfo(p.name, p.protocol, p.port, json.loads(p.settings_json), p.chair,
                                     p.updated_at, actor.username)

        return self._write("save_device_profile", do)

    def delete_device_profile(self, name: str) -> None:
        def do(s: OrmSession, actor: UserContext) -> None:
            p = s.scalar(select(m.DeviceProfile).where(m.DeviceProfile.name == name))
            if p is None:
                raise NotFound(f"no device profile named {name!r}")
            audit(s, actor, "device_profile_delete", f"device profile {name}", _profile_dict(p), None)
            s.delete(p)

        self._write("delete_device_profile", do)

    def log_protocol_change(self, protocol_id: str, version: str, before: Any, after: Any,
                            detail: str = "") -> None:
        """Record a change of a protocol template or site setting in the audit trail (clinicians)."""
        def do(s: OrmSession, actor: UserContext) -> None:
            audit(s, actor, "protocol_change", f"protocol {protocol_id} {version}", before, after, detail)

        self._write("log_protocol_change", do)

    # ------------------------------------------------------------------ users (admins)
    def add_user(self, username: str, full_name: str, role: str, password: str) -> UserInfo:
        username = (username or "").strip()
        if not username or any(c.isspace() for c in username):
            raise InvalidEntry("a user name is needed, without spaces")
        if role not in ROLES:
            raise InvalidEntry(f"role must be one of {', '.join(ROLES)}")
        try:
            passwords.check_new_password(password)
        except ValueError as err:
            raise InvalidEntry(str(err)) from err
        hashed = passwords.hash_password(password)

        def do(s: OrmSession, actor: UserContext) -> UserInfo:
            if s.scalar(select(m.User.id).where(m.User.username == username)) is not None:
                raise InvalidEntry(f"a user named {username!r} already exists")
            now = utcnow()
            u = m.User(username=username, full_name=(full_name or username).strip(), role=role,
                       password_hash=hashed, active=True, demo=False, created_at=now, password_changed_at=now)
            s.add(u)
            s.flush()
            signing.create_user_key(s, self._db.trust, u, password, now)  # the user's signing key
            audit(s, actor, "user_add", f"user {username}", None, _user_dict(u))
            return _user_info(u)

        return self._write("add_user", do)

    def rotate_site_key(self) -> tuple[str, str]:
        """Replace this workstation's site key (docs/security.md, "Rotating keys"): the new key is endorsed by
        the old one, which stays in the registry so everything it signed still verifies. Admins only; audited
        with both key ids. Returns (old key id, new key id)."""
        def do(s: OrmSession, actor: UserContext) -> tuple[str, str]:
            old = self._db.trust.site_key().key_id
            new = self._db.trust.rotate_site_key().key_id
            # the audit row commits after the registry changed: a failed commit leaves a rotated key without
            # its audit row, never an audit row claiming a rotation that did not happen
            audit(s, actor, "site_key_rotate", f"site key {old[:12]}", {"key_id": old}, {"key_id": new})
            return old, new

        return self._write("rotate_site_key", do)

    def disable_user(self, username: str) -> UserInfo:
        def do(s: OrmSession, actor: UserContext) -> UserInfo:
            u = _user_by_name(s, username)
            if u.id == actor.id:
                raise InvalidEntry("you cannot disable your own account")
            before = _user_dict(u)
            u.active = False
            signing.retire_user_keys(s, self._db.trust, u.id)  # a user leaving signs nothing more
            audit(s, actor, "user_disable", f"user {username}", before, _user_dict(u))
            return _user_info(u)

        return self._write("disable_user", do)

    def enable_user(self, username: str) -> UserInfo:
        def do(s: OrmSession, actor: UserContext) -> UserInfo:
            u = _user_by_name(s, username)
            before = _user_dict(u)
            u.active = True
            audit(s, actor, "user_enable", f"user {username}", before, _user_dict(u))
            return _user_info(u)

        return self._write("enable_user", do)

    def set_password(self, username: str, password: str) -> None:
        try:
            passwords.check_new_password(password)
        except ValueError as err:
            raise InvalidEntry(str(err)) from err
        hashed = passwords.hash_password(password)

        def do(s: OrmSession, actor: UserContext) -> None:
            u = _user_by_name(s, username)
            u.password_hash = hashed
            u.password_changed_at = utcnow()
            # the old key cannot be re-wrapped without the old password: retire it (its signatures stay
            # valid) and make a new one under the new password
            signing.retire_user_keys(s, self._db.trust, u.id, u.password_changed_at)
            signing.create_user_key(s, self._db.trust, u, password, u.password_changed_at)
            audit(s, actor, "user_passwd", f"user {username}", detail="password set; new signing key")

        self._write("set_password", do)

    def users(self) -> list[UserInfo]:
        return self._read(lambda s: [_user_info(u)
                                     for u in s.scalars(select(m.User).order_by(m.User.username))])

    def audit_trail(self, action: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        """The audit trail, oldest first (auditors and everyone may read it)."""
        return self._db.audit_trail(action=action, limit=limit)

    # ------------------------------------------------------------------ vitals (read)
    def numerics(self, session_id: int, mdc: int | None = None, start: Any = None, end: Any = None) -> Any:
        return self._db.numerics(session_id, mdc, start, end)

    def waves(self, session_id: int, mdc: int, start: Any = None, end: Any = None) -> Any:
        return self._db.waves(session_id, mdc, start, end)

    def vitals_recorder(self, session_id: int) -> Any:
        """A writer thread recording this session's vitals (clinicians at the chair)."""
        self._require("record_vitals")
        return self._db.vitals_recorder(session_id)

    # ------------------------------------------------------------------ internals
    def _lock_session(self, s: OrmSession, session_id: int) -> m.Session:
        row = s.scalar(select(m.Session).where(m.Session.id == session_id).with_for_update())
        if row is None:
            raise NotFound(f"no session with id {session_id}")
        return row

    def _refuse_if_interrupted(self, row: m.Session) -> None:
        """An in-progress session nobody holds was interrupted: its break must be recorded first."""
        if (row.status == SessionStatus.IN_PROGRESS and row.lock_owner != self._db.owner
                and not self._db.lock_is_live(row.lock_owner, row.heartbeat_at)):
            raise SessionStateError(f"session {row.id} was interrupted; resume it first (or close it) so "
                                    "the break is recorded")

    def _append(self, s: OrmSession, actor: UserContext, row: m.Session, kind: str, data: Any,
                at: datetime, amends: str | None = None, client_id: str | None = None) -> EntryRecord:
        data_json = data if isinstance(data, str) else _data_json(data)
        return append_entry(s, self._db, actor, row, kind, data_json, at, amends, client_id)

    def _retry_seq(self, fn: Callable[[], T]) -> T:
        """Retry a write that lost a race for the next sequence number (the unique constraint fired)."""
        for attempt in range(_SEQ_RETRIES):
            try:
                return fn()
            except sa_exc.IntegrityError as err:
                if attempt == _SEQ_RETRIES - 1 or "seq" not in str(err.orig).lower():
                    raise
        raise AssertionError("unreachable")

    def _session_info(self, s: OrmSession, row: m.Session) -> SessionInfo:
        code = s.scalar(select(m.Patient.code).where(m.Patient.id == row.patient_id)) or ""
        starter = s.scalar(select(m.User.username).where(m.User.id == row.started_by)) or ""
        interrupted = (row.status == SessionStatus.IN_PROGRESS
                       and not self._db.lock_is_live(row.lock_owner, row.heartbeat_at))
        return SessionInfo(id=row.id, patient_id=row.patient_id, patient_code=code,
                           protocol_id=row.protocol_id, protocol_version=row.protocol_version,
                           chair=row.chair,
                           devices=json.loads(row.devices_json), details=json.loads(row.details_json),
                           demo=row.demo, status=row.status, started_at=row.started_at, started_by=starter,
                           ended_at=row.ended_at, entry_count=row.head_seq, head_hash=row.head_hash,
                           interrupted=interrupted, last_activity=row.heartbeat_at,
                           at_start=(json.loads(row.header_snapshot_json) if row.header_snapshot_json
                                     else None))


def _owner_host(owner: str | None) -> str:
    if not owner:
        return "none"
    parts = owner.split("|")
    return f"{parts[0]} pid {parts[1]}" if len(parts) >= 2 else owner


def _data_json(data: Any) -> str:
    if not isinstance(data, dict):
        raise InvalidEntry(f"entry data must be a dict, not {type(data).__name__}")
    try:
        return canonical_json(data)
    except (ValueError, TypeError) as err:
        raise InvalidEntry(f"entry data cannot be recorded: {err}") from err


def _entry_time(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    try:
        at_utc = to_utc(at, "the entry time")
    except (ValueError, TypeError) as err:
        raise InvalidEntry(str(err)) from err
    if at_utc - now > timedelta(seconds=FUTURE_TOLERANCE_S):
        raise InvalidEntry(f"the entry time {at_utc.isoformat()} is in the future; check the clock")
    return at_utc


def _patient_info(p: m.Patient) -> PatientInfo:
    return PatientInfo(p.id, p.code, p.name, p.birth_date, p.sex, p.weight_kg, p.demo, p.created_at)


def _user_info(u: m.User) -> UserInfo:
    return UserInfo(u.id, u.username, u.full_name, u.role, u.active, u.demo, u.created_at,
                    u.password_changed_at)


def _user_by_name(s: OrmSession, username: str) -> m.User:
    u = s.scalar(select(m.User).where(m.User.username == username))
    if u is None:
        raise NotFound(f"no user named {username!r}")
    return u


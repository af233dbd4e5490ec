"""The record database: opening (create/upgrade/refuse), login, liveness of sessions, verification.

``open_database(url)`` is the one way in; ``Database.service(user)`` gives the :class:`SessionService` through
which every write goes.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session as OrmSession

from console.record import signing, trust_verify
from console.record import models as m
from console.record import passwords
from console.record.engine import DEFAULT_BUSY_TIMEOUT_MS, make_engine, resolve_url, writer
from console.record.errors import AuthError, NotFound, RecordError, StorageUnavailable
from console.record.guard import plain_message, storage_guard
from console.record.records import (
    AuditRecord,
    Problem,
    SessionStatus,
    UserContext,
    VerifyResult,
)
from console.record.roles import Role
from console.record.schema import SchemaResult, ensure_schema
from console.record.service import SessionService, audit
from console.record.timeutil import utcnow
from console.record.trust import TrustDir, TrustError

#: a session whose console is on another machine counts as interrupted after this long without a heartbeat
HEARTBEAT_STALE_S = 120
DEMO_USERNAME = "demo"
#: the demo clinician's password (for signing demo sessions); demo sessions are flagged DEMO everywhere
DEMO_PASSWORD = "demo"
SIMULATION_USERNAME = "simulation"

_HOST = socket.gethostname()
_log = logging.getLogger(__name__)
#: owner tokens of the Database objects open in this process (a closed one no longer holds its sessions)
_LIVE_OWNERS: set[str] = set()
_LIVE_LOCK = threading.Lock()


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash of a random password, checked for unknown user names (same cost as a real check)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = passwords.hash_password(uuid.uuid4().hex)
    return _DUMMY_HASH


def _process_start(pid: int) -> str:
    """When a process started (Linux: clock ticks since boot, from /proc), so a reused pid is not taken for
    the console that died; empty where /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class Database:
    """An open record database (see :func:`open_database`)."""

    def __init__(self, engine: Engine, schema: SchemaResult | None = None,
                 clock: Callable[[], datetime] | None = None, trust_dir: str | Path | None = None) -> None:
        self.engine = engine
        #: the site trust folder (keys registry, site key, witness) outside the database
        self.trust = TrustDir(trust_dir)
        self._clock = clock or utcnow
        #: True when times come from a simulation; then only demo accounts may write (see SessionService)
        self.simulated_clock = clock is not None
        self.write_engine = writer(engine)
        self.url = engine.url.render_as_string(hide_password=True)
        self.schema = schema
        #: identifies this open database in ``sessions.lock_owner``: host | pid | random | process start
        self.owner = f"{_HOST}|{os.getpid()}|{uuid.uuid4().hex[:12]}|{_process_start(os.getpid())}"
        self._recorders: list[Any] = []
        self._closed = False
        #: opened by :func:`open_for_verify`: holds no sessions, never writes except the verify audit row
        self.verify_only = False
        #: why the schema could not be read when opened for verify (a damaged file), else None
        self.open_error: str | None = None
        with _LIVE_LOCK:
            _LIVE_OWNERS.add(self.owner)

    def now(self) -> datetime:
        """The time the record stamps on sessions and entries: the real UTC clock, except in a simulation
        (``open_database(..., clock=...)``), where only demo accounts may write."""
        return self._clock()

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Stop recorders, release the sessions this console holds (they show as interrupted until resumed
        or signed), and close the connections."""
        if self._closed:
            return
        self._closed = True
        for rec in list(self._recorders):
            rec.close()
        if self.verify_only:
            with _LIVE_LOCK:
                _LIVE_OWNERS.discard(self.owner)
            self.engine.dispose()
            return
        self._anchor_held_sessions()
        try:
            with storage_guard(), self.write_engine.begin() as conn:
                conn.execute(update(m.Session).where(m.Session.lock_owner == self.owner)
                             .values(lock_owner=None))
        except StorageUnavailable:
            pass  # the sessions will show as interrupted anyway once this process is gone
        finally:
            with _LIVE_LOCK:
                _LIVE_OWNERS.discard(self.owner)
            self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ people
    def authenticate(self, username: str, password: str) -> UserContext:
        """Log in; every success, failure, throttled or locked-out attempt goes to the audit trail.

        Raises :class:`AuthError` (wrong password, disabled, demo account, throttled or locked: see
        :mod:`console.record.lockout`); the message is the one to show the person at the keyboard.
        """
        from console.record import lockout

        policy = lockout.load_policy()
        now = utcnow()
        refusal: str | None = None
        with storage_guard(), OrmSession(self.write_engine) as s, s.begin():
            state = lockout.login_state(s, username, policy)
            if state.locked(policy, now):
                audit(s, None, "login_locked", f"user {username}", detail="account locked", username=username)
                refusal = lockout.locked_message(username)
            elif (wait := state.wait_s(policy, now)) > 0:
                audit(s, None, lockout.THROTTLED_ACTION, f"user {username}",
                      detail=f"{state.failures} failures, {wait:.0f} s to wait", username=username)
                refusal = lockout.throttled_message(wait)
            else:
                u = s.scalar(select(m.User).where(m.User.username == username))
                # an unknown name costs the same hash check, so timing does not tell which names exist
                ok = passwords.verify_password(u.password_hash if u is not None else _dummy_hash(), password)
                ok = ok and u is not None and u.active and not u.demo
                if not ok:
                    reason = ("unknown user" if u is None else "account disabled" if not u.active
                              else "demo account: no interactive log-in" if u.demo else "wrong password")
                    audit(s, None, lockout.FAILURE_ACTION, f"user {username}", detail=reason,
                          username=username)
                    failures = state.failures + 1
                    if policy.lockout_after > 0 and failures >= policy.lockout_after:
                        if not state.lockout_recorded:
                            audit(s, None, lockout.LOCKOUT_ACTION, f"user {username}",
                                  detail=f"locked after {failures} consecutive failed log-ins",
                                  username=username)
                        refusal = lockout.locked_message(username)
                    elif u is not None and u.demo:
                        refusal = (f"The {username} account is for demonstrations only and cannot log in; "
                                   "start Chairside with --demo instead.")
                    else:
                        refusal = "Wrong user name or password, or the account is disabled."
                else:
                    assert u is not None
                    if passwords.needs_rehash(u.password_hash):
                        u.password_hash = passwords.hash_password(password)
                    ctx = UserContext(u.id, u.username, u.full_name, u.role, u.demo)
                    audit(s, ctx, "login", f"user {username}")
        if refusal is not None:
            raise AuthError(refusal)
        return ctx

    def demo_login(self) -> UserContext:
        """Log in as the demo clinician (created on first use); everything it records is flagged DEMO.

        Only on a database that holds only demo data (:mod:`console.record.demo`); a real record raises
        :class:`~console.record.demo.DemoRefused`.
        """
        return self._special_clinician(DEMO_USERNAME, "Demo Clinician (DEMO)", DEMO_PASSWORD)

    def simulation_login(self) -> UserContext:
        """The clinician used by ``chairside simulate-session``; its sessions are flagged DEMO too.
        Refused like :meth:`demo_login` on a real record."""
        return self._special_clinician(SIMULATION_USERNAME, "Simulation Clinician (SIMULATED)", DEMO_PASSWORD)

    def _special_clinician(self, username: str, full_name: str, password: str) -> UserContext:
        from console.record.demo import DemoRefused, holds_only_demo_data

        with storage_guard(), OrmSession(self.write_engine) as s, s.begin():
            # checked inside the write transaction, so a real user added meanwhile cannot slip past
            if not holds_only_demo_data(s.connection()):
                raise DemoRefused(f"this database ({self.url}) holds real records; the {username} account is "
                                  "used only in databases that hold demo data alone (chairside --demo uses "
                                  "its own)")
            u = s.scalar(select(m.User).where(m.User.username == username))
            if u is None:
                now = utcnow()
                u = m.User(username=username, full_name=full_name, role=Role.CLINICIAN.value,
                           password_hash=passwords.hash_password(password), active=True, demo=True,
                           created_at=now, password_changed_at=now)
                s.add(u)
                s.flush()
                audit(s, None, "user_add", f"user {username}", None,
                      {"username": username, "role": "clinician", "demo": True}, username="system")
            if not u.demo or not u.active:
                raise AuthError(f"the account {username!r} exists but is not an active demo account")
            ctx = UserContext(u.id, u.username, u.full_name, u.role, True)
            audit(s, ctx, "login", f"user {username}", detail="demo login")
        return ctx

    def system_user(self, label: str | None = None) -> UserContext:
        """The program itself acting with database-file authority (reads, the first user of an empty record),
        recorded as ``label`` or ``cli@<host>``. Never a person: actions a person answers for take an
        authenticated user (:func:`console.record.cli_support.authenticate_cli`); the operating system's user
        name is not used, since anyone can set it."""
        return UserContext(0, label or f"cli@{_HOST}", "Chairside command line", Role.ADMIN.value, False)

    def check_password(self, user: UserContext, password: str, action: str = "sign",
                       target: str = "") -> bool:
        """Re-check a logged-in user's password (signing); a failure is audit logged."""
        with storage_guard(), OrmSession(self.write_engine) as s, s.begin():
            u = s.get(m.User, user.id)
            ok = u is not None and u.active and passwords.verify_password(u.password_hash, password)
            if not ok:
                audit(s, user, f"{action}_failed", target, detail="wrong password")
        return ok

    def service(self, user: UserContext) -> SessionService:
        """The service through which ``user`` reads and writes the record."""
        return SessionService(self, user)

    # ------------------------------------------------------------------ liveness
    def lock_is_live(self, owner: str | None, heartbeat_at: datetime | None) -> bool:
        """Whether the console named by ``owner`` still holds its session (see ``interrupted_sessions``)."""
        if not owner:
            return False
        parts = owner.split("|")
        if len(parts) == 4 and parts[0] == _HOST:
            try:
                pid = int(parts[1])
            except ValueError:
                return False
            if pid == os.getpid():
                with _LIVE_LOCK:
                    return owner in _LIVE_OWNERS
            if not _pid_alive(pid):
                return False
            started = _process_start(pid)
            return not (parts[3] and started and started != parts[3])  # same pid, other process: dead
        if heartbeat_at is None:
            return False
        return utcnow() - heartbeat_at < timedelta(seconds=HEARTBEAT_STALE_S)

    def heartbeat(self, session_ids: list[int] | None = None) -> None:
        """Refresh the heartbeat of the sessions this console holds (all, or those given)."""
        q = update(m.Session).where(m.Session.lock_owner == self.owner)
        if session_ids:
            q = q.where(m.Session.id.in_(session_ids))
        with storage_guard(), self.write_engine.begin() as conn:
            conn.execute(q.values(heartbeat_at=utcnow()))

    # ------------------------------------------------------------------ trust anchors
    def use_trust_dir(self, trust_dir: str | Path) -> None:
        """Verify against (and anchor into) another trust folder, e.g. an auditor's copy."""
        self.trust = TrustDir(trust_dir)

    def record_id(self) -> str:
        """The random id naming this record in signatures and witness lines."""
        with storage_guard(), OrmSession(self.engine) as s:
            return signing.record_id(s)

    def anchor_checkpoint(self, session_id: int) -> dict[str, Any]:
        """Sign the session's current chain head with the site key and write it to the witness.

        Returns the witness line. Raises :class:`NotFound` or :class:`TrustError` (witness not writable).
        """
        with storage_guard(), OrmSession(self.engine) as s:
            row = s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"no session with id {session_id}")
            line = signing.witness_line("checkpoint", signing.record_id(s), row.id, row.head_seq,
                                        row.head_hash)
        self.trust.witness(line)
        return line

    def anchor_after_commit(self, s: OrmSession, session_id: int, seq: int, entry_hash: str) -> None:
        """Witness (session, seq, hash) once the transaction of ``s`` commits (a rolled-back entry is
        never witnessed). A witness that cannot be written is logged; verify then misses that anchor only."""
        line = signing.witness_line("checkpoint", signing.record_id(s), session_id, seq, entry_hash)

        def after_commit(_session: OrmSession) -> None:
            try:
                self.trust.witness(line)
            except (TrustError, OSError) as err:
                _log.warning("checkpoint of session %s not witnessed: %s", session_id, err)

        event.listen(s, "after_commit", after_commit, once=True)

    def witness_seal(self, session_id: int, seq: int, entry_hash: str, key_id: str, meaning: str) -> None:
        """Write a committed signature entry to the witness (:class:`TrustError` if impossible)."""
        self.trust.witness(signing.witness_line("seal", self.record_id(), session_id, seq, entry_hash,
                                                signer_key_id=key_id, meaning=meaning))

    def _anchor_held_sessions(self) -> None:
        """At close, checkpoint the sessions this console still holds (they become interrupted)."""
        try:
            with storage_guard(), OrmSession(self.engine) as s:
                held = list(s.scalars(select(m.Session.id).where(m.Session.lock_owner == self.owner)))
            for sid in held:
                self.anchor_checkpoint(sid)
        except (RecordError, TrustError, OSError) as err:
            _log.warning("sessions held at close not witnessed: %s", err)

    # ------------------------------------------------------------------ integrity
    def verify(self, session_id: int | None = None, actor: UserContext | None = None) -> VerifyResult:
        """Check the record (one session or all) and return every problem found, first one first.

        Checks, each turning any failure to read into a named ``unreadable`` finding rather than an
        exception: SQLite's own ``PRAGMA integrity_check`` (``damaged``); the append-only guards
        (``unprotected``: reported, never silently restored); the audit chain; each session's header, entry
        chain and checkpoints over its vitals, waves, monitor events and raw captures; the patient and user
        rows against what session headers and the audit trail recorded; sessions the audit trail knows that
        are gone. The run is written to the audit trail unless the file is damaged. Raises
        :class:`NotFound` only for a session id that neither the sessions nor the audit trail know.
        """
        from console.record.integrity import RecordCheck

        check = RecordCheck(self.engine, open_error=self.open_error)
        result = check.run(session_id)
        if check.damaged:
            return result  # never write into a damaged file
        if not check.damaged:
            try:
                with storage_guard(), OrmSession(self.engine) as s:
                    result.problems.extend(trust_verify.verify_trust(s, self.trust, session_id))
            except Exception as err:  # noqa: BLE001 - a failure to read is a finding, never a traceback
                result.problems.append(Problem(session_id, "unreadable",
                                               f"signatures and witness could not be checked: {err}"))
        try:
            with storage_guard(), OrmSession(self.write_engine) as s, s.begin():
                found = result.as_dict()
                found["problems"] = found["problems"][:50]  # the first ones; the total says how many
                found["total_problems"] = len(result.problems)
                audit(s, actor or self.system_user(), "verify",
                      "all sessions" if session_id is None else f"session {session_id}",
                      after=found if not result.ok else {"ok": True}, detail=result.summary()[:2000])
        except Exception:  # noqa: BLE001, S110 - a read-only copy: the result stands without its audit row
            pass
        return result

    def audit_trail(self, action: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        with storage_guard(), OrmSession(self.engine) as s:
            q = select(m.AuditEvent).order_by(m.AuditEvent.id)
            if action:
                q = q.where(m.AuditEvent.action == action)
            if limit:
                q = q.limit(limit)
            return [AuditRecord(a.id, a.at, a.user_id, a.username, a.role, a.action, a.target,
                                None if a.before_json is None else json.loads(a.before_json),
                                None if a.after_json is None else json.loads(a.after_json), a.detail)
                    for a in s.scalars(q)]

    # ------------------------------------------------------------------ vitals
    def vitals_recorder(self, session_id: int, **options: Any) -> Any:
        """Start a :class:`~console.record.vitals.VitalsRecorder` writer thread for a session."""
        from console.record.vitals import VitalsRecorder

        with storage_guard(), OrmSession(self.engine) as s:
            row = s.get(m.Session, session_id)
            if row is None:
                raise NotFound(f"no session with id {session_id}")
        rec = VitalsRecorder(self, session_id, **options)
        self._recorders.append(rec)
        return rec

    def _forget_recorder(self, rec: Any) -> None:
        """Called by a recorder that closed: what it wrote last (after the last periodic checkpoint, maybe
        after sign-off) comes under the session's chain now, so verify does not take it for an insertion."""
        if rec in self._recorders:
            self._recorders.remove(rec)
        session_id = getattr(rec, "session_id", None)
        if session_id is None or self.verify_only:
            return
        from console.record.checkpoints import append_checkpoint

        try:
            append_checkpoint(self, session_id, only_new_rows=True)
        except RecordError:
            pass  # storage down: the rows stay uncovered and verify will name them; nothing is lost

    def numerics(self, session_id: int, mdc: int | None = None, start: Any = None, end: Any = None) -> Any:
        """Stored numerics as numpy arrays (see :func:`console.record.vitals.read_numerics`)."""
        from console.record.vitals import read_numerics

        with storage_guard():
            return read_numerics(self.engine, session_id, mdc, start, end)

    def waves(self, session_id: int, mdc: int, start: Any = None, end: Any = None) -> Any:
        """Stored wave samples (see :func:`console.record.vitals.read_waves`)."""
        from console.record.vitals import read_waves

        with storage_guard():
            return read_waves(self.engine, session_id, mdc, start, end)

    def vitals_summary(self, session_id: int) -> dict[str, Any]:
        from console.record.vitals import vitals_summary

        with storage_guard():
            return vitals_summary(self.engine, session_id)


def open_database(url: str | None = None, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                  clock: Callable[[], datetime] | None = None,
                  trust_dir: str | Path | None = None) -> Database:
    """Open the record at ``url`` (``--db``, else ``$CHAIRSIDE_DB``, else the user data dir SQLite file).

    A fresh database is created at the newest schema; an older one is upgraded (SQLite: after a backup copy
    next to the file); a newer one raises :class:`SchemaTooNew`; an unreachable one
    :class:`StorageUnavailable`. ``clock`` (simulations only) replaces the real clock for session and entry
    times; a database opened with one accepts writes from demo accounts only. ``trust_dir`` is the site trust
    folder (default ``$CHAIRSIDE_TRUST_DIR``, else ``trust`` in the user data folder; see
    :mod:`console.record.trust`).
    """
    resolved = resolve_url(url)
    try:
        engine = make_engine(resolved, busy_timeout_ms=busy_timeout_ms)
    except Exception as err:  # bad URL, missing driver: say so plainly
        raise StorageUnavailable(f"cannot use the database URL {resolved!r}: {err}") from err
    try:
        with storage_guard():
            schema = ensure_schema(engine)
    except RecordError:
        engine.dispose()
        raise
    except Exception as err:
        engine.dispose()
        raise StorageUnavailable(plain_message(err)) from err
    return Database(engine, schema, clock, trust_dir)


SQLITE_MAGIC = b"SQLite format 3\x00"


def open_for_verify(url: str | None = None) -> Database:
    """Open an existing record to verify it: never creates, upgrades or converts anything.

    A missing SQLite file, a file that is not SQLite, a database without a Chairside schema, or one at
    another schema revision raise :class:`RecordError` subclasses with one plain line (nothing is created:
    no file, no folder). A file whose schema cannot even be read (damaged pages) is still opened, with
    ``open_error`` set, so ``verify`` reports the damage as findings.
    """
    from console.record.engine import ENV_URL, sqlite_path
    from console.record.errors import NotAChairsideDatabase, SchemaTooNew
    from console.record.schema import current_revision, head_revision, known_revisions

    raw = url or os.environ.get(ENV_URL)
    if not raw:
        import platformdirs
        raw = str(Path(platformdirs.user_data_dir("chairside")) / "chairside.sqlite3")
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser().resolve()}"
    path = None
    try:
        path = sqlite_path(raw)
    except Exception as err:
        raise StorageUnavailable(f"cannot use the database URL {raw!r}: {plain_message(err)}") from err
    if path is not None:
        if not path.is_file():
            raise NotAChairsideDatabase(f"no Chairside record at {path}: the file does not exist "
                                        "(nothing was created)")
        try:
            with open(path, "rb") as f:
                magic = f.read(len(SQLITE_MAGIC))
        except OSError as err:
            raise StorageUnavailable(f"cannot read {path}: {err.strerror or err}") from err
        if magic != SQLITE_MAGIC:
            raise NotAChairsideDatabase(f"{path} is not a Chairside record (not an SQLite database file); "
                                        "nothing was changed")
    try:
        engine = make_engine(raw, existing_only=True)
    except Exception as err:
        raise StorageUnavailable(f"cannot use the database URL {raw!r}: {plain_message(err)}") from err
    open_error: str | None = None
    rev: str | None = None
    try:
        with engine.connect() as conn:
            rev = current_revision(conn)
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
        if path is None:
            engine.dispose()
            raise StorageUnavailable(plain_message(err)) from err
        open_error = plain_message(err).split(" Nothing was lost")[0] + f" ({str(err.orig)[:200]})"
    except Exception as err:  # noqa: BLE001 - a damaged file: verify reports it as findings
        open_error = f"{type(err).__name__}: {str(getattr(err, 'orig', err))[:200]}"
    if open_error is None:
        where = str(path) if path is not None else engine.url.render_as_string(hide_password=True)
        if rev is None:
            engine.dispose()
            what = "it holds no tables" if not tables else "its tables are not a Chairside schema"
            raise NotAChairsideDatabase(f"{where} is not a Chairside record ({what}); nothing was changed")
        if rev not in known_revisions():
            engine.dispose()
            raise SchemaTooNew(f"{where} has schema revision {rev!r}: it was written by a newer Chairside "
                               "than this one; verify it with that version (nothing was changed)")
        if rev != head_revision():
            engine.dispose()
            raise SchemaTooNew(f"{where} has the older schema revision {rev!r}; verify a copy after "
                               f"`chairside db upgrade --db COPY` (which keeps a backup); nothing was changed")
    db = Database(engine, SchemaResult("current", rev, rev or ""), None)
    db.verify_only = True
    db.open_error = open_error
    return db


__all__ = ["Database", "SessionStatus", "open_database", "open_for_verify"]

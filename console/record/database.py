"""The record database: opening (create/upgrade/refuse), login, liveness of sessions, verification.

``open_database(url)`` is the one way in; ``Database.service(user)`` gives the :class:`SessionService` through
which every write goes.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session as OrmSession

from console.record import chain, passwords
from console.record import models as m
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

#: a session whose console is on another machine counts as interrupted after this long without a heartbeat
HEARTBEAT_STALE_S = 120
DEMO_USERNAME = "demo"
#: the demo clinician's password (for signing demo sessions); demo sessions are flagged DEMO everywhere
DEMO_PASSWORD = "demo"
SIMULATION_USERNAME = "simulation"

_HOST = socket.gethostname()
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
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
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

    # ------------------------------------------------------------------ integrity
    def verify(self, session_id: int | None = None, actor: UserContext | None = None) -> VerifyResult:
        """Recompute the hash chain of one session or all; the run is written to the audit trail."""
        result = VerifyResult()
        with storage_guard(), OrmSession(self.engine) as s:
            q = select(m.Session).order_by(m.Session.id)
            if session_id is not None:
                q = q.where(m.Session.id == session_id)
            sessions = list(s.scalars(q))
            if session_id is not None and not sessions:
                raise NotFound(f"no session with id {session_id}")
            for row in sessions:
                entries = list(s.scalars(select(m.Entry).where(m.Entry.session_id == row.id)
                                         .order_by(m.Entry.seq, m.Entry.entered_at)))
                problems, n = chain.verify_session(row, entries)
                result.problems.extend(problems)
                result.sessions_checked += 1
                result.entries_checked += n
            # entries whose session row is gone
            orphan = s.scalar(select(m.Entry).where(m.Entry.session_id.not_in(select(m.Session.id))).limit(1))
            if orphan is not None and session_id is None:
                result.problems.append(Problem(orphan.session_id, "missing", "the session row of these "
                                               "entries is missing", orphan.id, orphan.seq))
        try:
            with storage_guard(), OrmSession(self.write_engine) as s, s.begin():
                audit(s, actor or self.system_user(), "verify",
                      "all sessions" if session_id is None else f"session {session_id}",
                      after=result.as_dict() if not result.ok else {"ok": True},
                      detail=result.summary())
        except StorageUnavailable:
            pass  # a read-only copy can still be verified; the result is returned either way
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
        if rec in self._recorders:
            self._recorders.remove(rec)

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
                  clock: Callable[[], datetime] | None = None) -> Database:
    """Open the record at ``url`` (``--db``, else ``$CHAIRSIDE_DB``, else the user data dir SQLite file).

    A fresh database is created at the newest schema; an older one is upgraded (SQLite: after a backup copy
    next to the file); a newer one raises :class:`SchemaTooNew`; an unreachable one
    :class:`StorageUnavailable`. ``clock`` (simulations only) replaces the real clock for session and entry
    times; a database opened with one accepts writes from demo accounts only.
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
    return Database(engine, schema, clock)


__all__ = ["Database", "open_database", "SessionStatus"]

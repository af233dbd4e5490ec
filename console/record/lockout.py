"""Log-in throttling and lockout, derived from the audit trail (no table of its own, no schema change).

Every log-in attempt is already audited: ``login`` on success, ``login_failed`` on a failure. The failures
that count against a user name are the ``login_failed`` rows since the last event that clears them: a
successful ``login``, an administrator's ``user_unlock`` or ``user_passwd`` (a password set by an admin).

* From :attr:`LoginPolicy.throttle_after` consecutive failures on, the next attempt must wait: 1 s after the
  first throttled failure, doubling each time up to :attr:`LoginPolicy.max_delay_s`. An attempt made too
  soon is refused without checking the password (audited ``login_throttled``) and does not count as a
  failure, so a user pressing Enter again does not lock themselves out.
* At :attr:`LoginPolicy.lockout_after` consecutive failures the account is locked (audited once as
  ``user_lockout``): even the right password is refused until an administrator runs ``chairside users
  unlock NAME`` (audited ``user_unlock``), or, only where the site sets ``lockout_minutes``, until that long
  after the last failure.

Unknown user names are counted exactly like real ones, so the messages never tell whether an account exists.

The thresholds are site settings, read from the ``[login]`` table of the site configuration file
(``$CHAIRSIDE_CONFIG``, else ``chairside.toml`` in the platform's site configuration folder, e.g.
``/etc/xdg/chairside/chairside.toml``), each overridable per workstation by an environment variable
(``CHAIRSIDE_LOGIN_THROTTLE_AFTER``, ``CHAIRSIDE_LOGIN_LOCKOUT_AFTER``, ``CHAIRSIDE_LOGIN_MAX_DELAY_S``,
``CHAIRSIDE_LOGIN_LOCKOUT_MINUTES``). A malformed setting raises :class:`ConfigError` with a plain message;
it never silently weakens the policy.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from console.record import models as m
from console.record.errors import NotFound, PermissionDenied, RecordError
from console.record.guard import storage_guard
from console.record.records import UserContext
from console.record.roles import Role
from console.record.timeutil import utcnow

if TYPE_CHECKING:
    from console.record.database import Database

ENV_CONFIG = "CHAIRSIDE_CONFIG"
#: audit actions that clear the failure count of the user name they target
CLEARING_ACTIONS = ("login", "user_unlock", "user_passwd")
FAILURE_ACTION = "login_failed"
LOCKOUT_ACTION = "user_lockout"
THROTTLED_ACTION = "login_throttled"


class ConfigError(RecordError):
    """A site setting that cannot be used as written (the message names the file or variable)."""


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords a user name may have before it is slowed down, then locked."""

    #: consecutive failures after which each further attempt must wait (0: never throttle)
    throttle_after: int = 3
    #: consecutive failures that lock the account until an administrator unlocks it (0: never lock)
    lockout_after: int = 10
    #: the longest wait between throttled attempts, in seconds
    max_delay_s: int = 60
    #: a lockout also ends by itself this long after the last failure (0: only an administrator unlocks)
    lockout_minutes: int = 0

    def delay_after(self, failures: int) -> float:
        """Seconds the next attempt must wait after the last of ``failures`` consecutive failures."""
        if self.throttle_after <= 0 or failures < self.throttle_after:
            return 0.0
        return float(min(self.max_delay_s, 2 ** min(failures - self.throttle_after, 30)))


def site_config_path() -> Path:
    """The site configuration file: ``$CHAIRSIDE_CONFIG``, else the platform's site config folder."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.site_config_dir("chairside")) / "chairside.toml"


def load_policy() -> LoginPolicy:
    """The log-in policy in force: defaults, then the site file's ``[login]`` table, then the environment."""
    values: dict[str, Any] = {}
    path = site_config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read the site configuration {path}: {err}") from err
        section = data.get("login", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [login] must be a table")
        known = {f.name for f in fields(LoginPolicy)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown [login] setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        for key, value in section.items():
            values[key] = _check(f"{path} [login] {key}", value)
    for f in fields(LoginPolicy):
        env = os.environ.get(f"CHAIRSIDE_LOGIN_{f.name.upper()}")
        if env is not None and env.strip():
            try:
                number = int(env.strip())
            except ValueError:
                raise ConfigError(f"CHAIRSIDE_LOGIN_{f.name.upper()} must be a whole number, not {env!r}") \
                    from None
            values[f.name] = _check(f"CHAIRSIDE_LOGIN_{f.name.upper()}", number)
    policy = LoginPolicy(**values)
    if policy.max_delay_s < 1 and policy.throttle_after > 0:
        raise ConfigError("max_delay_s must be at least 1 second when throttling is on")
    return policy


def _check(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise ConfigError(f"{where} must be a whole number from 0 to 1000000, not {value!r}")
    return value


@dataclass(frozen=True)
class LoginState:
    """What the audit trail says about one user name's recent log-in attempts."""

    failures: int
    last_failure_at: datetime | None
    #: a ``user_lockout`` row was written since the failures were last cleared
    lockout_recorded: bool

    def locked(self, policy: LoginPolicy, now: datetime) -> bool:
        if policy.lockout_after <= 0 or self.failures < policy.lockout_after:
            return False
        if policy.lockout_minutes > 0 and self.last_failure_at is not None:
            return now - self.last_failure_at < timedelta(minutes=policy.lockout_minutes)
        return True

    def wait_s(self, policy: LoginPolicy, now: datetime) -> float:
        """Seconds before another attempt is accepted (0 when it may be made now)."""
        if self.last_failure_at is None:
            return 0.0
        due = self.last_failure_at + timedelta(seconds=policy.delay_after(self.failures))
        return max(0.0, (due - now).total_seconds())


def login_state(s: OrmSession, username: str, policy: LoginPolicy) -> LoginState:
    """Count the failures since the last clearing event for ``username`` (reads the audit trail)."""
    target = f"user {username}"
    # newest first; one more row than a lockout needs is enough to know the count has reached it
    limit = max(policy.lockout_after, policy.throttle_after + 40) + 1
    rows = s.execute(
        select(m.AuditEvent.action, m.AuditEvent.at)
        .where(m.AuditEvent.target == target,
               m.AuditEvent.action.in_((*CLEARING_ACTIONS, FAILURE_ACTION, LOCKOUT_ACTION)))
        .order_by(m.AuditEvent.id.desc()).limit(limit)).all()
    failures = 0
    last: datetime | None = None
    lockout_recorded = False
    for action, at in rows:
        if action in CLEARING_ACTIONS:
            break
        if action == LOCKOUT_ACTION:
            lockout_recorded = True
            continue
        failures += 1
        if last is None:
            last = at
    return LoginState(failures, last, lockout_recorded)


def locked_message(username: str) -> str:
    return (f"The account {username} is locked after too many wrong passwords. An administrator can unlock "
            f"it: chairside users unlock {username}")


def throttled_message(wait_s: float) -> str:
    seconds = max(1, int(wait_s + 0.999))
    return f"Too many wrong passwords: wait {seconds} second{'s' if seconds != 1 else ''} before trying again."


def unlock_user(db: Database, admin: UserContext, username: str) -> int:
    """Clear ``username``'s failed log-ins (``user_unlock`` in the audit trail, by ``admin``); returns how many
    were cleared. Only an active administrator, as the database knows them now, may unlock."""
    from console.record.service import audit

    policy = load_policy()
    with storage_guard(), OrmSession(db.write_engine) as s, s.begin():
        row = s.get(m.User, admin.id)
        if row is None or not row.active or row.role != Role.ADMIN.value:
            raise PermissionDenied("only an active admin can unlock accounts")
        if s.scalar(select(m.User.id).where(m.User.username == username)) is None:
            raise NotFound(f"no user named {username!r}")
        state = login_state(s, username, policy)
        actor = UserContext(row.id, row.username, row.full_name, row.role, row.demo)
        audit(s, actor, "user_unlock", f"user {username}",
              before={"failures": state.failures, "locked": state.locked(policy, utcnow())},
              after={"failures": 0, "locked": False}, detail=f"{state.failures} failed log-ins cleared")
    return state.failures

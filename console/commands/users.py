"""``chairside users add|list|disable|enable|passwd|unlock``: manage the people who may use Chairside.

Every change is made by an administrator who logs in for it (``--user NAME``; passwords are read from
standard input when it is not a terminal, one per line, the administrator's first, else typed at prompts)
and is written to the audit trail under that administrator's name. The one exception is the first user of
a record that has no real users yet: it needs no log-in (nobody could give one), must be an admin, and is
audited as made by the command line of this computer.
"""

from __future__ import annotations

import argparse
import json
import socket

from console.record.cli_support import (
    add_db_argument,
    add_user_argument,
    authenticate_cli,
    fail,
    read_new_password,
    table,
    with_database,
)
from console.record.database import Database
from console.record.demo import holds_only_demo_data
from console.record.engine import resolve_url, sqlite_path
from console.record.errors import AuthError, InvalidEntry
from console.record.guard import storage_guard
from console.record.lockout import load_policy, login_state, unlock_user
from console.record.passwords import check_new_password
from console.record.records import UserContext
from console.record.roles import ROLES, Role
from console.record.timeutil import utcnow


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "users", help="add, list, disable, unlock users and set passwords",
        description="Manage Chairside users. Changes are made by an administrator who logs in with --user "
                    "(passwords are read from standard input when it is not a terminal, one per line, "
                    "the administrator's first; else typed at prompts) and are audited under that name. "
                    "The first user of a record without users needs no log-in and must be an admin.")
    verbs = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = verbs.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    add.add_argument("--name", dest="full_name", default=None, help="full name, printed on signatures")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the new password from standard input (the default when it is not a terminal)")

    lst = verbs.add_parser("list", help="list users")
    lst.add_argument("--format", choices=("table", "json"), default="table")

    dis = verbs.add_parser("disable", help="disable a user (they can no longer log in or write)")
    dis.add_argument("username")
    en = verbs.add_parser("enable", help="enable a disabled user again")
    en.add_argument("username")
    unl = verbs.add_parser("unlock", help="unlock a user locked out after too many wrong passwords")
    unl.add_argument("username")

    pw = verbs.add_parser("passwd", help="set a user's password")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the new password from standard input (the default when it is not a terminal)")

    for p in (add, lst, dis, en, unl, pw):
        add_db_argument(p)
        p.set_defaults(run=run)
    for p in (add, dis, en, unl, pw):
        add_user_argument(p, "this change to the users")
    parser.set_defaults(run=run)


def _has_real_users(db: Database) -> bool:
    return any(not u.demo for u in db.service(db.system_user()).users())


def _admin(db: Database, args: argparse.Namespace) -> UserContext:
    """The administrator making the change, logged in (demo-only databases have no administrator)."""
    if not _has_real_users(db):
        raise AuthError("this record has no users yet: add the first one, an admin, with "
                        "'chairside users add NAME --role admin'")
    user = authenticate_cli(db, args.user, what="managing users")
    if user.role != Role.ADMIN.value:
        raise AuthError(f"only an admin can manage users; {user.username} is a {user.role}")
    return user


def _first_user(db: Database, args: argparse.Namespace) -> UserContext:
    """The first user of an empty record: allowed without log-in, but only as an admin, in a real record."""
    if args.role != Role.ADMIN.value:
        raise InvalidEntry("the first user of a record must be an admin (--role admin), who then adds the "
                           "others")
    with storage_guard(), db.engine.connect() as conn:
        demo_only = holds_only_demo_data(conn)
    if demo_only and db.service(db.system_user()).sessions(limit=1):
        raise InvalidEntry("this database holds demo sessions; start the real record in a new database "
                           "(--db) so demo and real records never mix")
    return db.system_user(f"cli@{socket.gethostname()} (first admin)")


def run(args: argparse.Namespace) -> int:
    cmd = args.users_command
    early_password: str | None = None
    if cmd == "add":
        fresh = _fresh_file(args.db)
        if isinstance(fresh, str):
            return fail(fresh)
        if fresh:
            # A record that does not exist yet can only get its first admin: check everything that can be
            # wrong before the file is created, so a refusal leaves nothing behind.
            if args.role != Role.ADMIN.value:
                return fail("the first user of a record must be an admin (--role admin), who then adds the "
                            "others")
            try:
                early_password = _new_password(args)
                check_new_password(early_password, (args.username, args.full_name or ""))
            except (AuthError, ValueError) as err:  # InvalidEntry is a ValueError
                return fail(str(err))

    def act(db: Database) -> int:
        if cmd == "list":
            return _list(db, args.format)
        actor = (_first_user(db, args) if cmd == "add" and not _has_real_users(db) else _admin(db, args))
        svc = db.service(actor)
        if cmd in ("add", "passwd"):
            password = early_password if early_password is not None else _new_password(args)
            if cmd == "add":
                u = svc.add_user(args.username, args.full_name or args.username, args.role, password)
                print(f"added {u.username} ({u.role})")
            else:
                svc.set_password(args.username, password)
                print(f"password of {args.username} changed")
        elif cmd == "disable":
            svc.disable_user(args.username)
            print(f"disabled {args.username}")
        elif cmd == "enable":
            svc.enable_user(args.username)
            print(f"enabled {args.username}")
        elif cmd == "unlock":
            cleared = unlock_user(db, actor, args.username)
            print(f"unlocked {args.username} ({cleared} failed log-in{'s' if cleared != 1 else ''} cleared)")
        return 0

    return with_database(args, act, must_exist=(cmd != "add"))


def _new_password(args: argparse.Namespace) -> str:
    """The new password (see :func:`read_new_password`); :class:`InvalidEntry` when none or two differ."""
    password = read_new_password(args.password_stdin, f"New password for {args.username}: ")
    if password is None:
        raise InvalidEntry("the two passwords differ; nothing was changed")
    if not password:
        raise InvalidEntry("no password given; nothing was changed")
    return password


def _fresh_file(url: str | None) -> bool | str:
    """Whether ``url`` names an SQLite file that does not exist yet (a new record), or why it cannot be one
    (its folder is missing: a mistyped path must not create folders)."""
    path = sqlite_path(resolve_url(url))
    if path is None or path.exists():
        return False
    if not path.parent.is_dir():
        return f"folder {path.parent} does not exist (nothing was created)"
    return True


def _list(db: Database, fmt: str) -> int:
    users = db.service(db.system_user()).users()
    policy = load_policy()
    now = utcnow()
    with storage_guard(), db.engine.connect() as conn:
        from sqlalchemy.orm import Session as OrmSession

        with OrmSession(bind=conn) as s:
            locked = {u.username for u in users if login_state(s, u.username, policy).locked(policy, now)}
    if fmt == "json":
        print(json.dumps([{"username": u.username, "full_name": u.full_name, "role": u.role,
                           "active": u.active, "locked": u.username in locked, "demo": u.demo,
                           "created_at": u.created_at.isoformat()} for u in users], indent=2))
    else:
        print(table([(u.username, u.full_name, u.role,
                      "LOCKED" if u.username in locked else "yes" if u.active else "DISABLED",
                      "DEMO" if u.demo else "") for u in users],
                    ("user", "name", "role", "active", "")))
    return 0

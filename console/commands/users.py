"""``chairside users add|list|disable|enable|passwd``: manage the people who may use Chairside.

The command line acts with the authority of whoever can open the database (file permissions for SQLite,
credentials for PostgreSQL), like an administrator; each change is written to the audit trail as
``cli:<OS user>@<host>``. Passwords are read from a prompt (typed twice, never echoed) or, for scripts,
from the first line of standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import json

from console.record.cli_support import add_db_argument, fail, read_new_password, table, with_database
from console.record.database import Database
from console.record.roles import ROLES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "users", help="add, list, disable users and set passwords",
        description="Manage Chairside users. The command line acts with the authority of whoever can open "
                    "the database; each change goes to the audit trail as cli:<OS user>@<host>. Passwords "
                    "are typed twice at a prompt, or read from the first line of standard input with "
                    "--password-stdin.")
    verbs = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = verbs.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    add.add_argument("--name", dest="full_name", default=None, help="full name, printed on signatures")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    lst = verbs.add_parser("list", help="list users")
    lst.add_argument("--format", choices=("table", "json"), default="table")

    dis = verbs.add_parser("disable", help="disable a user (they can no longer log in or write)")
    dis.add_argument("username")
    en = verbs.add_parser("enable", help="enable a disabled user again")
    en.add_argument("username")

    pw = verbs.add_parser("passwd", help="set a user's password")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    for p in (add, lst, dis, en, pw):
        add_db_argument(p)
    parser.set_defaults(run=run)
    for p in (add, lst, dis, en, pw):
        p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    password = None
    if args.users_command in ("add", "passwd"):
        password = read_new_password(args.password_stdin)
        if password is None:
            return fail("the two passwords differ; nothing was changed")
        if not password:
            return fail("no password given; nothing was changed")

    def act(db: Database) -> int:
        svc = db.service(db.system_user())
        cmd = args.users_command
        if cmd == "add":
            u = svc.add_user(args.username, args.full_name or args.username, args.role, password or "")
            print(f"added {u.username} ({u.role})")
        elif cmd == "list":
            users = svc.users()
            if args.format == "json":
                print(json.dumps([{"username": u.username, "full_name": u.full_name, "role": u.role,
                                   "active": u.active, "demo": u.demo, "created_at": u.created_at.isoformat()}
                                  for u in users], indent=2))
            else:
                print(table([(u.username, u.full_name, u.role, "yes" if u.active else "DISABLED",
                              "DEMO" if u.demo else "") for u in users],
                            ("user", "name", "role", "active", "")))
        elif cmd == "disable":
            svc.disable_user(args.username)
            print(f"disabled {args.username}")
        elif cmd == "enable":
            svc.enable_user(args.username)
            print(f"enabled {args.username}")
        elif cmd == "passwd":
            svc.set_password(args.username, password or "")
            print(f"password of {args.username} changed")
        return 0

    return with_database(args, act)

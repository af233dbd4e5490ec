"""``chairside db upgrade|status|rotate-site-key``: bring a record database to this version's schema, show its
revision, or rotate this workstation's site key.

Opening the database from the console upgrades it too; this command lets a technician do it ahead of time
(SQLite: a backup copy is made next to the file first). ``rotate-site-key`` is the procedure of
docs/security.md ("Rotating keys"): an administrator logs in, the new key is endorsed by the old one, and the
rotation is audited.
"""

from __future__ import annotations

import argparse

from sqlalchemy.exc import SQLAlchemyError

from console.record.cli_support import add_db_argument, fail
from console.record.engine import make_engine, resolve_url, sqlite_path
from console.record.errors import RecordError
from console.record.schema import current_revision, ensure_schema, head_revision


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="upgrade the record database or show its schema revision",
                                   description="Create or upgrade the record database's schema ahead of time "
                                               "(SQLite: a backup copy is made next to the file first), or "
                                               "show its schema revision.")
    verbs = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = verbs.add_parser("upgrade", help="create or upgrade the schema to this version's")
    st = verbs.add_parser("status", help="show the database's schema revision")
    rot = verbs.add_parser("rotate-site-key", help="replace this workstation's site key (admins; audited)")
    for p in (up, st, rot):
        add_db_argument(p)
        p.set_defaults(run=run)
    rot.add_argument("--user", metavar="NAME", default=None,
                     help="the administrator doing it (password from standard input or asked for)")
    rot.add_argument("--trust-dir", metavar="DIR", default=None,
                     help="the site trust folder (default: $CHAIRSIDE_TRUST_DIR, else the user data folder)")
    parser.set_defaults(run=run)


def _rotate_site_key(args: argparse.Namespace) -> int:
    from console.record import open_database
    from console.record.cli_support import authenticate_cli

    try:
        db = open_database(args.db, trust_dir=args.trust_dir)
    except RecordError as err:
        return fail(f"cannot open the record: {err}")
    try:
        admin = authenticate_cli(db, args.user, what="rotating the site key")
        old, new = db.service(admin).rotate_site_key()
    except RecordError as err:
        return fail(str(err))
    except OSError as err:  # the trust folder is not writable
        return fail(f"cannot write the site trust folder {db.trust.path}: {err.strerror or err}")
    finally:
        db.close()
    print(f"site key {old[:12]} retired (its signatures stay valid); new site key {new[:12]} in {db.trust.path}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.db_command == "rotate-site-key":
        return _rotate_site_key(args)
    url = resolve_url(args.db)
    path = sqlite_path(url)
    if args.db_command == "status" and path is not None and not path.exists():
        return fail(f"no database file at {path}")
    if path is not None and path.is_dir():
        return fail(f"{path} is a folder, not a database file")
    if path is not None and not path.parent.is_dir():
        # upgrade creates a new record, but never the folders of a mistyped path
        return fail(f"folder {path.parent} does not exist (nothing was created)")
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError, ValueError, OSError) as err:  # bad URL, missing driver
        return fail(f"cannot use the database URL {url!r}: {err}")
    try:
        if args.db_command == "status":
            with engine.connect() as conn:
                rev = current_revision(conn)
            head = head_revision()
            state = "up to date" if rev == head else "empty" if rev is None else f"needs upgrade to {head}"
            print(f"{engine.url.render_as_string(hide_password=True)}: revision {rev or 'none'} ({state})")
            return 0
        result = ensure_schema(engine)
        where = engine.url.render_as_string(hide_password=True)
        if result.action == "current":
            print(f"{where}: already at revision {result.to_revision}")
        elif result.action == "created":
            print(f"{where}: created at revision {result.to_revision}")
        else:
            print(f"{where}: upgraded from {result.from_revision} to {result.to_revision}")
            if result.backup:
                print(f"backup of the old database: {result.backup}")
        return 0
    except RecordError as err:
        return fail(str(err))
    except (SQLAlchemyError, OSError) as err:  # unreachable server, unreadable file
        from console.record.guard import plain_message

        return fail(plain_message(err).split(" Nothing was lost")[0] + f" ({err.__class__.__name__})")
    finally:
        engine.dispose()

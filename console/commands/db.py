"""``chairside db upgrade|status``: bring a record database to this version's schema, or show its revision.

Opening the database from the console upgrades it too; this command lets a technician do it ahead of time
(SQLite: a backup copy is made next to the file first).
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
    for p in (up, st):
        add_db_argument(p)
        p.set_defaults(run=run)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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

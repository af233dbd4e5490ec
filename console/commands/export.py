"""``chairside export SESSION --format FMT --out PATH [--user NAME]``: write one session's record to a file.

The formats are those of :mod:`console.exports` (one registry; the review window's Export menu lists the same).
Exporting a real record needs an authenticated user (``--user``, password on standard input or asked for),
who is named in the audit row; the audit row is committed before the file appears. Every failure (unknown
session, locked or damaged database, unwritable path, wrong password) is one line and exit code 2, and leaves
no file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import exc as sa_exc

from console import exports
from console.exports import ExportError
from console.record import cli_support
from console.record.cli_support import add_db_argument, fail
from console.record.database import Database, open_database
from console.record.engine import resolve_url, sqlite_path
from console.record.errors import RecordError
from console.record.records import UserContext


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("export", help="export one session's complete record",
                                   description="Write one session's complete record (session, patient, "
                                               "entries, vitals, integrity check) to a file.")
    parser.add_argument("session", type=int, metavar="SESSION", help="session id (see chairside sessions)")
    add_db_argument(parser)
    parser.add_argument("--format", default="json", metavar="FMT",
                        help="output format, default json: " + "; ".join(f"{f.name}: {f.title}"
                                                                for f in exports.formats()))
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="file to write ('-' for standard output, json only)")
    parser.add_argument("--user", metavar="NAME", default=None,
                        help="your Chairside user name (a real record needs it; the password is read from "
                             "standard input or asked for)")
    parser.set_defaults(run=run)


def authenticate(db: Database, username: str | None) -> UserContext:
    """Who exports: :func:`console.record.cli_support.authenticate_cli` (log-in with throttling and lockout;
    no log-in on a demo-only database)."""
    return cli_support.authenticate_cli(db, username, what="chairside export")


def _exporter(db: Database, session_id: int, username: str | None) -> UserContext | None:
    """The user to export as: none needed for a DEMO session (the command line acts), else authenticated."""
    info = db.service(db.system_user()).session(session_id)  # NotFound for a missing session, before a log-in
    if info.demo and not username:
        return None
    return authenticate(db, username)


def damaged_words(err: BaseException) -> str | None:
    """"the record database is damaged (...)" when ``err`` comes from a damaged SQLite file (not a database,
    malformed pages), else ``None``: a damaged file is not a busy one, and nothing will be retried."""
    seen: BaseException | None = err
    while seen is not None:
        text = str(getattr(seen, "orig", None) or seen).strip()
        low = text.lower()
        if "malformed" in low or "not a database" in low or "file is encrypted" in low:
            return f"the record database is damaged ({text.splitlines()[0]}); run chairside verify"
        seen = seen.__cause__ or seen.__context__
    return None


def run(args: argparse.Namespace) -> int:
    try:
        fmt = exports.get(args.format)  # checked here, not by argparse: one line naming the known formats
    except KeyError as err:
        return fail(str(err.args[0]))
    try:
        fmt.writer()  # an optional package missing: say so before asking for a password
    except ExportError as err:
        return fail(f"cannot export as {fmt.name}: {err}")
    url = resolve_url(args.db)
    path = sqlite_path(url)
    if path is not None and not path.is_file():  # never create an empty record to export from
        return fail(f"no Chairside record at {path} (check --db)")
    try:
        db = open_database(url)
    except RecordError as err:
        return fail(damaged_words(err) or str(err))
    out = Path(args.out)
    try:
        user = _exporter(db, args.session, args.user)
        record = exports.export_session(db, args.session, fmt.name, out, exported_by=user)
    except OSError as err:
        return fail(f"cannot write {out}: {err.strerror or err}")
    except ExportError as err:  # the format cannot represent this session, or the record is damaged
        return fail(f"cannot export session {args.session} as {fmt.name}: {err}")
    except (RecordError, sa_exc.DBAPIError) as err:
        return fail(f"cannot export session {args.session}: {damaged_words(err) or err}")
    finally:
        db.close()
    if args.out != "-":
        demo = " (DEMO session)" if record.get("demo") else ""
        integrity = "ok" if record["integrity"]["ok"] else "FAILED"
        print(f"exported session {args.session}{demo} as {fmt.name} to {out}: "
              f"{len(record['entries'])} entries, integrity {integrity}")
    return 0

"""``chairside export SESSION --format json --out PATH``: write one session's complete record.

The formats come from :mod:`console.record.exporting` (json built in; others register there or live in
``console.exports.<name>``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from console.record.cli_support import add_db_argument, fail, with_database
from console.record.database import Database
from console.record.exporting import available_formats, export_session, get_writer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export one session's complete record",
                                   description="Write one session's complete record (session, patient, "
                                               "entries, vitals summary, integrity check) to a file.")
    parser.add_argument("session", type=int, metavar="SESSION", help="session id (see chairside sessions)")
    add_db_argument(parser)
    parser.add_argument("--format", default="json", metavar="FMT",
                        help=f"output format: {', '.join(available_formats())} (default json)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="file to write ('-' for standard output)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        get_writer(args.format)
    except KeyError as err:
        return fail(str(err.args[0]))

    def act(db: Database) -> int:
        out = Path(args.out)
        try:
            record = export_session(db, args.session, args.format, out)
        except OSError as err:
            return fail(f"cannot write {out}: {err.strerror or err}")
        except ValueError as err:  # the format cannot represent this session (e.g. REMS for an IV session)
            return fail(f"cannot export session {args.session} as {args.format}: {err}")
        if args.out != "-":
            demo = " (DEMO session)" if record.get("demo") else ""
            integrity = "ok" if record["integrity"]["ok"] else "FAILED"
            print(f"exported session {args.session}{demo} as {args.format} to {out}: "
                  f"{len(record['entries'])} entries, integrity {integrity}")
        return 0

    return with_database(args, act)

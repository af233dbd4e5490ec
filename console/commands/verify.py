"""``chairside verify [SESSION]``: check the record; exit 0 when intact, 1 naming every problem found (first one
first: what, where and how), 2 when the check could not run.

The database is opened with :func:`~console.record.database.open_for_verify`: a mistyped path, a file that
is not a Chairside record or one at another schema revision gives one line and exit 2 with nothing created
or changed; a damaged file is opened anyway so its damage becomes named findings (exit 1), never a traceback.
"""

from __future__ import annotations

import argparse
import json

from console.record.cli_support import add_db_argument, fail
from console.record.database import Database, open_for_verify
from console.record.errors import RecordError

#: the largest session id a database can hold (64-bit signed integer)
MAX_ID = 2**63 - 1
#: how many further problems the text output lists after the first (the JSON output has them all)
SHOWN = 25


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check that recorded sessions were not altered",
        description="Check the record: SQLite's own integrity check, the database's append-only guards, the "
                    "chained audit trail, and per session the header, the entry chain and the checkpoints "
                    "over vitals, waves, monitor events and raw captures. Exit status 0: intact; 1: altered "
                    "or damaged (each problem is named: changed, missing, reordered, inserted, unprotected, "
                    "damaged, unreadable); 2: the check could not run.")
    parser.add_argument("session", nargs="?", default=None, metavar="SESSION",
                        help="session id (default: every session)")
    add_db_argument(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--trust-dir", metavar="DIR", default=None,
                        help="the site trust folder (key registry and witness files) to check signatures "
                             "and seals against; default $CHAIRSIDE_TRUST_DIR, else the user data folder")
    parser.set_defaults(run=run)


def _session_id(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"session id {text!r} is not a whole number") from None
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"session id {text} is out of range (1 to {MAX_ID})")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        session_id = _session_id(args.session)
    except ValueError as err:
        return fail(str(err))
    try:
        db = open_for_verify(args.db)
    except RecordError as err:
        return fail(str(err))
    try:
        if args.trust_dir:
            db.use_trust_dir(args.trust_dir)
        return _report(db, session_id, args.format)
    except RecordError as err:
        return fail(str(err))
    finally:
        db.close()


def _report(db: Database, session_id: int | None, fmt: str) -> int:
    result = db.verify(session_id)
    if fmt == "json":
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(result.summary())
        for p in result.problems[1:SHOWN + 1]:
            print(f"  also: {p}")
        if len(result.problems) > SHOWN + 1:
            print(f"  ... and {len(result.problems) - SHOWN - 1} more (use --format json for all)")
    return 0 if result.ok else 1

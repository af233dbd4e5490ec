"""``chairside verify [SESSION]``: recompute the hash chains; exit 0 when intact, 1 naming the first entry
that does not match and how (changed, missing, reordered), 2 when the check could not run."""

from __future__ import annotations

import argparse
import json

from console.record.cli_support import add_db_argument, with_database
from console.record.database import Database


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check that recorded sessions were not altered",
        description="Recompute the hash chain of one session or all. Exit status 0: intact; 1: altered (the "
                    "first entry that does not match is named, with changed, missing or reordered); 2: the "
                    "check could not run.")
    parser.add_argument("session", nargs="?", type=int, default=None, metavar="SESSION",
                        help="session id (default: every session)")
    add_db_argument(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--trust-dir", metavar="DIR", default=None,
                        help="the site trust folder (key registry and witness files) to check signatures "
                             "and seals against; default $CHAIRSIDE_TRUST_DIR, else the user data folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def act(db: Database) -> int:
        if args.trust_dir:
            db.use_trust_dir(args.trust_dir)
        result = db.verify(args.session)
        if args.format == "json":
            print(json.dumps(result.as_dict(), indent=2))
        else:
            print(result.summary())
            for p in result.problems[1:]:
                print(f"  also: {p}")
        return 0 if result.ok else 1

    return with_database(args, act)

"""Shared pieces of the record's command-line verbs (users, sessions, verify, export, db, simulate-session).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from console.record.database import Database, open_database
from console.record.engine import ENV_URL
from console.record.errors import RecordError

#: exit code when the command could not do its job (database unavailable, no such session, bad input)
EXIT_ERROR = 2


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help=f"database URL (sqlite:///path or postgresql+psycopg://user@host/db); default "
                             f"${ENV_URL}, else chairside.sqlite3 in the user data folder")


def fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"chairside: {message}", file=sys.stderr)
    return code


def with_database(args: argparse.Namespace, fn: Callable[[Database], int]) -> int:
    """Open ``args.db``, run ``fn``, close; record errors become a plain message and exit code 2."""
    try:
        db = open_database(args.db)
    except RecordError as err:
        return fail(str(err))
    try:
        return fn(db)
    except RecordError as err:
        return fail(str(err))
    finally:
        db.close()


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain text table with columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def read_new_password(from_stdin: bool, prompt: str = "New password: ") -> str | None:
    """A new password from the first line of stdin, or typed twice at a prompt; ``None`` when they differ."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    import getpass

    first = getpass.getpass(prompt)
    second = getpass.getpass("Repeat it: ")
    return first if first == second else None

"""Shared pieces of the record's command-line verbs (users, sessions, verify, export, db, simulate-session).

Who acts: a verb that writes, signs or exports a real record calls :func:`authenticate_cli` and acts as the
user it returns (``--user NAME``; the password from standard input when that is not a terminal, else typed
at a prompt). Never the operating system's user name or an environment variable: anyone can set those. On a
database that holds only demo data no log-in is asked (the demo clinician acts; see
:mod:`console.record.demo`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from console.record.database import Database, open_database
from console.record.engine import ENV_URL
from console.record.errors import AuthError, RecordError
from console.record.records import UserContext

#: exit code when the command could not do its job (database unavailable, no such session, bad input)
EXIT_ERROR = 2


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=None,
                        help=f"database URL (sqlite:///path or postgresql+psycopg://user@host/db); default "
                             f"${ENV_URL}, else chairside.sqlite3 in the user data folder")


def positive_int(text: str) -> int:
    """argparse type: a whole number from 1 up (so ``--limit -1`` is refused, not read as "all but one")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def fail(message: str, code: int = EXIT_ERROR) -> int:
    """Print ``chairside: message`` (one line) on stderr and return ``code``."""
    # The storage guard's message promises the console's retry queue; a command line has none.
    message = message.replace(" Nothing was lost: unsaved entries are kept and retried.", "")
    print(f"chairside: {' '.join(message.split())}", file=sys.stderr)
    return code


def existing_database_problem(url: str | None) -> str | None:
    """Why ``url`` names no existing SQLite database file (missing, a folder, unreadable), else ``None``.

    Verbs that only read the record call this first, so a mistyped path never creates an empty database.
    PostgreSQL URLs are left to the connection (a missing database is refused by the server).
    """
    from sqlalchemy.exc import ArgumentError

    from console.record.engine import resolve_url, sqlite_path

    try:
        path = sqlite_path(resolve_url(url))
    except (ArgumentError, ValueError) as err:  # an URL SQLAlchemy cannot parse
        return f"cannot use the database URL {url!r}: {err}"
    if path is None:
        return None
    if not path.exists():
        return f"no database file at {path} (nothing was created)"
    if path.is_dir():
        return f"{path} is a folder, not a database file"
    if not os.access(path, os.R_OK):
        return f"cannot read {path} (no permission)"
    return None


def with_database(args: argparse.Namespace, fn: Callable[[Database], int], *, must_exist: bool = False) -> int:
    """Open ``args.db``, run ``fn``, close; record errors become a plain message and exit code 2.

    ``must_exist``: refuse (exit 2, nothing created) a database file that does not exist yet.
    """
    if must_exist and (problem := existing_database_problem(args.db)) is not None:
        return fail(problem)
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


def add_user_argument(parser: argparse.ArgumentParser, what: str = "the change") -> None:
    """``--user NAME``: who answers for ``what`` (their password is read as :func:`read_password` says)."""
    parser.add_argument("--user", metavar="NAME", default=None,
                        help=f"your Chairside user name; you answer for {what}. The password is read from "
                             "standard input when it is not a terminal, else asked for (not needed on a "
                             "database that holds only demo data)")


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed stdin
        return False


def read_password(prompt: str) -> str:
    """One password: the next line of standard input when it is not a terminal, else typed (not echoed).

    Raises :class:`AuthError` when none can be read (standard input at its end, or the prompt interrupted).
    """
    if not stdin_is_terminal():
        try:
            line = sys.stdin.readline() if sys.stdin is not None else ""
        except (ValueError, OSError, UnicodeDecodeError) as err:
            raise AuthError(f"cannot read a password from standard input ({err})") from err
        if not line:
            raise AuthError("no password on standard input (it is empty or at its end); nothing was changed")
        return line.rstrip("\r\n")
    import getpass

    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        raise AuthError("no password typed; nothing was changed") from None


def read_new_password(from_stdin: bool = False, prompt: str = "New password: ") -> str | None:
    """A new password: the next line of standard input (``from_stdin``, or whenever standard input is not a
    terminal), else typed twice at a prompt; ``None`` when the two differ. :class:`AuthError` when none can
    be read."""
    if from_stdin or not stdin_is_terminal():
        return read_password(prompt)
    first = read_password(prompt)
    second = read_password("Repeat it: ")
    return first if first == second else None


def authenticate_cli(db: Database, username: str | None, *, what: str = "this command") -> UserContext:
    """The user a command-line verb acts as, authenticated like the log-in dialog (throttling, lockout and
    auditing included: see :meth:`Database.authenticate`).

    On a database that holds only demo data no log-in is asked: the demo clinician acts (and everything it
    records is flagged DEMO). Otherwise ``username`` is required (``--user``) and its password is read with
    :func:`read_password`. Raises :class:`AuthError` (a :class:`RecordError`) with a one-line reason.
    """
    from console.record.demo import is_demo_only

    if is_demo_only(db):
        return db.demo_login()
    if not username:
        raise AuthError(f"{what} changes a real record: give --user NAME (your Chairside user name); the "
                        "password is read from standard input or asked for")
    password = read_password(f"Chairside password for {username}: ")
    return db.authenticate(username, password)

"""``chairside review``: the auditor's read-only review window, straight from the command line.

    chairside review --db URL                         # log in, then the session browser
    chairside review 42 --db URL --user audrey        # session 42 (password on standard input or asked for)
    chairside review --db demo.sqlite3 --demo         # a database holding only demo data: a demo auditor
    chairside review 42 --db URL --user audrey --screenshot review.png --quit-after 5

The review is read-only for every role; who opened it, and every verify run and export from it, is in the
audit trail. Without ``--user`` the log-in dialog asks (as the console does).
"""

from __future__ import annotations

import argparse
import sys

from console.commands.window_args import add_window_args, window_args_problem
from console.record.cli_support import EXIT_ERROR, add_db_argument, existing_database_problem, fail

#: the window size of screenshots, so documentation images are reproducible
SCREENSHOT_SIZE = (1366, 768)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("review", help="open the read-only session review (browser or one session)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("session", nargs="?", metavar="SESSION", default=None,
                   help="a session number to open directly (default: the session browser)")
    add_db_argument(p)
    p.add_argument("--user", metavar="NAME", default=None,
                   help="log in as NAME (password from standard input when it is not a terminal, else asked "
                        "for); without it the log-in dialog asks")
    p.add_argument("--demo", action="store_true",
                   help="a database that holds only demo data: open it as a demo auditor, no log-in")
    add_window_args(p)
    p.set_defaults(run=run)


def _check_args(args: argparse.Namespace) -> str | None:
    if args.session is not None:
        text = str(args.session).strip()
        if not text.isdigit() or not 0 < int(text) < 2**31:
            return f"SESSION must be a session number (1, 2, ...), not {args.session!r}"
        args.session = int(text)
    if args.demo and args.user:
        return "--demo opens a demo record without a log-in; leave out --user"
    problem = window_args_problem(args)
    if problem:
        return problem
    return existing_database_problem(args.db)  # a review never creates a database


def run(args: argparse.Namespace) -> int:
    problem = _check_args(args)
    if problem:
        return fail(problem)
    from console.record import open_database
    from console.record.errors import RecordError

    try:
        db = open_database(args.db)
    except RecordError as err:
        return fail(f"cannot open the session record: {err}")
    try:
        return _run(db, args)
    except RecordError as err:
        return fail(str(err))
    finally:
        db.close()


def _user(db, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Who reviews: a demo auditor (--demo, demo-only records), --user with a password, or the dialog."""
    from console.record.cli_support import authenticate_cli
    from console.record.demo import is_demo_only
    from console.record.records import UserContext

    if args.demo:
        if not is_demo_only(db):
            fail("this record holds real sessions: log in (--user NAME, or the dialog) instead of --demo")
            return None
        return UserContext(0, "demo-auditor", "Demo Auditor (DEMO)", "auditor", True)
    if args.user:
        return authenticate_cli(db, args.user, what="the review")
    from console.login_dialog import LoginDialog

    dialog = LoginDialog(db.authenticate)
    return dialog.user if dialog.exec() else None


def _run(db, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEventLoop

    from console.app import QuitAfter, create_application

    app = create_application([sys.argv[0]])
    user = _user(db, args)
    if user is None:
        return EXIT_ERROR if args.demo else 0  # refused, or the log-in was cancelled: nothing opened
    if args.session is not None:
        from console.review.review_window import ReviewWindow

        try:
            db.service(user).session(args.session)
        except Exception as err:  # noqa: BLE001 - a missing session is a RecordError subclass; say it plainly
            return fail(f"session {args.session}: {err}")
        window = ReviewWindow(db, user, args.session)
        extra: list = []
    else:
        from console.review import open_review

        window = open_review(db, user)
        extra = getattr(window, "_children", [])
    available = window.screen().availableGeometry()
    if args.screenshot is not None:
        window.resize(min(SCREENSHOT_SIZE[0], available.width()), min(SCREENSHOT_SIZE[1], available.height()))
    else:
        window.resize(available.width() * 9 // 10, available.height() * 9 // 10)
    window.show()
    loop = QEventLoop()
    app.lastWindowClosed.connect(loop.quit)
    quit_after = (QuitAfter(window, loop, args.quit_after, args.screenshot,
                            cannot_write=lambda message: fail(message, 1))
                  if args.quit_after is not None else None)
    try:
        loop.exec()
    finally:
        app.lastWindowClosed.disconnect(loop.quit)
        for child in extra:
            child.close()
        window.close()
        window.deleteLater()
    return quit_after.code if quit_after is not None else 0

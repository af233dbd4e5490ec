"""``chairside central``: the clinic's board of every chair, from the shared PostgreSQL record.

    chairside central --db postgresql+psycopg://... [--user NAME]            # the board window
    chairside central --db URL --user NAME --format json --once             # one JSON object for scripts
    chairside central --db URL --screenshot board.png --quit-after 5         # as for the console

Chairs on different computers can only meet in a shared server database, so an SQLite record is refused with
that explanation (several consoles on ONE computer may share an SQLite file, but a board of one computer's
chairs is not what a clinic needs; docs/central.md says why).
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from console.commands.window_args import add_window_args, window_args_problem
from console.record.cli_support import EXIT_ERROR, fail

NEEDS_POSTGRES = ("the central board needs the clinic's shared PostgreSQL record "
                  "(--db postgresql+psycopg://user@server/chairside): each chair publishes its state there; "
                  "an SQLite file lives on one computer and cannot show chairs in other rooms")


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("central", help="the central board of every chair (shared PostgreSQL record)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", metavar="URL", required=True, help="the shared record: postgresql+psycopg://...")
    p.add_argument("--user", metavar="NAME", default=None,
                   help="who opens the board (clinician or admin); the password is read from standard input "
                        "when it is not a terminal, else asked for")
    p.add_argument("--format", choices=("window", "json"), default="window",
                   help="window (default) or json: print the board as one JSON object")
    p.add_argument("--once", action="store_true", help="with --format json: read once, print, exit")
    add_window_args(p, "the board")
    p.set_defaults(run=run)


def _check_args(args: argparse.Namespace) -> str | None:
    try:
        url = make_url(args.db)
    except ArgumentError:
        return f"--db {args.db!r} is not a database URL"
    if url.get_backend_name() != "postgresql":
        return NEEDS_POSTGRES
    if args.format == "json" and not args.once:
        return "--format json prints one board and exits: add --once"
    if args.once and args.format != "json":
        return "--once goes with --format json"
    problem = window_args_problem(args)
    if problem:
        return problem
    return None


def run(args: argparse.Namespace) -> int:
    problem = _check_args(args)
    if problem:
        return fail(problem)
    from console.record import open_database
    from console.record.errors import RecordError
    from console.record.roles import allowed, who_may

    try:
        db = open_database(args.db)
    except RecordError as err:
        return fail(f"cannot open the shared record: {err}")
    try:
        user = _authenticate(db, args.user)
        if user is None:
            return EXIT_ERROR
        if not allowed(user.role, "view_board"):
            return fail(f"{user.username} is a {user.role}; only {who_may('view_board')} may open the board")
        if args.format == "json":
            from console.board.board import board_json
            from console.board.store import read_all

            try:
                now, rows = read_all(db.engine)
            except Exception as err:  # noqa: BLE001 - the server went away between open and read
                from console.record.guard import plain_message

                return fail(plain_message(err))
            print(json.dumps(board_json(now, rows), indent=1, ensure_ascii=False))
            return 0
        return _run_window(db, user, args)
    finally:
        db.close()


def _authenticate(db, username: str | None):  # type: ignore[no-untyped-def]
    """The user who opens the board, logged in as every command-line verb is (one line and None on failure)."""
    from console.record.cli_support import authenticate_cli
    from console.record.errors import AuthError

    try:
        return authenticate_cli(db, username, what="the board")
    except AuthError as err:
        fail(str(err))
        return None


#: how much of a chair's session the board's click shows first (the whole session stays a zoom away)
DETAIL_WINDOW_S = 30 * 60


def _run_window(db, user, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEventLoop

    from console.app import QuitAfter, create_application
    from console.board.reader import BoardReader
    from console.board_window import CentralBoardWindow

    app = create_application([sys.argv[0]])
    reader = BoardReader(db.engine, args.db).start()
    opened: list = []  # keep the read-only session windows alive

    def open_chair(chair: str, session_id: int) -> None:
        """The chair's session, read-only, zoomed to its last 30 minutes (trends, entries, alarms)."""
        import time as _time

        from console.record.errors import RecordError
        from console.review.review_window import ReviewWindow

        try:
            view = ReviewWindow(db, user, session_id)
        except RecordError as err:
            window.storage.setText(f"Chair {chair}: session {session_id} cannot be opened: {err}")
            return
        view.setWindowTitle(f"Chair {chair} — session {session_id} (read-only)")
        now = _time.time()
        view.trend.show_range(now - DETAIL_WINDOW_S, now)
        view.setGeometry(window.screen().availableGeometry().adjusted(40, 40, -40, -40))
        view.show()
        opened.append(view)

    window = CentralBoardWindow(reader, on_open=open_chair)
    loop = QEventLoop()
    app.lastWindowClosed.connect(loop.quit)
    if args.screenshot is not None:
        # the screen's available size, as a maximised board would have (no window manager under Xvfb)
        window.setGeometry(window.screen().availableGeometry())
        window.show()
    else:
        window.showMaximized()
    quit_after = (QuitAfter(window, loop, args.quit_after, args.screenshot, refresh=window.refresh,
                            cannot_write=lambda message: fail(message, 1))
                  if args.quit_after is not None else None)
    try:
        loop.exec()
    finally:
        app.lastWindowClosed.disconnect(loop.quit)
        for view in opened:
            view.close()
        window.shutdown()
        reader.close()
        window.deleteLater()
    return quit_after.code if quit_after is not None else 0

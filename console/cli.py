"""The ``chairside`` command line.

``chairside`` with no subcommand starts the console window; every other verb is a subcommand implemented in
its own module under :mod:`console.commands` (one module per verb, each exposing ``add_parser(subparsers)``
and ``run(args) -> int``). Wrong arguments print one clear line and exit 2 (argparse's convention); so does any refusal of a verb
(nothing is left behind), and an unexpected failure prints one line too, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from console import __version__

#: set to 1 to let an unexpected error end with its traceback (for a developer, never by default)
ENV_DEBUG = "CHAIRSIDE_DEBUG"
#: exit code of a verb that failed on an unexpected error (after one line on stderr)
EXIT_UNEXPECTED = 2

#: subcommand modules under console.commands, in the order ``--help`` lists them
COMMAND_MODULES: tuple[str, ...] = (
    "emulate",
    "replay",
    "decode",
    "probe",
    "users",
    "sessions",
    "verify",
    "export",
    "simulate_session",
    "db",
    "chair",
    "central",
    "review",
)


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error: ``chairside VERB: error: what (see chairside VERB --help)``, exit 2.

    argparse's own error prints the whole usage first; a person (or a script's log) needs the one line that
    says what was wrong. Subparsers are made with this class too (argparse uses the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser: GUI options at the top level, one subparser per command module that is present."""
    from console.commands import gui

    parser = Parser(
        prog="chairside",
        description="Chairside: session console for ketamine and esketamine treatment chairs.",
        epilog="Run 'chairside COMMAND --help' for a command's options. With no command, the console starts.",
    )
    parser.add_argument("--version", action="version", version=f"chairside {__version__}")
    gui.add_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"console.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chairside`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from console.commands import gui

        return gui.run(args, parser)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("chairside: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `chairside sessions | head`: the reader has had enough
        _silence_stdout()
        return 0
    except Exception as err:  # the last line of defence: one line, never a traceback
        if os.environ.get(ENV_DEBUG, "") not in ("", "0"):
            raise
        first = (str(err).strip().splitlines() or [""])[0]
        print(f"chairside {args.command}: unexpected {type(err).__name__}: {first} (nothing more was done; "
              f"set {ENV_DEBUG}=1 to see the details)", file=sys.stderr)
        return EXIT_UNEXPECTED


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

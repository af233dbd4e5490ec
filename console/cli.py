"""The ``chairside`` command line.

``chairside`` with no subcommand starts the console window; every other verb is a subcommand implemented in
its own module under :mod:`console.commands` (one module per verb, each exposing ``add_parser(subparsers)``
and ``run(args) -> int``). Wrong arguments print a clear message and exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from console import __version__

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
    "central",
)


def build_parser() -> argparse.ArgumentParser:
    """The full parser: GUI options at the top level, one subparser per command module that is present."""
    from console.commands import gui

    parser = argparse.ArgumentParser(
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
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

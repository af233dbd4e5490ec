"""``--screenshot PATH --quit-after SECONDS`` of every window command (console, review, board): one definition of
the options and one check, so the three commands accept and refuse the same things with the same words."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: how long a window stays open before its screenshot when only --screenshot is given
DEFAULT_SCREENSHOT_DELAY_S = 5.0


def add_window_args(parser: Any, what: str = "the window") -> None:
    """Add ``--screenshot`` and ``--quit-after`` to ``parser`` (a parser or an argument group)."""
    parser.add_argument("--screenshot", metavar="PATH", type=Path, default=None,
                        help=f"save a PNG of {what} after --quit-after seconds, then exit")
    parser.add_argument("--quit-after", metavar="SECONDS", type=float, default=None,
                        help=f"close {what} after this many seconds "
                             f"(default {DEFAULT_SCREENSHOT_DELAY_S:g} with --screenshot)")


def window_args_problem(args: argparse.Namespace) -> str | None:
    """One line naming what is wrong with ``--screenshot``/``--quit-after``, or None. Fills in the default
    delay when only ``--screenshot`` was given."""
    if args.quit_after is not None and not args.quit_after > 0:
        return f"--quit-after must be a positive number of seconds, not {args.quit_after:g}"
    if args.screenshot is not None:
        if args.screenshot.suffix.lower() != ".png":
            return f"--screenshot saves a PNG; give a path ending in .png, not {str(args.screenshot)!r}"
        if not args.screenshot.resolve().parent.is_dir():
            return f"--screenshot: folder {str(args.screenshot.parent)!r} does not exist"
        if args.quit_after is None:
            args.quit_after = DEFAULT_SCREENSHOT_DELAY_S
    return None

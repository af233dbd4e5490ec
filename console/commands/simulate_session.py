"""``chairside simulate-session``: record a complete simulated session (vitals, clinician entries) headless.

The new session is flagged DEMO. Its id is printed on the last line, so scripts can do
``id=$(chairside simulate-session ... | tail -1)``.
"""

from __future__ import annotations

import argparse
import sys

from console.record.cli_support import add_db_argument, fail
from console.record.errors import RecordError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate-session", help="record a complete simulated session (DEMO) into the database",
        description="Run the physiological simulator at full speed into the record, with a scripted "
                    "simulation clinician following the IV ketamine protocol schedule (pre-checks, "
                    "questionnaires, infusion, MOAA/S and CADSS-6 observations, side effects, discharge, "
                    "sign-off) through the same chair runtime as the console, so alarms are recorded too. "
                    "Writes only to a database that holds demo data only. Prints the new session id on the "
                    "last line.")
    add_db_argument(parser)
    parser.add_argument("--minutes", type=float, default=120.0, help="session length in minutes (5-1440)")
    parser.add_argument("--scenario", default="stable",
                        help="simulator scenario: stable, hypertensive, desaturation, artifact, disconnect, "
                             "noise")
    parser.add_argument("--speed", default="max", type=_speed,
                        help="'max' (as fast as the machine can record, the default) or simulated seconds "
                             "per real second, e.g. 60")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same patient)")
    parser.add_argument("--quiet", action="store_true", help="print only the session id")
    parser.set_defaults(run=run)


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be 'max' or a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("speed must be positive")
    return value


def run(args: argparse.Namespace) -> int:
    from console.record.simulation import check_scenario, simulate_session

    # refused before anything is opened or created: a wrong argument leaves nothing behind
    if args.seed < 0:
        return fail("--seed must be a non-negative integer")
    if not 5 <= args.minutes <= 24 * 60:
        return fail(f"a simulated session lasts 5 to 1440 minutes, not {args.minutes:g}")
    try:
        check_scenario(args.scenario)
    except ValueError as err:
        return fail(str(err))
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        result = simulate_session(args.db, minutes=args.minutes, scenario=args.scenario, seed=args.seed,
                                  speed=args.speed, log=log)
    except (RecordError, ValueError) as err:
        return fail(str(err))
    if not args.quiet:
        print(f"recorded a {result.minutes:g}-minute simulated session in {result.wall_seconds:.1f} s "
              f"({result.entries} entries)", file=sys.stderr)
    print(result.session_id)
    return 0

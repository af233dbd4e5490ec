"""``chairside replay``: play a capture back over a pty or a loopback socket with its original timing.

The capture is a file (raw bytes or a docbox log) or a raw-byte recording stored in the session record
(``--db URL --session N [--device NAME]``, or ``--capture ID`` for one made with no session open; see
:mod:`console.record.raw_captures`). Raw files are paced at the protocol's line rate (or ``--rate`` bytes per
second); docbox logs and recordings in the record at their own timestamps, read by read. On a socket the
replay starts when a host connects, so nothing is played to nobody.
"""

from __future__ import annotations

import argparse

from console.commands.decode import fail, load_wire_protocol, positive_float
from console.commands.emulate import add_link_arguments, link_problem, serve
from console.record.cli_support import positive_int
from devices.emulation import CaptureReplay, EmulationServer, endpoint_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a capture file or a recording in the session record, with its original timing",
        description="Replay the monitor-to-host bytes of a capture (raw or docbox log file, or a "
                    "technician's raw recording stored in the record) to a host, as the monitor sent "
                    "them. Ends when the capture does (or with Ctrl-C).",
    )
    parser.add_argument("file", metavar="FILE", nargs="?", default=None,
                        help="raw capture or docbox log (or give --session/--capture instead)")
    parser.add_argument("--protocol", "-p", required=True, metavar="P",
                        help="protocol of the capture (sets the line rate of raw captures)")
    stored = parser.add_argument_group("a recording in the session record (instead of FILE)")
    stored.add_argument("--db", metavar="URL", default=None,
                        help="database URL (default $CHAIRSIDE_DB, else the user data folder's record)")
    stored.add_argument("--session", metavar="N", type=positive_int, default=None,
                        help="play the raw recording of session N")
    stored.add_argument("--capture", metavar="ID", default=None,
                        help="play one recording by its id (e.g. one made with no session open)")
    stored.add_argument("--device", metavar="NAME", default=None,
                        help="which device, when several were recorded")
    add_link_arguments(parser)
    parser.add_argument("--speed", type=positive_float, default=1.0, help="playback speed factor (default 1)")
    parser.add_argument("--rate", type=positive_float, default=None,
                        help="bytes per second for raw captures (default: the protocol's line rate)")
    parser.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = load_wire_protocol(args.protocol)
    if isinstance(info, str):
        return fail(info)
    if (problem := link_problem(args.link)) is not None:
        return fail(problem)
    from_record = args.session is not None or args.capture is not None
    if from_record == (args.file is not None):
        return fail("give a capture FILE, or --session N (or --capture ID) to play a recording from the "
                    "record")
    if not from_record and (args.db or args.device):
        return fail("--db and --device go with --session or --capture, not with a FILE")
    if from_record:
        replay = _from_record(args)
        if isinstance(replay, str):
            return fail(replay)
        source = (f"session {args.session}" if args.session is not None else f"recording {args.capture}") + (
            f" ({args.device})" if args.device else "")
    else:
        try:
            replay = CaptureReplay.from_file(args.file, settings=info.driver.default_settings, rate=args.rate,
                                             speed=args.speed, loop=args.loop)
        except (OSError, ValueError) as exc:
            return fail(f"cannot read capture {args.file}: {exc}")
        source = args.file
    try:
        endpoint = endpoint_for(args.listen, args.pty, args.link)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    server = EmulationServer(replay, endpoint, name=f"replay-{args.protocol}", wait_for_host=True)
    what = (f"Replaying {source} ({info.driver.title}, {replay.duration:.1f} s at speed {args.speed:g}x"
            f"{', looping' if args.loop else ''})")
    return serve(server, None, what, finished=lambda: replay.finished)


def _from_record(args: argparse.Namespace) -> CaptureReplay | str:
    """The stored recording as a replay (read whole, then the database is closed), or why it cannot be."""
    from console.record import RecordError, open_database
    from console.record.cli_support import existing_database_problem
    from console.record.raw_captures import read_raw_capture

    if (problem := existing_database_problem(args.db)) is not None:
        return problem  # replaying reads the record: a mistyped path must not create one
    try:
        db = open_database(args.db)
    except RecordError as exc:
        return str(exc)
    try:
        records = read_raw_capture(db, session_id=args.session, capture=args.capture, device=args.device)
    except (RecordError, ValueError) as exc:
        return str(exc)
    finally:
        db.close()
    if not records:
        return "the recording holds no bytes from the monitor"
    return CaptureReplay(records=records, speed=args.speed, loop=args.loop)

"""``chairside replay``: play a capture file back over a pty or a loopback socket with its original timing.

Raw captures are paced at the protocol's line rate (or ``--rate`` bytes per second); docbox logs at their own
timestamps. On a socket the replay starts when a host connects, so nothing is played to nobody.
"""

from __future__ import annotations

import argparse

from console.commands.decode import fail, load_protocol
from console.commands.emulate import add_link_arguments, serve
from devices.emulation import CaptureReplay, EmulationServer, endpoint_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a capture file over a pty or a socket with its original timing",
        description="Replay the monitor-to-host bytes of a capture (raw or docbox log) to a host, as the "
                    "monitor sent them. Ends when the capture does (or with Ctrl-C).",
    )
    parser.add_argument("file", metavar="FILE", help="raw capture or docbox log")
    parser.add_argument("--protocol", "-p", required=True, metavar="P",
                        help="protocol of the capture (sets the line rate of raw captures)")
    add_link_arguments(parser)
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed factor (default 1)")
    parser.add_argument("--rate", type=float, default=None,
                        help="bytes per second for raw captures (default: the protocol's line rate)")
    parser.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    info = load_protocol(args.protocol)
    if isinstance(info, str):
        return fail(info)
    if args.speed <= 0 or (args.rate is not None and args.rate <= 0):
        return fail("--speed and --rate must be positive")
    try:
        replay = CaptureReplay.from_file(args.file, settings=info.driver.default_settings, rate=args.rate,
                                         speed=args.speed, loop=args.loop)
    except (OSError, ValueError) as exc:
        return fail(f"cannot read capture {args.file}: {exc}")
    try:
        endpoint = endpoint_for(args.listen, args.pty, args.link)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    server = EmulationServer(replay, endpoint, name=f"replay-{args.protocol}", wait_for_host=True)
    what = (f"Replaying {args.file} ({info.driver.title}, {replay.duration:.1f} s at speed {args.speed:g}x"
            f"{', looping' if args.loop else ''})")
    return serve(server, None, what, finished=lambda: replay.finished)

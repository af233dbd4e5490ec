"""``chairside emulate``: play a monitor on a pty or a loopback socket, with simulated patient values.

Connect Chairside (or ``chairside probe``) to the printed port exactly as to the real monitor: a technician
can rehearse a setup, and the end-to-end tests use the same code. Runs until Ctrl-C or ``--seconds``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from console.commands.decode import fail, load_protocol, positive_float
from devices.emulation import EmulationServer, endpoint_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "emulate",
        help="emulate a monitor on a pty or a socket, driven by the patient simulator",
        description="Serve a monitor emulator (the protocol's device side, values from the physiological "
                    "simulator) on a pseudo-terminal or a listening socket, until Ctrl-C or --seconds.",
    )
    parser.add_argument("--protocol", "-p", required=True, metavar="P",
                        help="protocol to speak: intellivue, datex or masimo")
    add_link_arguments(parser)
    parser.add_argument("--scenario", default="stable",
                        help="simulator scenario: stable, hypertensive, desaturation, artifact, disconnect, "
                             "noise")
    parser.add_argument("--speed", type=positive_float, default=1.0, help="simulated seconds per real second (1-600)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed: the same seed gives the same patient")
    parser.add_argument("--seconds", type=positive_float, default=None, help="stop after this many seconds")
    parser.set_defaults(run=run)


def add_link_arguments(parser: argparse.ArgumentParser) -> None:
    """``--listen URL`` | ``--pty`` [``--link PATH``], shared with ``chairside replay``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="URL",
                       help="listen on socket://127.0.0.1:PORT (port 0: any free port)")
    where.add_argument("--pty", action="store_true",
                       help="create a pseudo-terminal and print its device path")
    parser.add_argument("--link", metavar="PATH",
                        help="with --pty: also keep a symlink at PATH pointing to the pty "
                             "(a stable port name)")


def link_problem(link: str | None) -> str | None:
    """Why ``--link PATH`` cannot be used, or ``None``. The link is (re)made as a symlink and removed at the
    end, so PATH must be a free name or an old symlink: never a file or folder someone keeps there."""
    if link is None:
        return None
    path = Path(link).expanduser()
    if path.is_symlink():
        return None  # a stale link from an earlier run: replaced
    if path.exists():
        return f"--link {link}: something other than a symlink is there; choose a free name (nothing was changed)"
    if not path.parent.is_dir():
        return f"--link {link}: folder {path.parent} does not exist"
    return None


def serve(server: EmulationServer, seconds: float | None, what: str,
          finished: Callable[[], bool] | None = None) -> int:
    """Open the port, print where to connect, serve until Ctrl-C, ``seconds`` or ``finished()``."""
    try:
        url = server.open()
    except OSError as exc:
        return fail(f"cannot open {server.endpoint.url or 'the port'}: {exc}")
    print(f"{what} on {url}", flush=True)
    print(f"Connect with: --port {url}   (Ctrl-C to stop)", flush=True)
    server.start()
    deadline = None if seconds is None else time.monotonic() + seconds
    done = threading.Event()
    try:
        while not done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if finished is not None and finished():
                done.wait(0.5)  # let the last bytes reach the host
                break
            if not server.running:
                break
            done.wait(0.1)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
    print(f"sent {server.bytes_out} bytes, received {server.bytes_in} bytes", flush=True)
    if server.error:
        return fail(f"the device stopped: {server.error}", 1)
    return 0


def run(args: argparse.Namespace) -> int:
    info = load_protocol(args.protocol)
    if isinstance(info, str):
        return fail(info)
    if info.make_emulator is None:
        return fail(f"protocol {args.protocol!r} has no emulator (the built-in simulator needs no port)")
    if (problem := link_problem(args.link)) is not None:
        return fail(problem)
    try:
        endpoint = endpoint_for(args.listen, args.pty, args.link)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    try:
        from devices.simulator import Simulator

        simulator = Simulator(scenario=args.scenario, seed=args.seed, speed=args.speed, waves=True)
    except ImportError as exc:
        return fail(f"the patient simulator is not available in this installation ({exc})")
    except (ValueError, TypeError) as exc:
        return fail(str(exc))
    emulator = info.make_emulator(simulator)
    server = EmulationServer(emulator, endpoint, name=f"emulate-{args.protocol}")
    what = (f"Emulating {info.driver.title} ({info.driver.default_settings}), scenario {args.scenario}, "
            f"speed {args.speed:g}x, seed {args.seed}")
    return serve(server, args.seconds, what)

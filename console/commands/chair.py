"""``chairside chair --headless``: one chair's runtime without a window (a recorder box with no screen).

``--demo`` runs the built-in simulator (``--scenario``, ``--speed`` simulated seconds per real second) and
records into a new DEMO session in a database that holds demo data only; ``--device PROTOCOL:URL`` (one or more)
runs real monitors: their alarms run and are logged, and nothing is recorded until a session is open (a
headless chair has no clinician to start one yet). One line is printed per state change (device link, alarm
start/end/acknowledgement, session, entries kept unsaved). SIGINT or SIGTERM stops it cleanly: the last
samples are evaluated, pending entries and vitals are written, every thread is joined, the database closed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any, NoReturn

from console.record.cli_support import EXIT_ERROR, fail


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chair", help="run one chair without a window (--headless): devices, alarms, recording",
        description="Run a chair's runtime headless until SIGINT/SIGTERM, logging one line per state change. "
                    "Either --device PROTOCOL:URL (repeatable) for real monitors, or --demo for the simulator.")
    parser.add_argument("--headless", action="store_true", help="run without a window (required for now)")
    parser.add_argument("--chair", metavar="NAME", help="the chair's name (required)")
    parser.add_argument("--db", metavar="URL", help="database URL, e.g. postgresql+psycopg://... (required)")
    parser.add_argument("--device", metavar="PROTOCOL:URL", action="append", default=[],
                        help="a monitor, e.g. intellivue:/dev/ttyUSB0 or datex:socket://10.0.0.5:4001")
    parser.add_argument("--demo", action="store_true", help="the built-in simulator into a DEMO session")
    parser.add_argument("--scenario", default=None, help="simulator scenario (with --demo; default stable)")
    parser.add_argument("--speed", type=float, default=None,
                        help="simulated seconds per real second, 1 to 600 (with --demo; default 1)")
    parser.add_argument("--seed", type=int, default=0, help="simulator random seed (with --demo)")
    parser.set_defaults(run=run)
    # a usage error is one plain line and exit 2, like every other refusal of this command
    parser.error = _one_line_error  # type: ignore[method-assign]


def _one_line_error(message: str) -> NoReturn:
    print(f"chairside chair: {message}", file=sys.stderr)
    sys.exit(EXIT_ERROR)


def validate(args: argparse.Namespace) -> str | None:
    """The first thing wrong with the arguments, or ``None``; checked before anything is opened or created."""
    from devices import registry
    from devices.simulator import MAX_SPEED, MIN_SPEED, SCENARIOS

    if not args.headless:
        return "only --headless is available here; the console window is plain 'chairside'"
    if not args.chair or not args.chair.strip():
        return "--chair NAME is required"
    if not args.db:
        return "--db URL is required (the record this chair writes to)"
    if args.demo == bool(args.device):
        return "give either --demo or at least one --device PROTOCOL:URL"
    if not args.demo and (args.scenario is not None or args.speed is not None):
        return "--scenario and --speed go with --demo"
    if args.demo:
        if args.scenario is not None and args.scenario not in SCENARIOS:
            return f"unknown scenario {args.scenario!r}; choose one of: {', '.join(SCENARIOS)}"
        if args.speed is not None and not MIN_SPEED <= args.speed <= MAX_SPEED:
            return f"--speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, not {args.speed:g}"
        if args.seed < 0:
            return f"--seed must not be negative, not {args.seed}"
    for device in args.device:
        protocol, sep, url = device.partition(":")
        if not sep or not protocol or not url:
            return f"--device takes PROTOCOL:URL, e.g. intellivue:/dev/ttyUSB0, not {device!r}"
        if protocol not in registry.available() or protocol == "simulator":
            known = ", ".join(p for p in registry.available() if p != "simulator")
            return f"--device: unknown protocol {protocol!r}; known: {known} (the simulator is --demo)"
    return None


def run(args: argparse.Namespace) -> int:
    problem = validate(args)
    if problem is not None:
        return fail(problem)
    from console.record.errors import RecordError

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args, stop)
    except RecordError as err:
        return fail(str(err))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: the runtime's alarm thread and the main thread both log; print() writes the text and the newline apart, so
#: two lines could interleave into one and a log reader (or a test) would miss an alarm
_SAY_LOCK = threading.Lock()


def _say(line: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    with _SAY_LOCK:
        sys.stdout.write(f"{stamp} {line}\n")
        sys.stdout.flush()


def _run(args: argparse.Namespace, stop: threading.Event) -> int:
    from console.board.chair_link import start_chair_publisher
    from console.record import open_database
    from console.runtime import ChairRuntime, ScaledClock, WallClock, record_clock

    if args.demo:
        from console.record.demo import resolve_demo_database

        url = resolve_demo_database(args.db)  # before anything is written: a real record is refused
        clock: Any = ScaledClock(args.speed or 1.0)
        db = open_database(url, clock=record_clock(clock))
    else:
        clock = WallClock()
        db = open_database(args.db)
    runtime = ChairRuntime(db, chair=args.chair, clock=clock, on_change=_say)
    board = None
    try:
        if args.demo:
            _open_demo_session(runtime, args)  # before the devices start: recording from the first sample
            _add_simulator(runtime, args)
        else:
            _add_devices(runtime, args.device)
            _say(f"chair {args.chair}: no session open; alarms are logged here, nothing is recorded")
        runtime.start()
        board = start_chair_publisher(db, runtime)
        if board is not None:
            _say(f"chair {args.chair}: publishing its status to the central board")
        _say(f"chair {args.chair}: running headless; SIGINT or SIGTERM stops it")
        while not stop.wait(0.5):
            pass
        _say(f"chair {args.chair}: stopping")
    finally:
        if board is not None:
            board.close()
        joined = runtime.shutdown()
        db.close()
    if not joined:
        _say(f"chair {args.chair}: a thread did not stop in time")
        return 1
    _say(f"chair {args.chair}: stopped")
    return 0


def _add_simulator(runtime: Any, args: argparse.Namespace) -> None:
    from devices.simulator import Simulator
    from devices.simulator.driver import SimulatorDriver

    # the runtime's clock already runs --speed times faster; the simulator follows it at 1:1. No simulated
    # history before the start: catching up on it in one burst would starve the data path at high speeds
    simulator = Simulator(scenario=args.scenario or "stable", seed=args.seed, waves=True,
                          start=runtime.clock.now(), mark_demo=True, auto_infusion=True, source="Simulator")
    runtime.add_device(SimulatorDriver(source="Simulator", simulator=simulator), None, name="Simulator")


def _add_devices(runtime: Any, devices: list[str]) -> None:
    from devices import registry

    for device in devices:
        protocol, _, url = device.partition(":")
        runtime.add_device(registry.create_driver(protocol, source=url), url, name=f"{protocol} on {url}")


def _open_demo_session(runtime: Any, args: argparse.Namespace) -> None:
    """A DEMO patient and session for the simulated chair, under the first built-in protocol's limits."""
    import uuid

    from console.alarms import AlarmLimits
    from console.clinical.protocols import ProtocolLibrary

    library = ProtocolLibrary.builtin()
    protocol = library.get(library.ids()[0])
    db = runtime.db
    user = db.demo_login()
    svc = db.service(user)
    patient = svc.create_patient(f"DEMO-{uuid.uuid4().hex[:6]}", name="Simulated Patient (DEMO)")
    session = svc.start_session(
        patient.id, protocol.id, protocol.effective_version, args.chair,
        devices=[{"profile": "simulator", "protocol": "simulator", "scenario": args.scenario or "stable",
                  "seed": args.seed}],
        details={"headless": True, "simulation": {"scenario": args.scenario or "stable", "seed": args.seed,
                                                  "speed": args.speed or 1.0}})
    runtime.open_session(session.id, user,
                         limits=AlarmLimits.from_dict(protocol.alarm_limits, protocol.version_tag))
